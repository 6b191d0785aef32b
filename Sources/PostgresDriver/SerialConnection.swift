/// One connection whose blocking libpq calls run on its own serial queue, usable from any task.
///
/// This is how every stage talks to PostgreSQL: `let source = try await SerialConnection.connect(info)`, then
/// `try await source.query(…)`. Each connection has one owner; for parallel work open one per worker.
public actor SerialConnection {
  private let executor: QueueExecutor
  private var connection: Connection?
  /// Where this connection goes (printing it shows no password).
  public nonisolated let info: ConnInfo

  public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

  private init(info: ConnInfo) {
    self.info = info
    self.executor = QueueExecutor(label: "cleave.connection")
  }

  /// Opens a connection on a thread of its own; see `Connection.init(_:readOnly:)`.
  public static func connect(_ info: ConnInfo, readOnly: Bool = false) async throws(PostgresError) -> SerialConnection {
    let serial = SerialConnection(info: info)
    try await serial.open(readOnly: readOnly)
    return serial
  }

  private func open(readOnly: Bool) throws(PostgresError) {
    connection = try Connection(info, readOnly: readOnly)
  }

  private func live() throws(PostgresError) -> Connection {
    guard let connection else {
      throw PostgresError(kind: .connection, message: "the connection is closed", server: info.redacted)
    }
    return connection
  }

  /// See `Connection.query(_:_:)`.
  @discardableResult
  public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> QueryResult {
    try live().query(sql, parameters)
  }

  /// See `Connection.execute(_:)`.
  public func execute(_ script: String) throws(PostgresError) {
    try live().execute(script)
  }

  /// See `Connection.quoteIdentifier(_:)`.
  public func quoteIdentifier(_ name: String) throws(PostgresError) -> String {
    try live().quoteIdentifier(name)
  }

  /// Runs `body` with the connection itself, on this connection's thread, for COPY streams and other
  /// multi-call work.
  public func withConnection<T: Sendable>(_ body: @Sendable (Connection) throws -> T) throws -> T {
    try body(live())
  }

  /// See `Connection.quoteLiteral(_:)`.
  public func quoteLiteral(_ text: String) throws(PostgresError) -> String {
    try live().quoteLiteral(text)
  }

  /// See `Connection.encryptPassword(_:user:)`.
  public func encryptPassword(_ password: String, user: String) throws(PostgresError) -> String {
    try live().encryptPassword(password, user: user)
  }

  /// See `Connection.passwordUsed`.
  public func passwordUsed() throws(PostgresError) -> String? { try live().passwordUsed }

  /// The server's version number, such as 150018.
  public func serverVersion() throws(PostgresError) -> Int { try live().serverVersion }

  /// Closes the connection now rather than when the actor goes away.
  public func close() { connection = nil }
}
