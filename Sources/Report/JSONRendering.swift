import Foundation

/// Renders any report as stable JSON: keys sorted, pretty-printed, no escaped slashes.
public enum JSONRendering {
  public static func render(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(value), let text = String(data: data, encoding: .utf8) else { return "{}" }
    return text
  }
}
