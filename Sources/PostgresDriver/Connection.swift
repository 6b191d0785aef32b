import CLibPQ
import CleaveCore
import Foundation

/// One libpq connection, owned by exactly one task at a time; `deinit` closes it.
///
/// All calls block the calling thread. Use it through `SerialConnection`, which runs them on a thread of its own,
/// never on Swift's cooperative pool.
public final class Connection {
  private let conn: OpaquePointer
  /// Where this connection goes, for messages (printing it shows no password).
  public let info: ConnInfo

  /// Opens a connection the way `psql` does: the string may be a URL or key=value, and whatever it leaves out
  /// comes from PG* variables, `.pgpass` and the service file.
  ///
  /// - Parameters:
  ///   - info: where to connect.
  ///   - readOnly: every transaction on this connection is read-only (`default_transaction_read_only`),
  ///     which is how Cleave opens a source.
  /// - Throws: `PostgresError` with kind `.connection` when the server cannot be reached or refuses the login.
  public init(_ info: ConnInfo, readOnly: Bool = false) throws(PostgresError) {
    _ = try ConnectionString.parse(info.rawValue)  // libpq's own parse errors would quote the string
    var keys = ["dbname", "fallback_application_name"]
    var values = [info.rawValue, "cleave"]
    for key in info.overrides.keys.sorted() {
      keys.append(key)
      values.append(info.overrides[key] ?? "")
    }
    let opened = Self.connect(keys: keys, values: values)
    guard let opened else {
      throw PostgresError(kind: .outOfMemory, message: "libpq could not allocate a connection", server: info.redacted)
    }
    guard PQstatus(opened) == CONNECTION_OK else {
      defer { PQfinish(opened) }  // a failed connection must be finished too
      let message = Self.trimmed(PQerrorMessage(opened))
      throw PostgresError(
        kind: .connection, sqlState: Self.sqlState(fromConnectionMessage: message), message: message,
        server: info.redacted)
    }
    self.conn = opened
    self.info = info
    // Notices (`NOTICE: … already exists, skipping`) are for people at psql; libpq would print them on stderr.
    PQsetNoticeProcessor(opened, { _, _ in }, nil)
    if readOnly {
      try execute("SET default_transaction_read_only = on")
    }
  }

  deinit { PQfinish(conn) }

  private static func connect(keys: [String], values: [String]) -> OpaquePointer? {
    let keyPointers = keys.map { strdup($0) }
    let valuePointers = values.map { strdup($0) }
    defer {
      for pointer in keyPointers { free(pointer) }
      for pointer in valuePointers { free(pointer) }
    }
    var keyArray: [UnsafePointer<CChar>?] = keyPointers.map { UnsafePointer($0) } + [nil]
    var valueArray: [UnsafePointer<CChar>?] = valuePointers.map { UnsafePointer($0) } + [nil]
    return keyArray.withUnsafeMutableBufferPointer { keyBuffer in
      valueArray.withUnsafeMutableBufferPointer { valueBuffer in
        PQconnectdbParams(keyBuffer.baseAddress, valueBuffer.baseAddress, 1)
      }
    }
  }

  /// libpq gives no SQLSTATE for a refused connection, but its message names the cause.
  private static func sqlState(fromConnectionMessage message: String) -> String? {
    if message.contains("password authentication failed") { return "28P01" }
    if message.contains("does not exist") && message.contains("database") { return "3D000" }
    return nil
  }

  /// The server's major and minor version as one number, such as 150018 for 15.18.
  public var serverVersion: Int { Int(PQserverVersion(conn)) }

  /// What starts every statement Cleave sends: a comment, which the server's statistics (`pg_stat_statements`)
  /// keep with the statement's text, so the plan's report of the application's queries can leave Cleave's own out.
  public static let marker = "/* cleave */"

  /// `sql` with the marker in front.
  static func marked(_ sql: String) -> String { marker + " " + sql }

  /// Runs one statement with `$1, $2…` parameters sent separately from the SQL, as text.
  ///
  /// Values never go into the SQL string; identifiers go through `quoteIdentifier(_:)`.
  @discardableResult
  public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> QueryResult {
    let pointers = parameters.map { $0.map { strdup($0) } ?? nil }
    defer { for pointer in pointers { free(pointer) } }
    let values: [UnsafePointer<CChar>?] = pointers.map { $0.map { UnsafePointer($0) } }
    let result = values.withUnsafeBufferPointer { buffer in
      PQexecParams(conn, Self.marked(sql), Int32(parameters.count), nil, buffer.baseAddress, nil, nil, 0)
    }
    defer { PQclear(result) }
    try check(result, expecting: [PGRES_TUPLES_OK, PGRES_COMMAND_OK], kind: .query)
    return Self.read(result)
  }

  /// Runs a script of one or more statements with no parameters (`BEGIN; …`), returning nothing.
  public func execute(_ script: String) throws(PostgresError) {
    let result = PQexec(conn, Self.marked(script))
    defer { PQclear(result) }
    try check(result, expecting: [PGRES_TUPLES_OK, PGRES_COMMAND_OK], kind: .query)
  }

  /// `name` as a quoted SQL identifier (`"Order Items"`), by libpq's own `PQescapeIdentifier`.
  public func quoteIdentifier(_ name: String) throws(PostgresError) -> String {
    try escape(name, with: PQescapeIdentifier)
  }

  /// Runs one of libpq's escaping functions (which know the connection's encoding) over `text`.
  func escape(
    _ text: String, with function: (OpaquePointer?, UnsafePointer<CChar>?, Int) -> UnsafeMutablePointer<CChar>?
  ) throws(PostgresError) -> String {
    let utf8 = Array(text.utf8)
    guard
      let escaped = utf8.withUnsafeBufferPointer({ buffer in
        buffer.withMemoryRebound(to: CChar.self) { function(conn, $0.baseAddress, $0.count) }
      })
    else {
      throw failure(.query)
    }
    defer { PQfreemem(escaped) }
    return String(cString: escaped)
  }

  func check(_ result: OpaquePointer?, expecting: [ExecStatusType], kind: PostgresError.Kind) throws(PostgresError) {
    guard let result else {
      throw failure(kind)
    }
    let status = PQresultStatus(result)
    guard expecting.contains(status) else {
      throw error(from: result, kind: kind)
    }
  }

  func error(from result: OpaquePointer, kind: PostgresError.Kind) -> PostgresError {
    func field(_ code: Int32) -> String? {
      guard let value = PQresultErrorField(result, code) else { return nil }
      return String(cString: value)
    }
    let primary = field(CLIBPQ_DIAG_MESSAGE_PRIMARY) ?? Self.trimmed(PQresultErrorMessage(result))
    let message = primary.isEmpty ? Self.trimmed(PQerrorMessage(conn)) : primary
    var error = PostgresError(
      kind: kind, sqlState: field(CLIBPQ_DIAG_SQLSTATE), severity: field(CLIBPQ_DIAG_SEVERITY_NONLOCALIZED),
      message: message, detail: field(CLIBPQ_DIAG_MESSAGE_DETAIL), hint: field(CLIBPQ_DIAG_MESSAGE_HINT),
      server: info.redacted)
    error.connectionLost = PQstatus(conn) == CONNECTION_BAD
    return error
  }

  /// The error of a call that failed without a result: libpq's message, marked when the connection is gone.
  func failure(_ kind: PostgresError.Kind) -> PostgresError {
    var error = PostgresError(kind: kind, message: Self.trimmed(PQerrorMessage(conn)), server: info.redacted)
    error.connectionLost = PQstatus(conn) == CONNECTION_BAD
    return error
  }

  var handle: OpaquePointer { conn }

  static func trimmed(_ text: UnsafePointer<CChar>?) -> String {
    guard let text else { return "" }
    return String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  static func read(_ result: OpaquePointer?) -> QueryResult {
    guard let result else { return QueryResult(columns: [], rows: [], affectedRows: 0) }
    let columnCount = PQnfields(result)
    let rowCount = PQntuples(result)
    let columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
    var rows: [[String?]] = []
    rows.reserveCapacity(Int(rowCount))
    for row in 0..<rowCount {
      rows.append(
        (0..<columnCount).map { column in
          PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
        })
    }
    let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
    return QueryResult(columns: columns, rows: rows, affectedRows: affected)
  }
}

@available(*, unavailable) extension Connection: Sendable {}
