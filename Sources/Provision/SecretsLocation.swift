import Foundation

/// Where a plan's secrets file goes by default, and whether it is exposed to version control there.
///
/// The default is next to the plan, named after it (`cleave.yml` → `cleave.secrets.env`, `prod.yml` →
/// `prod.secrets.env`): never wherever the command happened to run, and never shared by two plans in one folder.
public enum SecretsLocation {
  /// `<plan's folder>/<plan file name without extension>.secrets.env`.
  public static func defaultPath(forPlan planPath: String) -> String {
    let url = URL(fileURLWithPath: planPath)
    return url.deletingLastPathComponent().path + "/" + url.deletingPathExtension().lastPathComponent + ".secrets.env"
  }

  /// A warning when `path` is inside a git work tree and git does not ignore it; nil otherwise (or without git).
  public static func gitExposure(of path: String) -> String? {
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent().path
    guard run(["-C", folder, "rev-parse", "--is-inside-work-tree"]).output == "true" else { return nil }
    guard run(["-C", folder, "check-ignore", "-q", url.lastPathComponent]).status == 1 else { return nil }
    return "the secrets file \(path) is inside a git work tree and git does not ignore it: add "
      + "`*.secrets.env` to .gitignore before you commit"
  }

  private static func run(_ arguments: [String]) -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git"] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return (-1, "") }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (
      process.terminationStatus, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    )
  }
}
