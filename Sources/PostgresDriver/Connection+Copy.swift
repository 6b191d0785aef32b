import CLibPQ

extension Connection {
  /// Streams `COPY … TO STDOUT` as raw byte chunks, exactly as the server sends them, and returns the byte count.
  ///
  /// Each chunk is valid only during the call to `consume`; nothing is kept, so memory stays flat however large the
  /// table is. If `consume` throws, the rest of the stream is drained so the connection stays usable.
  @discardableResult
  public func copyOut(_ sql: String, _ consume: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
    let start = PQexec(handle, Self.marked(sql))
    defer { PQclear(start) }
    try check(start, expecting: [PGRES_COPY_OUT], kind: .copy)
    var total = 0
    var failure: (any Error)?
    while true {
      var buffer: UnsafeMutablePointer<CChar>?
      let count = PQgetCopyData(handle, &buffer, 0)
      if count > 0, let buffer {
        defer { PQfreemem(buffer) }
        total += Int(count)
        if failure == nil {
          do { try consume(UnsafeRawBufferPointer(start: buffer, count: Int(count))) } catch { failure = error }
        }
      } else if count == -1 {
        break
      } else {
        throw self.failure(.copy)
      }
    }
    try finishCommand(kind: .copy)
    if let failure { throw failure }
    return total
  }

  /// Runs `COPY … FROM STDIN` and lets `produce` write the data through a `CopyInWriter`.
  ///
  /// The COPY ends when `produce` returns; if it throws, the COPY is aborted and the server rolls it back.
  /// Returns the number of rows the server loaded.
  @discardableResult
  public func copyIn(_ sql: String, _ produce: (CopyInWriter) throws -> Void) throws -> Int {
    let start = PQexec(handle, Self.marked(sql))
    defer { PQclear(start) }
    try check(start, expecting: [PGRES_COPY_IN], kind: .copy)
    do {
      try produce(CopyInWriter(connection: self))
    } catch {
      PQputCopyEnd(handle, "aborted by cleave")
      try? finishCommand(kind: .copy)
      throw error
    }
    guard PQputCopyEnd(handle, nil) == 1 else {
      throw failure(.copy)
    }
    return try finishCommand(kind: .copy)
  }

  /// Reads the results that follow a COPY, throws the first error among them, and returns the command's row
  /// count.
  @discardableResult
  func finishCommand(kind: PostgresError.Kind) throws(PostgresError) -> Int {
    var firstError: PostgresError?
    var rows = 0
    while let result = PQgetResult(handle) {
      defer { PQclear(result) }
      let status = PQresultStatus(result)
      if status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && firstError == nil {
        firstError = error(from: result, kind: kind)
      } else {
        rows = Int(String(cString: PQcmdTuples(result))) ?? rows
      }
    }
    if let firstError { throw firstError }
    return rows
  }

  func putCopyData(_ bytes: UnsafeRawBufferPointer) throws(PostgresError) {
    guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
    let sent = PQputCopyData(handle, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count))
    guard sent == 1 else {
      throw failure(.copy)
    }
  }
}

/// Writes raw COPY data into a `COPY … FROM STDIN` that `Connection.copyIn` started.
///
/// It is valid only inside the `produce` closure it was handed to.
public struct CopyInWriter {
  private let connection: Connection

  init(connection: Connection) { self.connection = connection }

  /// Sends one chunk; chunks need not end on a row boundary.
  public func write(_ bytes: UnsafeRawBufferPointer) throws(PostgresError) {
    try connection.putCopyData(bytes)
  }

  /// Sends the bytes of `text` (UTF-8).
  public func write(_ text: String) throws {
    let bytes = Array(text.utf8)
    try bytes.withUnsafeBytes { try connection.putCopyData($0) }
  }
}
