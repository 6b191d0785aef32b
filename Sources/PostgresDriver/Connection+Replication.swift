import CLibPQ

extension ConnInfo {
  /// The same server and database over a replication connection (`replication=database`), which takes the
  /// replication protocol's commands (`CREATE_REPLICATION_SLOT`, `IDENTIFY_SYSTEM`) as well as SQL.
  public var replication: ConnInfo { with("replication", "database") }
}

extension Connection {
  /// Runs one command of the replication protocol on a `replication=database` connection.
  ///
  /// Sent exactly as given: the walsender's command parser takes no comment, so unlike `query(_:_:)` it carries no
  /// `/* cleave */` marker (the server's statistics never see these commands anyway).
  @discardableResult
  public func replicationCommand(_ command: String) throws(PostgresError) -> QueryResult {
    let result = PQexec(handle, command)
    defer { PQclear(result) }
    try check(result, expecting: [PGRES_TUPLES_OK, PGRES_COMMAND_OK], kind: .query)
    return Self.read(result)
  }
}

extension SerialConnection {
  /// See `Connection.replicationCommand(_:)`.
  @discardableResult
  public func replicationCommand(_ command: String) throws -> QueryResult {
    try withConnection { try $0.replicationCommand(command) }
  }
}
