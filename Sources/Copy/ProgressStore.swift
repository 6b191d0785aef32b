import CleaveCore
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
  ///
  /// - Throws: `CleaveError` (`copyStateDamaged`) when the table is there but is not the one Cleave made: a column
  ///   gone or retyped, a step recorded twice. What was changed outside Cleave is not trusted.
  static func finished(in connection: SerialConnection, service: String, planPath: String) async throws -> [String:
    Step]
  {
    let exists = try await connection.query("SELECT to_regclass('_cleave.progress') IS NOT NULL").scalar == "t"
    guard exists else { return [:] }
    var steps: [String: Step] = [:]
    let rows: [Row]
    do {
      rows = try await connection.query(
        "SELECT step::text, rows::int8, bytes::int8, detail::text FROM _cleave.progress"
      ).namedRows
    } catch {
      // A typed throw: `error` is a PostgresError.
      if error.isSessionEnded { throw error }
      throw damaged("it cannot be read as Cleave wrote it (\(error.message))", service: service, planPath: planPath)
    }
    for row in rows {
      let step = row.string("step")
      guard steps[step] == nil, let count = row["rows"].flatMap({ Int($0) }),
        let bytes = row["bytes"].flatMap({ Int($0) })
      else {
        throw damaged(
          "the step \"\(step)\" is recorded twice or without its counts", service: service, planPath: planPath)
      }
      steps[step] = Step(rows: count, bytes: bytes, detail: row["detail"])
    }
    return steps
  }

  /// The error for a progress table that was changed outside Cleave, saying what does not fit.
  static func damaged(_ what: String, service: String, planPath: String) -> CleaveError {
    CleaveError(
      .copyStateDamaged,
      "service \"\(service)\": what earlier copies recorded in its database (_cleave.progress) is damaged: \(what)",
      hint: "it was changed outside Cleave, so it cannot say which rows are copied; copy the service again from the "
        + "start with `cleave copy -f \(planPath) --recopy \(service)`")
  }

  /// A finished step: the rows and bytes it moved, and what else it needs to remember (a table's key ranges).
  struct Step: Sendable {
    var rows: Int
    var bytes: Int
    var detail: String?
  }
}
