import CLibPQ
import Foundation

/// Masks every secret in a connection string, the one place secrets enter Cleave.
///
/// Which settings are secret is libpq's own answer: every keyword `PQconndefaults()` marks for hiding
/// (`dispchar` `*`: `password`, `sslpassword`, and whatever a newer libpq adds). Both libpq forms are handled,
/// read the way libpq reads them: URLs (`postgres://user:secret@host/db?sslpassword=secret`) and key=value
/// strings (`host=h password='se cret'`). Malformed strings are masked conservatively (an unencoded `/`, `@` or
/// space in a URL's password, a word without `=`), and the result is then checked against what libpq itself
/// parses out of the string: if any secret value it finds still shows, the parsed settings are shown instead,
/// rebuilt with every secret masked. The mask is always `********`.
public enum Redaction {
  public static let mask = "********"

  /// The libpq keywords whose values are secret.
  public static let secretKeys: Set<String> = keywords.secret.union(["password", "sslpassword"])

  /// Every keyword libpq knows, and those it hides.
  private static let keywords: (all: Set<String>, secret: Set<String>) = {
    var all: Set<String> = []
    var secret: Set<String> = []
    guard let defaults = PQconndefaults() else { return (all, secret) }
    defer { PQconninfoFree(defaults) }
    var option = defaults
    while let keyword = option.pointee.keyword {
      all.insert(String(cString: keyword))
      if let display = option.pointee.dispchar, String(cString: display).contains("*") {
        secret.insert(String(cString: keyword))
      }
      option += 1
    }
    return (all, secret)
  }()

  /// Whether the value of `key` must be masked: a secret setting, or a name libpq does not know (a misspelt
  /// `passwrd=` or `PASSWORD=` is refused by libpq, but its value is still most likely a password).
  public static func isSecret(_ key: String) -> Bool {
    let plain = key.removingPercentEncoding ?? key
    if secretKeys.contains(plain.lowercased()) { return true }
    return !keywords.all.isEmpty && !keywords.all.contains(plain)
  }

  /// The connection string with every secret replaced by `********`.
  public static func redact(_ text: String) -> String {
    let masked = ConnectionString.isURL(text) ? maskURL(text) : maskKeyValue(text)
    guard case .success(let settings) = ConnectionString.settings(text) else { return masked }
    let secrets = settings.filter { isSecret($0.key) && !$0.value.isEmpty }.map(\.value)
    let shows = secrets.contains { secret in
      masked.contains(secret)
        || masked.contains(secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? secret)
    }
    guard shows else { return masked }
    return settings.keys.sorted().map { key in
      "\(key)=\(isSecret(key) ? mask : ConnectionString.quoted(settings[key] ?? ""))"
    }.joined(separator: " ")
  }

  /// A URL, read as libpq reads it: the user part ends at the first `@` before any `/`.
  private static func maskURL(_ url: String) -> String {
    guard let schemeEnd = url.range(of: "://") else { return url }
    let head = String(url[..<schemeEnd.upperBound])
    let rest = url[schemeEnd.upperBound...]
    let regionEnd = rest.firstIndex(of: "/") ?? rest.endIndex
    let region = rest[..<regionEnd]
    var hostAndTail = rest[...]
    var user = ""
    if let lastAt = region.lastIndex(of: "@") {
      // Everything up to the last `@` of the region is the user part; a second `@` there is part of an
      // unencoded password that libpq would cut short, so all of it after the first `:` is masked.
      let userinfo = region[..<lastAt]
      user = userinfo.firstIndex(of: ":").map { String(userinfo[..<$0]) + ":" + mask } ?? String(userinfo)
      user += "@"
      hostAndTail = rest[rest.index(after: lastAt)...]
    } else if let colon = region.firstIndex(of: ":"), let lastAt = rest.lastIndex(of: "@") {
      // No `@` before the first `/`, yet one later: a password with an unencoded `/` (`user:pa/ss@host`),
      // which libpq would read as host `user` and port `pa`. Everything from the `:` to the last `@` is masked.
      user = String(rest[..<colon]) + ":" + mask + "@"
      hostAndTail = rest[rest.index(after: lastAt)...]
    }
    guard let question = hostAndTail.firstIndex(of: "?") else { return head + user + hostAndTail }
    let path = hostAndTail[..<question]
    let query = hostAndTail[hostAndTail.index(after: question)...]
    let params = query.split(separator: "&", omittingEmptySubsequences: false).map { param -> String in
      guard let equals = param.firstIndex(of: "=") else {
        // Not key=value: libpq refuses it, and it may be the rest of a value that held an unencoded `&`.
        return param.isEmpty ? "" : mask
      }
      let key = String(param[..<equals])
      return isSecret(key) ? "\(key)=\(mask)" : String(param)
    }
    return head + user + path + "?" + params.joined(separator: "&")
  }

  /// A key=value string, walked with libpq's quoting rules (single quotes, backslash escapes).
  ///
  /// A word without `=` is not a setting (libpq refuses the string) and may be the rest of an unquoted secret: it is masked.
  private static func maskKeyValue(_ text: String) -> String {
    var output = ""
    var index = text.startIndex
    func skipSpaces() {
      while index < text.endIndex, text[index].isWhitespace {
        output.append(text[index])
        index = text.index(after: index)
      }
    }
    func readValue() -> String {
      var value = ""
      let quoted = index < text.endIndex && text[index] == "'"
      if quoted {
        value.append("'")
        index = text.index(after: index)
      }
      while index < text.endIndex {
        let character = text[index]
        if quoted ? character == "'" : character.isWhitespace { break }
        if character == "\\", text.index(after: index) < text.endIndex {
          value.append(character)
          index = text.index(after: index)
        }
        value.append(text[index])
        index = text.index(after: index)
      }
      if quoted, index < text.endIndex {
        value.append("'")
        index = text.index(after: index)
      }
      return value
    }
    while index < text.endIndex {
      skipSpaces()
      guard index < text.endIndex else { break }
      var key = ""
      while index < text.endIndex, text[index] != "=", !text[index].isWhitespace {
        key.append(text[index])
        index = text.index(after: index)
      }
      var spaces = ""
      while index < text.endIndex, text[index].isWhitespace {
        spaces.append(text[index])
        index = text.index(after: index)
      }
      guard index < text.endIndex, text[index] == "=" else {
        output += mask + spaces
        continue
      }
      output += key + spaces + "="
      index = text.index(after: index)
      skipSpaces()
      let value = readValue()
      output += isSecret(key) ? mask : value
    }
    return output
  }
}
