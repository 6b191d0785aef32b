import Foundation

/// ANSI colours for text reports, used only when standard output is a terminal that wants them.
///
/// Colour is off when output is piped or redirected, when `NO_COLOR` is set (no-color.org), or when `TERM` is
/// `dumb`; the words carry the meaning either way, so nothing is lost without it.
public struct TerminalStyle: Sendable {
  public var enabled: Bool

  public init(enabled: Bool) { self.enabled = enabled }

  /// Colour when standard output is a terminal, `NO_COLOR` is unset and `TERM` is not `dumb`.
  public static var standardOutput: TerminalStyle {
    let environment = ProcessInfo.processInfo.environment
    return TerminalStyle(
      enabled: isatty(STDOUT_FILENO) == 1 && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb")
  }

  public func green(_ text: String) -> String { paint(text, "32") }
  public func red(_ text: String) -> String { paint(text, "31") }
  public func yellow(_ text: String) -> String { paint(text, "33") }
  public func bold(_ text: String) -> String { paint(text, "1") }
  public func dim(_ text: String) -> String { paint(text, "2") }

  private func paint(_ text: String, _ code: String) -> String {
    enabled ? "\u{1b}[\(code)m\(text)\u{1b}[0m" : text
  }
}
