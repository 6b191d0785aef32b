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
    } else if error.sqlState == "3D000" {
      // The server answered: only the database is missing, so "is the server running" would mislead.
      self.init(
        .databaseMissing,
        "the \(role) (\(error.server)) is reachable, but its database does not exist: \(error.message)",
        hint: "a service's database is made by `cleave provision` (or `copy`, which provisions first); otherwise "
          + "check the database name in the URL")
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

  /// The error of a step that failed because of `cause`: `message`, then what the cause says.
  ///
  /// When the cause is a session the server ended (`PostgresError.isSessionEnded`: terminated, restarted, failed
  /// over, timed out, cancelled, or the network dropped it), the code is CLV2004 whatever the step, and the hint
  /// says so: the step did not fail on its own, and every step Cleave records rolls back with its session, so the
  /// same command can simply run again.
  public init(_ code: Code, _ message: String, hint: String? = nil, cause: any Error) {
    guard let error = cause as? PostgresError, error.isSessionEnded else {
      self.init(code, "\(message): \(cause)", hint: hint)
      return
    }
    self.init(
      .sessionEnded,
      "\(message): the server (\(error.server)) ended the session: \(error)",
      hint: "something outside Cleave ended it: pg_terminate_backend or pg_cancel_backend, a restart or failover, "
        + "idle_in_transaction_session_timeout, or the network; nothing is left half-done, so run the same command "
        + "again (a copy resumes from what it finished)")
  }
}
