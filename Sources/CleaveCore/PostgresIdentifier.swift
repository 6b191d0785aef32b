/// Names Cleave makes up for server objects (roles, staging databases), kept within PostgreSQL's 63-byte limit.
///
/// PostgreSQL silently truncates a longer name, so two long names that differ only past byte 63 would become
/// one object. A name that does not fit keeps as much of its start as fits, then a hash of the whole name, so
/// different names stay different.
public enum PostgresIdentifier {
  /// The longest name PostgreSQL keeps whole (`NAMEDATALEN - 1`).
  public static let maximumBytes = 63

  /// `base + suffix`, or, when longer than 63 bytes, `base` cut at a character boundary + `_` + eight hex digits
  /// of a hash of `base` + `suffix`, so the suffix (`_owner`, `_app`) always survives.
  public static func fit(_ base: String, suffix: String) -> String {
    let whole = base + suffix
    guard whole.utf8.count > maximumBytes else { return whole }
    let tag = "_" + hash(whole)
    var kept = ""
    for character in base {
      if (kept + String(character)).utf8.count + tag.utf8.count + suffix.utf8.count > maximumBytes { break }
      kept.append(character)
    }
    return kept + tag + suffix
  }

  /// Eight hex digits of the 64-bit FNV-1a hash of `text`'s UTF-8 bytes.
  static func hash(_ text: String) -> String {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
      value ^= UInt64(byte)
      value = value &* 0x0000_0100_0000_01b3
    }
    let hex = String(value, radix: 16)
    return String((String(repeating: "0", count: max(0, 16 - hex.count)) + hex).prefix(8))
  }
}
