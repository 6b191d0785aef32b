import CLibPQ

extension ConnInfo {
  /// The same server and database over a replication connection (`replication=database`), which takes the
  /// replication protocol's commands (`CREATE_REPLICATION_SLOT`, `IDENTIFY_SYSTEM`) as well as SQL.
  public var replication: ConnInfo { with("replication", "database") }
}

extension Connection {
  /// Runs one command exactly as given, without the `/* cleave */` marker `query(_:_:)` adds: a command of the
  /// replication protocol on a `replication=database` connection, or of PgBouncer's admin console, neither of
  /// whose parsers takes a comment (and neither of which the server's statistics see).
  @discardableResult
  public func unmarkedCommand(_ command: String) throws(PostgresError) -> QueryResult {
    let result = PQexec(handle, command)
    defer { PQclear(result) }
    try check(result, expecting: [PGRES_TUPLES_OK, PGRES_COMMAND_OK], kind: .query)
    return Self.read(result)
  }
}

extension SerialConnection {
  /// See `Connection.unmarkedCommand(_:)`.
  @discardableResult
  public func unmarkedCommand(_ command: String) throws -> QueryResult {
    try withConnection { try $0.unmarkedCommand(command) }
  }
}
