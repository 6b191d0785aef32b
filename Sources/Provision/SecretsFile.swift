import CleaveCore
import Foundation
import Plan

/// The file where `cleave provision` writes the passwords it generates: `KEY=value` lines, mode 0600, in a path
/// the user chooses (`--secrets`).
///
/// Passwords are written here once and nowhere else: never printed, logged or put on a command line. Running
/// provision again reads them back, so it changes nothing.
public struct SecretsFile: Sendable {
  public let path: String
  private(set) var entries: [(key: String, value: String)] = []
  /// Whether the file existed when it was read.
  public private(set) var exists = false
  /// Whether its first line is the header Cleave writes: Cleave only ever rewrites or removes such a file.
  public private(set) var isCleaves = false
  /// The plan and source the header names (`PlanIdentity.description`); nil for a file of an older Cleave.
  public private(set) var writtenFor: String?

  /// The header's start; the plan's identity follows it.
  static let header = "# Written by cleave"

  /// Reads the file if it exists.
  ///
  /// - Throws: `CleaveError` when the file exists but cannot be read, or is readable by others.
  public init(path: String) throws(CleaveError) {
    self.path = path
    guard FileManager.default.fileExists(atPath: path) else { return }
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
      throw CleaveError(.secretsUnreadable, "cannot read the secrets file \(path): \(error.localizedDescription)")
    }
    var status = stat()
    if stat(path, &status) == 0, status.st_mode & 0o077 != 0 {
      throw CleaveError(
        .secretsUnreadable, "the secrets file \(path) can be read by other users",
        hint: "run `chmod 600 \(path)`; Cleave will not use a secrets file others can read")
    }
    exists = true
    if let first = text.split(separator: "\n").first, first.hasPrefix(Self.header) {
      isCleaves = true
      if let range = first.range(of: " for plan "), let end = first.range(of: ". Passwords") {
        writtenFor = String(first[first.index(range.lowerBound, offsetBy: 5)..<end.lowerBound])
      }
    }
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
      guard let equals = line.firstIndex(of: "=") else { continue }
      var value = String(line[line.index(after: equals)...])
      // Written single-quoted (`KEY='value'`); a file of an older Cleave has bare values.
      if value.count >= 2, value.hasPrefix("'"), value.hasSuffix("'") { value = String(value.dropFirst().dropLast()) }
      entries.append((String(line[..<equals]), value))
    }
  }

  public subscript(key: String) -> String? { entries.last { $0.key == key }?.value }

  /// Whether `value` can be written so that a POSIX shell (`set -a; . file`) and a dotenv parser both read it
  /// back exactly: single-quoted, so nothing in it expands or escapes, which holds for every character but the
  /// single quote itself and a line break.
  public static func canWrite(_ value: String) -> Bool {
    !value.contains("'") && !value.contains("\n") && !value.contains("\r") && !value.contains("\0")
  }

  /// Sets `key`, keeping the order keys were first written in.
  public mutating func set(_ key: String, _ value: String) {
    if let index = entries.firstIndex(where: { $0.key == key }) {
      entries[index].value = value
    } else {
      entries.append((key, value))
    }
  }

  /// Removes `keys` (rollback of some services).
  public mutating func remove(_ keys: [String]) { entries.removeAll { keys.contains($0.key) } }

  /// Whether Cleave may rewrite or remove this file for the plan `identity`: it wrote the file, for this plan
  /// (or, in an older version, for no plan in particular).
  public func belongs(to identity: PlanIdentity) -> Bool {
    isCleaves && (writtenFor == nil || writtenFor == identity.description)
  }

  /// Writes the file with mode 0600 (created that way, never widened), replacing it atomically, with a header
  /// naming the plan it belongs to.
  ///
  /// - Throws: `CleaveError` when the file cannot be written, or when a file is there that Cleave did not write
  ///   for this plan: such a file is never overwritten.
  public func save(for identity: PlanIdentity) throws(CleaveError) {
    if let bad = entries.first(where: { !Self.canWrite($0.value) }) {
      throw CleaveError(
        .secretsUnreadable,
        "the password for \(bad.key) holds a single quote or a line break, which no secrets file can hold so that "
          + "both a shell and a dotenv parser read it back exactly",
        hint: "choose a password without `'` or line breaks for that role (in the plan's `${…}` variable)")
    }
    if exists && !belongs(to: identity) {
      throw CleaveError(
        isCleaves ? .madeForAnotherPlan : .secretsUnreadable,
        "\(path) exists and "
          + (isCleaves ? "holds the passwords of another plan (\(writtenFor ?? ""))" : "Cleave did not write it")
          + ", so Cleave will not overwrite it",
        hint: "pass another --secrets path for this plan")
    }
    let text =
      "\(Self.header) for \(identity). Passwords of the roles it created; keep this file out of version control.\n"
      + entries.map { "\($0.key)='\($0.value)'\n" }.joined()
    try PrivateFile.write(text, to: path, mode: 0o600, what: "the secrets file")
  }

  /// A new random password: 32 characters from letters and digits (about 190 bits).
  public static func generatePassword() -> String {
    let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
    var generator = SystemRandomNumberGenerator()
    return String((0..<32).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
  }
}
