import Foundation

/// Masks passwords in connection strings, the one place secrets enter Cleave.
///
/// Both libpq forms are handled: URLs (`postgres://user:secret@host/db?password=secret`) and key=value
/// conninfo strings (`host=h password='se cret'`). The mask is always `********`, so a reader sees that a password
/// was given without learning anything about it.
public enum Redaction {
  public static let mask = "********"

  /// The connection string with every password replaced by `********`.
  public static func redactConnectionString(_ text: String) -> String {
    let trimmed = text.trimmingLeadingSpaces()
    if trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://") {
      return redactURL(trimmed)
    }
    return redactKeyValue(text)
  }

  private static func redactURL(_ url: String) -> String {
    guard let schemeEnd = url.range(of: "://") else { return url }
    let scheme = url[..<schemeEnd.upperBound]
    let rest = url[schemeEnd.upperBound...]
    let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
    var authority = String(rest[..<authorityEnd])
    var tail = String(rest[authorityEnd...])
    if let at = authority.lastIndex(of: "@") {
      let userinfo = authority[..<at]
      if let colon = userinfo.firstIndex(of: ":") {
        authority = String(userinfo[..<colon]) + ":" + mask + String(authority[at...])
      }
    }
    if let question = tail.firstIndex(of: "?") {
      let path = tail[..<question]
      let query = tail[tail.index(after: question)...]
      let params = query.split(separator: "&", omittingEmptySubsequences: false).map { param -> String in
        let key = param.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
        return key.lowercased() == "password" ? "\(key)=\(mask)" : String(param)
      }
      tail = String(path) + "?" + params.joined(separator: "&")
    }
    return String(scheme) + authority + tail
  }

  /// Walks a key=value conninfo string with libpq's quoting rules (single quotes, backslash escapes).
  private static func redactKeyValue(_ text: String) -> String {
    var output = ""
    var index = text.startIndex
    func skipSpaces() {
      while index < text.endIndex, text[index].isWhitespace {
        output.append(text[index])
        index = text.index(after: index)
      }
    }
    while index < text.endIndex {
      skipSpaces()
      guard index < text.endIndex else { break }
      var key = ""
      while index < text.endIndex, text[index] != "=", !text[index].isWhitespace {
        key.append(text[index])
        index = text.index(after: index)
      }
      output += key
      skipSpaces()
      guard index < text.endIndex, text[index] == "=" else { continue }
      output.append("=")
      index = text.index(after: index)
      skipSpaces()
      var value = ""
      if index < text.endIndex, text[index] == "'" {
        value.append("'")
        index = text.index(after: index)
        while index < text.endIndex, text[index] != "'" {
          if text[index] == "\\", text.index(after: index) < text.endIndex {
            value.append(text[index])
            index = text.index(after: index)
          }
          value.append(text[index])
          index = text.index(after: index)
        }
        if index < text.endIndex {
          value.append("'")
          index = text.index(after: index)
        }
      } else {
        while index < text.endIndex, !text[index].isWhitespace {
          if text[index] == "\\", text.index(after: index) < text.endIndex {
            value.append(text[index])
            index = text.index(after: index)
          }
          value.append(text[index])
          index = text.index(after: index)
        }
      }
      output += key.lowercased() == "password" ? mask : value
    }
    return output
  }
}

extension String {
  fileprivate func trimmingLeadingSpaces() -> String {
    String(drop(while: { $0.isWhitespace }))
  }
}
