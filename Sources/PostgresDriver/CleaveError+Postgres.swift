import CleaveCore

extension CleaveError {
  /// The error a person sees when a server cannot be reached or refuses the login, with advice that fits.
  ///
  /// - Parameters:
  ///   - error: what libpq reported.
  ///   - role: which server this was to the user, such as `source` or `target "main"`.
  public init(connecting error: any Error, role: String) {
    guard let error = error as? PostgresError else {
      self.init(.connectionFailed, "could not connect to the \(role): \(error)")
      return
    }
    if error.isAuthenticationFailure {
      self.init(
        .authenticationFailed, "the \(role) (\(error.server)) refused the login: \(error.message)",
        hint: "check the user and password in the URL, PGPASSWORD or ~/.pgpass; the password is never printed")
    } else if error.kind == .connectionString {
      self.init(
        .invalidConnectionString, "the \(role) connection string (\(error.server)) \(error.message)",
        hint: "use a URL (postgres://user@host:5432/db) or key=value pairs (host=… dbname=…), as psql takes")
    } else {
      self.init(
        .connectionFailed, "could not connect to the \(role) (\(error.server)): \(error.message)",
        hint: "check that the server is running and reachable, and the host, port and database in the URL")
    }
  }
}
