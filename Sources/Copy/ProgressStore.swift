import PostgresDriver

/// What a copy has finished, kept in each service database itself (`_cleave.progress`), so it cannot disagree
/// with the data: every step writes its row in the same transaction as its work.
///
/// After a crash, the same command skips every step that has a row and redoes every step that has none; a step
/// without a row left nothing behind, because its transaction rolled back.
enum ProgressStore {
  static let schema = "_cleave"

  static let create = """
    CREATE SCHEMA IF NOT EXISTS _cleave;
    REVOKE ALL ON SCHEMA _cleave FROM PUBLIC;
    CREATE TABLE IF NOT EXISTS _cleave.progress (
      step text PRIMARY KEY,
      rows bigint NOT NULL DEFAULT 0,
      bytes bigint NOT NULL DEFAULT 0,
      detail text,
      finished_at timestamptz NOT NULL DEFAULT now());
    """

  /// The statement that records `step` as done; run it inside the step's transaction.
  static func record(
    _ step: String, rows: Int = 0, bytes: Int = 0, detail: String? = nil, on connection: Connection
  ) throws -> String {
    "INSERT INTO _cleave.progress (step, rows, bytes, detail) VALUES (\(try connection.quoteLiteral(step)), \(rows), "
      + "\(bytes), \(try detail.map { try connection.quoteLiteral($0) } ?? "NULL"))"
  }

  /// Every finished step of a service database, with its rows and bytes; empty when the table does not exist yet.
  static func finished(in connection: SerialConnection) async throws -> [String: Step] {
    let exists = try await connection.query("SELECT to_regclass('_cleave.progress') IS NOT NULL").scalar == "t"
    guard exists else { return [:] }
    var steps: [String: Step] = [:]
    for row in try await connection.query("SELECT step, rows, bytes, detail FROM _cleave.progress").namedRows {
      steps[row.string("step")] = Step(rows: row.int("rows"), bytes: row.int("bytes"), detail: row["detail"])
    }
    return steps
  }

  /// A finished step: the rows and bytes it moved, and what else it needs to remember (a table's key ranges).
  struct Step: Sendable {
    var rows: Int
    var bytes: Int
    var detail: String?
  }
}
