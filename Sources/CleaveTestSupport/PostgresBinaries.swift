import Foundation

/// Finds the PostgreSQL server programs: `$CLEAVE_PG_BINDIR`, else the newest `/usr/lib/postgresql/N/bin`
/// (Debian's layout), else `pg_config --bindir`'s folder, else the `PATH`.
public struct PostgresBinaries: Sendable {
  public let directory: String

  public static func locate() throws -> PostgresBinaries {
    let environment = ProcessInfo.processInfo.environment
    let fileManager = FileManager.default
    func has(_ dir: String) -> Bool { fileManager.isExecutableFile(atPath: dir + "/initdb") }
    if let dir = environment["CLEAVE_PG_BINDIR"], has(dir) { return .init(directory: dir) }
    let versions = (try? fileManager.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
    for version in versions.compactMap(Int.init).sorted(by: >) where has("/usr/lib/postgresql/\(version)/bin") {
      return .init(directory: "/usr/lib/postgresql/\(version)/bin")
    }
    for dir in (environment["PATH"] ?? "").split(separator: ":").map(String.init) where has(dir) {
      return .init(directory: dir)
    }
    throw SandboxError("initdb was not found; run `make deps` (it installs postgresql-15) or set CLEAVE_PG_BINDIR")
  }

  public func path(_ program: String) -> String { directory + "/" + program }
}
