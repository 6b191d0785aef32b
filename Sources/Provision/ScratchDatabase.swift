import CleaveCore
import PostgresDriver

/// A database Cleave creates for a moment on a target server (a backup's restore test, a rehearsal, a drift
/// check): named `<prefix><random>`, marked `cleave: <purpose>`, and dropped again whatever happened.
public enum ScratchDatabase {
  /// Creates the scratch database on `server`, runs `body` with its name, then drops it.
  ///
  /// - Parameters:
  ///   - server: the target server, as its admin (any database on it).
  ///   - prefix: the start of the name, such as `cleave_drift_`.
  ///   - purpose: what the mark says it is for.
  ///   - body: the work, given the database's name.
  /// - Returns: what `body` returns.
  /// - Throws: `CleaveError` when the server refuses; otherwise what `body` throws (after the drop).
  public static func with<T: Sendable>(
    on server: ConnInfo, prefix: String, purpose: String, _ body: (String) async throws -> T
  ) async throws -> T {
    let admin: SerialConnection
    do { admin = try await SerialConnection.connect(server) } catch {
      throw CleaveError(connecting: error, role: "the target server for the \(purpose)")
    }
    let name = prefix + String(UInt32.random(in: .min ... .max), radix: 16)
    let quoted = try await admin.quoteIdentifier(name)
    try await admin.execute("CREATE DATABASE \(quoted) TEMPLATE template0")
    let result: Result<T, any Error>
    do {
      try await admin.execute("COMMENT ON DATABASE \(quoted) IS \(try await admin.quoteLiteral("cleave: \(purpose)"))")
      result = .success(try await body(name))
    } catch {
      result = .failure(error)
    }
    try? await admin.execute("DROP DATABASE IF EXISTS \(quoted) WITH (FORCE)")
    await admin.close()
    return try result.get()
  }
}
