import CleaveCore
import PostgresDriver

/// Sets every sequence of a service database to its source's state, at cutover (forward) or rollback (back):
/// `last_value` and `is_called` read from the sequence itself, never `max(column)` (which misses values drawn
/// and rolled back, and sequences no column uses), then read back and compared.
enum SequenceSync {
  /// Copies each sequence the service database (`service`) has from its namesake on `from` to `to` (one of them
  /// is the service database).
  ///
  /// - Returns: how many were set.
  /// - Throws: `CleaveError` (`onlineFailed`) when a value read back differs from the one set.
  static func copy(from: SerialConnection, to: SerialConnection, service: SerialConnection) async throws -> Int {
    let names = try await service.query(
      """
      SELECT format('%I.%I', schemaname, sequencename) AS name FROM pg_sequences
      WHERE schemaname NOT LIKE '\\_cleave%' ORDER BY 1
      """
    ).namedRows.map { $0.string("name") }
    var set = 0
    for name in names {
      guard try await from.query("SELECT to_regclass($1) IS NOT NULL", [name]).scalar == "t",
        try await to.query("SELECT to_regclass($1) IS NOT NULL", [name]).scalar == "t",
        let state = try await from.query("SELECT last_value::text AS value, is_called FROM \(name)").namedRows.first
      else { continue }
      let value = state.string("value")
      let called = state.string("is_called") == "t" ? "true" : "false"
      try await to.query("SELECT setval($1::regclass, $2::int8, $3::bool)", [name, value, called])
      let back = try await to.query("SELECT last_value::text AS value, is_called FROM \(name)").namedRows.first
      guard back?.string("value") == value, (back?.string("is_called") == "t") == (called == "true") else {
        throw CleaveError(
          .onlineFailed,
          "sequence \(name) reads back \(back?.string("value") ?? "nothing") after being set to \(value)",
          hint: "something else sets it; find what does before cutting over again")
      }
      set += 1
    }
    return set
  }
}
