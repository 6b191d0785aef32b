import CleaveCore
import Foundation

/// The question a destructive command asks before it acts (`rollback`, `online cancel`), unless `--yes`.
enum Confirmation {
  /// Asks on a terminal; without one (or with JSON output, which a script reads) fails with how to confirm.
  ///
  /// - Parameters:
  ///   - what: what the command does, for the error (`rollback removes the objects listed above`).
  ///   - interactive: false when the output is for a script (JSON), which is never asked.
  /// - Returns: whether the user typed yes (false: the caller changes nothing).
  /// - Throws: `CleaveError` (`confirmationRequired`) when there is no one to ask.
  static func ask(_ what: String, interactive: Bool = true) throws -> Bool {
    guard interactive, isatty(STDIN_FILENO) == 1 else {
      throw CleaveError(
        .confirmationRequired, "\(what) and needs confirmation", hint: "run it on a terminal to be asked, or add --yes")
    }
    print("Type yes to go on: ", terminator: "")
    guard readLine()?.trimmingCharacters(in: .whitespaces).lowercased() == "yes" else {
      print("nothing was changed")
      return false
    }
    return true
  }
}
