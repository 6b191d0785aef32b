import PostgresDriver

/// One row of a migration history table, as both formats can express it.
public struct AppliedMigration: Sendable, Equatable {
  public var name: String
  public var checksum: String
  /// Finished and not rolled back (Prisma), or `success` (Flyway).
  public var succeeded: Bool
  /// Started and neither finished nor rolled back (Prisma), or `success = false` (Flyway): a failed migration.
  public var failed: Bool
  /// Prisma's `rolled_back_at` is set: the migration counts as not applied.
  public var rolledBack: Bool
  public var logs: String?
}

/// A service database's migration history, in the table and with the columns and values its format uses.
protocol History: Sendable {
  /// The advisory lock key deploys take for the whole run.
  var lockKey: Int64 { get }
  /// `CREATE TABLE IF NOT EXISTS` for the history table.
  var createTable: String { get }
  /// Every row, in the order they were written.
  func rows(on connection: SerialConnection) async throws -> [AppliedMigration]
  /// The statement that records `migration` as applied, run in the same transaction as the migration when it
  /// can be.
  func recordSuccess(_ migration: Migration, startedAt: String, milliseconds: Int, on connection: SerialConnection)
    async throws -> String
  /// Records a failure, in its own transaction, the way the format does.
  func recordFailure(_ migration: Migration, startedAt: String, error: String, on connection: SerialConnection)
    async throws
  /// `resolve --rolled-back`: the failed row no longer blocks; the migration counts as not applied.
  func markRolledBack(_ name: String, on connection: SerialConnection) async throws -> Bool
  /// Removes the failed row written before a migration that runs outside a transaction, once it succeeded.
  func clearInterrupted(_ name: String, on connection: SerialConnection) async throws
}

/// Prisma's `_prisma_migrations`, with the columns and values `prisma migrate deploy` writes: a UUID `id`, the
/// SHA-256 `checksum`, `started_at`, `finished_at` (NULL while running or after a failure), `logs` (the error of a
/// failure), `rolled_back_at` (set by `prisma migrate resolve --rolled-back`) and `applied_steps_count`.
struct PrismaHistory: History {
  /// Prisma Migrate's own advisory lock key, so that Cleave and Prisma exclude each other.
  let lockKey: Int64 = 72_707_369

  let createTable = """
    CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
        "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
        "checksum"              VARCHAR(64) NOT NULL,
        "finished_at"           TIMESTAMPTZ,
        "migration_name"        VARCHAR(255) NOT NULL,
        "logs"                  TEXT,
        "rolled_back_at"        TIMESTAMPTZ,
        "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
        "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
    )
    """

  func rows(on connection: SerialConnection) async throws -> [AppliedMigration] {
    try await connection.query(
      """
      SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back,
        logs FROM "_prisma_migrations" ORDER BY started_at, migration_name
      """
    ).namedRows.map { row in
      AppliedMigration(
        name: row.string("migration_name"), checksum: row.string("checksum"),
        succeeded: row.bool("finished") && !row.bool("rolled_back"),
        failed: !row.bool("finished") && !row.bool("rolled_back"), rolledBack: row.bool("rolled_back"),
        logs: row["logs"])
    }
  }

  func recordSuccess(_ migration: Migration, startedAt: String, milliseconds: Int, on connection: SerialConnection)
    async throws -> String
  {
    """
    INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at,
      applied_steps_count)
    VALUES (gen_random_uuid()::text, \(try await connection.quoteLiteral(migration.checksum)), clock_timestamp(),
      \(try await connection.quoteLiteral(migration.name)), NULL, NULL, \(try await connection.quoteLiteral(startedAt)),
      1)
    """
  }

  func recordFailure(_ migration: Migration, startedAt: String, error: String, on connection: SerialConnection)
    async throws
  {
    try await connection.query(
      """
      INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at,
        applied_steps_count)
      VALUES (gen_random_uuid()::text, $1, NULL, $2, $3, NULL, $4::timestamptz, 0)
      """, [migration.checksum, migration.name, error, startedAt])
  }

  func clearInterrupted(_ name: String, on connection: SerialConnection) async throws {
    try await connection.query(
      """
      DELETE FROM "_prisma_migrations" WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL
      """, [name])
  }

  func markRolledBack(_ name: String, on connection: SerialConnection) async throws -> Bool {
    try await connection.query(
      """
      UPDATE "_prisma_migrations" SET rolled_back_at = now()
      WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL
      """, [name]
    ).affectedRows > 0
  }
}

/// Flyway's `flyway_schema_history`, with its columns: `installed_rank`, `version`, `description`, `type` (`SQL`),
/// `script`, `checksum` (CRC-32), `installed_by`, `installed_on`, `execution_time` (ms) and `success`.
struct FlywayHistory: History {
  /// Not Flyway's own key (Flyway derives its key from the history table's name in Java): Cleave's deploys
  /// exclude each other, not a Flyway running at the same time.
  let lockKey: Int64 = 0x636C_6561_7665  // "cleave"

  let createTable = """
    CREATE TABLE IF NOT EXISTS "flyway_schema_history" (
        "installed_rank" INT NOT NULL,
        "version" VARCHAR(50),
        "description" VARCHAR(200) NOT NULL,
        "type" VARCHAR(20) NOT NULL,
        "script" VARCHAR(1000) NOT NULL,
        "checksum" INT,
        "installed_by" VARCHAR(100) NOT NULL,
        "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
        "execution_time" INT NOT NULL,
        "success" BOOLEAN NOT NULL,
        CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank")
    );
    CREATE INDEX IF NOT EXISTS "flyway_schema_history_s_idx" ON "flyway_schema_history" ("success")
    """

  func rows(on connection: SerialConnection) async throws -> [AppliedMigration] {
    try await connection.query(
      "SELECT script, checksum::text AS checksum, success FROM flyway_schema_history ORDER BY installed_rank"
    ).namedRows.map { row in
      AppliedMigration(
        name: row.string("script"), checksum: row.string("checksum"), succeeded: row.bool("success"),
        failed: !row.bool("success"), rolledBack: false, logs: nil)
    }
  }

  private func values(_ migration: Migration, milliseconds: Int, success: Bool, on connection: SerialConnection)
    async throws -> String
  {
    var version = "NULL"
    if let text = migration.version { version = try await connection.quoteLiteral(text) }
    return """
      INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by,
        installed_on, execution_time, success)
      SELECT coalesce(max(installed_rank), 0) + 1, \(version), \(try await connection.quoteLiteral(migration.description)),
        'SQL', \(try await connection.quoteLiteral(migration.name)), \(migration.checksum), current_user, now(),
        \(milliseconds), \(success) FROM flyway_schema_history
      """
  }

  func recordSuccess(_ migration: Migration, startedAt: String, milliseconds: Int, on connection: SerialConnection)
    async throws -> String
  {
    try await values(migration, milliseconds: milliseconds, success: true, on: connection)
  }

  func recordFailure(_ migration: Migration, startedAt: String, error: String, on connection: SerialConnection)
    async throws
  {
    try await connection.execute(try await values(migration, milliseconds: 0, success: false, on: connection))
  }

  func clearInterrupted(_ name: String, on connection: SerialConnection) async throws {
    _ = try await markRolledBack(name, on: connection)
  }

  /// Flyway's `repair`: a failed row is removed, and the migration counts as not applied.
  func markRolledBack(_ name: String, on connection: SerialConnection) async throws -> Bool {
    try await connection.query("DELETE FROM flyway_schema_history WHERE script = $1 AND NOT success", [name])
      .affectedRows > 0
  }
}
