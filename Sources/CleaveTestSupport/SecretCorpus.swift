/// Malformed URLs and conninfo strings with a secret in them, for tests that prove no piece of it ever shows.
///
/// Each string's secret is `zqxa` + something + `wvyb`: what a user types when a password holds `/`, `?`, `@`,
/// `#`, `%`, `&` or a space, a misspelt key, an unterminated quote, or an `sslpassword`.
public enum SecretCorpus {
  /// The strings, pointing at a real server on 127.0.0.1 `port` (user `app`, database `db`).
  public static func strings(port: Int) -> [String] {
    let server = "127.0.0.1:\(port)"
    let keyValue = "host=127.0.0.1 port=\(port) user=app dbname=db"
    return [
      "postgresql://app:zqxa/wvyb@\(server)/db",
      "postgresql://app:zqxa?wvyb@\(server)/db",
      "postgresql://app:zqxa@wvyb@\(server)/db",
      "postgresql://app:zqxa wvyb@\(server)/db",
      "postgresql://app:zqxa#wvyb@\(server)/db",
      "postgresql://app:zqxa%zzwvyb@\(server)/db",
      "postgresql://app:zqxa/wv?yb=wvyb@\(server)/db",
      "postgresql://app:zqxa%2Fwvyb@\(server)/db",
      "postgres://app:zqxa:wvyb@\(server)/db?sslmode=disable",
      "postgresql://app@\(server)/db?password=zqxa&wvyb&sslmode=disable",
      "postgresql://app@\(server)/db?sslpassword=zqxawvyb&sslmode=disable",
      "postgresql://app@\(server)/db?passwrd=zqxawvyb",
      "postgresql://app@\(server)/db?password=zqxa wvyb",
      "\(keyValue) password=zqxa wvyb",
      "\(keyValue) password='zqxa wvyb",
      "\(keyValue) password=zqxa\\ wvyb",
      "\(keyValue) password = zqxawvyb",
      "\(keyValue) password=zqxa=wvyb",
      "\(keyValue) sslpassword=zqxawvyb sslmode=disable",
      "\(keyValue) passwd=zqxawvyb",
      "password=zqxa'wvyb \(keyValue)",
    ]
  }

  /// Whether `text` shows either half of a corpus secret.
  public static func leaks(_ text: String) -> Bool { text.contains("zqxa") || text.contains("wvyb") }
}
