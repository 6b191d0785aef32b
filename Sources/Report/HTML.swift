/// Escaping for text put into an HTML page.
enum HTML {
  /// `text` with `&`, `<`, `>`, `"` and `'` escaped, safe in element content and in quoted attributes.
  static func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for character in text {
      switch character {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default: out.append(character)
      }
    }
    return out
  }

  /// JSON made safe inside a `<script>` element (no `</script>` can end it early).
  static func scriptJSON(_ json: String) -> String {
    json.replacingOccurrences(of: "</", with: "<\\/").replacingOccurrences(of: "<!--", with: "<\\!--")
  }
}
