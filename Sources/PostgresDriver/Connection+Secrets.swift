import CLibPQ

extension Connection {
  /// `text` as a SQL string literal, by libpq's `PQescapeLiteral`, for the few statements that take no
  /// parameters (DDL such as `COMMENT ON`).
  public func quoteLiteral(_ text: String) throws(PostgresError) -> String {
    try escape(text, with: PQescapeLiteral)
  }

  /// The SCRAM verifier of `password` for `user`, computed here by libpq (as `psql`'s `\password` does), so the
  /// plain password never travels to the server or into its logs.
  public func encryptPassword(_ password: String, user: String) throws(PostgresError) -> String {
    guard let encrypted = PQencryptPasswordConn(handle, password, user, "scram-sha-256") else {
      throw failure(.query)
    }
    defer { PQfreemem(encrypted) }
    return String(cString: encrypted)
  }

  /// The password this connection logged in with, wherever libpq found it (the string, `PGPASSWORD`, `.pgpass`),
  /// for a server that must connect the same way on its own (a subscription); nil when none was used.
  public var passwordUsed: String? {
    guard PQconnectionUsedPassword(handle) == 1, let password = PQpass(handle) else { return nil }
    return String(cString: password)
  }
}
