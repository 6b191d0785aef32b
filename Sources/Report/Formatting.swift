import Foundation

/// Small helpers for the text reports: byte sizes and counts as people read them.
public enum Formatting {
  /// `1.4 MB`, `812 kB`, `96 B`, in powers of 1024 as `pg_size_pretty` does.
  public static func bytes(_ count: Int64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    var value = Double(count)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
  }

  /// `16,044` for 16044.
  public static func count(_ value: Int64) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (index, character) in digits.enumerated() {
      if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
      out.append(character)
    }
    return (value < 0 ? "-" : "") + out
  }

  /// `~16,044 rows`, or `rows unknown` when the table was never analysed.
  public static func rows(_ estimate: Int64?) -> String {
    estimate.map { "~\(count($0)) rows" } ?? "rows unknown (not analysed)"
  }

  /// A column wide enough for the longest of `texts` and two spaces, and never narrower than `minimum`.
  public static func width(_ texts: some Sequence<String>, minimum: Int) -> Int {
    max(minimum, (texts.map(\.count).max() ?? 0) + 2)
  }

  /// A left-aligned column of `width`.
  public static func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
  }
}
