import CleaveCore
import CleaveTestSupport
import Foundation
import Migrate
import Plan
import PostgresDriver
import Testing

/// `cleave migrate` on real servers: Prisma's and Flyway's layouts and history tables, locks, failures.
@Suite(.postgres, .tags(.integration)) struct MigrateTests {
  func databases(_ sandbox: PostgresSandbox, _ names: [String]) async throws {
    let admin = try await SerialConnection.connect(sandbox.connInfo())
    for name in names { try await admin.execute("CREATE DATABASE \(name)") }
  }

  @Test func aPrismaFolderDeploysWithPrismasRowsOnceAndNoticesAnEdit() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let temporary = try TemporaryFolder("migrate-prisma")
    defer { temporary.remove() }
    let services = ["auth", "billing", "catalog"].map { "\($0)_\(temporary.suffix)" }
    try await databases(sandbox, services)
    for service in services {
      try MigrationFixtures.writePrisma(
        MigrationFixtures.prismaScripts(String(service.prefix(while: { $0 != "_" }))),
        into: "\(temporary.path)/\(service)/prisma/migrations")
    }
    let plan = try MigrationFixtures.plan(
      in: temporary, sandbox: sandbox, services: services.map { ($0, "\($0)/prisma/migrations") })
    let migrator = Migrator(plan: try PlanDecoder.load(path: plan))

    let before = try await migrator.status()
    #expect(before.allSatisfy { $0.pending.count == 12 && $0.layout == .prisma && $0.needsAttention })
    let deployed = try await migrator.deploy()
    #expect(deployed.allSatisfy { $0.appliedNow.count == 12 && $0.error == nil }, "\(deployed.map(\.error))")

    for service in services {
      let database = try await SerialConnection.connect(sandbox.connInfo(database: service))
      let rows = try await database.query(
        """
        SELECT id, checksum, migration_name, logs, applied_steps_count, finished_at IS NOT NULL AS finished,
          rolled_back_at IS NULL AS not_rolled_back, started_at <= finished_at AS ordered
        FROM _prisma_migrations ORDER BY migration_name
        """
      ).namedRows
      #expect(rows.count == 12)
      for row in rows {
        let file = "\(temporary.path)/\(service)/prisma/migrations/\(row.string("migration_name"))/migration.sql"
        #expect(row.string("checksum") == (try MigrationFixtures.sha256sum(file)), "\(file)")
        #expect(UUID(uuidString: row.string("id")) != nil)
        #expect(row["logs"] == nil && row.int("applied_steps_count") == 1)
        #expect(row.bool("finished") && row.bool("not_rolled_back") && row.bool("ordered"))
      }
      let index = try await database.query(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)",
        ["\(service.prefix(while: { $0 != "_" }))_session_account_idx"]
      ).scalar
      #expect(index == "t", "the concurrently built index exists and is valid")
    }

    let again = try await migrator.deploy()
    #expect(again.allSatisfy { $0.appliedNow.isEmpty && !$0.needsAttention })

    let edited = "\(temporary.path)/\(services[0])/prisma/migrations/20240102000000_profile/migration.sql"
    try "ALTER TABLE auth_account ADD COLUMN display_name varchar(80);\n".write(
      toFile: edited, atomically: true, encoding: .utf8)
    let after = try await migrator.status()
    #expect(after[0].modified == ["20240102000000_profile"] && after[0].needsAttention)
    #expect(after[1].modified.isEmpty && !after[1].needsAttention)
  }

  @Test func twoDeploysAtOnceApplyEachMigrationOnceAndWaitForPrismasLock() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let temporary = try TemporaryFolder("migrate-race")
    defer { temporary.remove() }
    let service = "race_\(temporary.suffix)"
    try await databases(sandbox, [service])
    try MigrationFixtures.writePrisma(MigrationFixtures.prismaScripts("race"), into: "\(temporary.path)/migrations")
    let plan = try MigrationFixtures.plan(in: temporary, sandbox: sandbox, services: [(service, "migrations")])
    let migrator = Migrator(plan: try PlanDecoder.load(path: plan))

    // Prisma's own lock is held (a `prisma migrate deploy` running): Cleave waits for it.
    let prisma = try await SerialConnection.connect(sandbox.connInfo(database: service))
    _ = try await prisma.query("SELECT pg_advisory_lock(72707369)")
    async let first = migrator.deploy()
    async let second = migrator.deploy()
    try await Task.sleep(for: .seconds(1))
    let during = try await prisma.query("SELECT to_regclass('_prisma_migrations') IS NULL").scalar
    #expect(during == "t", "nothing ran while Prisma's lock was held")
    _ = try await prisma.query("SELECT pg_advisory_unlock(72707369)")
    let results = try await [first, second].flatMap { $0 }
    #expect(results.map(\.appliedNow.count).sorted() == [0, 12], "each migration applied by exactly one deploy")
    let count = try await prisma.query("SELECT count(*), count(DISTINCT migration_name) FROM _prisma_migrations")
    #expect(count.rows.first == ["12", "12"])
  }

  @Test func aFailedMigrationIsRecordedBlocksAndResolveUnblocksIt() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let temporary = try TemporaryFolder("migrate-fail")
    defer { temporary.remove() }
    let service = "fail_\(temporary.suffix)"
    try await databases(sandbox, [service])
    var scripts = Array(MigrationFixtures.prismaScripts("fail").prefix(4))
    scripts[2].sql = "CREATE TABLE fail_session (id int PRIMARY KEY, account_id int REFERENCES no_such_table);"
    let folder = "\(temporary.path)/migrations"
    try MigrationFixtures.writePrisma(scripts, into: folder)
    let plan = try MigrationFixtures.plan(in: temporary, sandbox: sandbox, services: [(service, "migrations")])
    let migrator = Migrator(plan: try PlanDecoder.load(path: plan))

    let failed = try #require(try await migrator.deploy().first)
    #expect(failed.appliedNow == ["20240101000000_init", "20240102000000_profile"])
    #expect(failed.failed == ["20240103000000_sessions"] && failed.error?.contains("no_such_table") == true)
    let database = try await SerialConnection.connect(sandbox.connInfo(database: service))
    let row = try #require(
      try await database.query(
        "SELECT finished_at, logs, applied_steps_count FROM _prisma_migrations WHERE migration_name = $1",
        ["20240103000000_sessions"]
      ).namedRows.first)
    #expect(row["finished_at"] == nil && row.string("logs").contains("no_such_table"))
    #expect(try await database.query("SELECT to_regclass('fail_session') IS NULL").scalar == "t", "rolled back")

    let blocked = try #require(try await migrator.deploy().first)
    #expect(blocked.appliedNow.isEmpty && blocked.error?.contains("resolve") == true)

    try "CREATE TABLE fail_session (id int PRIMARY KEY, account_id int REFERENCES fail_account);\n".write(
      toFile: "\(folder)/20240103000000_sessions/migration.sql", atomically: true, encoding: .utf8)
    try await migrator.resolve("20240103000000_sessions", applied: false)
    let resumed = try #require(try await migrator.deploy().first)
    #expect(resumed.appliedNow == ["20240103000000_sessions", "20240104000000_status_enum"])
    #expect(!resumed.needsAttention)
  }

  @Test func resolveAppliedRecordsAMigrationCompletedByHand() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let temporary = try TemporaryFolder("migrate-applied")
    defer { temporary.remove() }
    let service = "byhand_\(temporary.suffix)"
    try await databases(sandbox, [service])
    var scripts = Array(MigrationFixtures.prismaScripts("byhand").prefix(3))
    scripts[1].sql = "ALTER TABLE byhand_account ADD COLUMN display_name text REFERENCES nowhere;"
    try MigrationFixtures.writePrisma(scripts, into: "\(temporary.path)/migrations")
    let plan = try MigrationFixtures.plan(in: temporary, sandbox: sandbox, services: [(service, "migrations")])
    let migrator = Migrator(plan: try PlanDecoder.load(path: plan))
    #expect(try await migrator.deploy().first?.failed == ["20240102000000_profile"])
    // Someone completes it by hand, then tells the history.
    let database = try await SerialConnection.connect(sandbox.connInfo(database: service))
    try await database.execute("ALTER TABLE byhand_account ADD COLUMN display_name text")
    try await migrator.resolve("20240102000000_profile", applied: true)
    let resumed = try #require(try await migrator.deploy().first)
    #expect(resumed.appliedNow == ["20240103000000_sessions"] && !resumed.needsAttention)
    let rows = try await database.query(
      """
      SELECT count(*) FILTER (WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL),
        count(*) FILTER (WHERE rolled_back_at IS NOT NULL) FROM _prisma_migrations WHERE migration_name = $1
      """, ["20240102000000_profile"])
    #expect(rows.rows.first == ["1", "1"], "the failed run is marked rolled back, and an applied row is added")
    await #expect(throws: CleaveError.self) { try await migrator.resolve("20240199000000_nope", applied: true) }
  }

  @Test func aFlywayFolderDeploysWithFlywaysChecksums() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let temporary = try TemporaryFolder("migrate-flyway")
    defer { temporary.remove() }
    let service = "fly_\(temporary.suffix)"
    try await databases(sandbox, [service])
    let folder = temporary.path + "/db/migration"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let files = [
      ("V1__init.sql", "CREATE TABLE item (id int PRIMARY KEY);\nCREATE TABLE tag (id int PRIMARY KEY);\n"),
      ("V1.1__add_name.sql", "ALTER TABLE item ADD COLUMN name text;\r\nALTER TABLE tag ADD COLUMN name text;\r\n"),
      ("V2__check.sql", "123456789"),
      ("R__item_names.sql", "CREATE OR REPLACE VIEW item_names AS SELECT name FROM item;\n"),
    ]
    for (name, text) in files { try text.write(toFile: "\(folder)/\(name)", atomically: true, encoding: .utf8) }
    // V2's text is the CRC-32 check string: its checksum is the standard check value 0xCBF43926, as a signed int.
    try "SELECT 1; -- 123456789".write(toFile: "\(folder)/V2__check.sql", atomically: true, encoding: .utf8)
    #expect(MigrationChecksum.flyway("123456789") == Int32(bitPattern: 0xCBF4_3926))
    #expect(MigrationChecksum.flyway("a\r\nb\n") == MigrationChecksum.flyway("a\nb"), "line ends do not count")
    let plan = try MigrationFixtures.plan(in: temporary, sandbox: sandbox, services: [(service, "db/migration")])
    let migrator = Migrator(plan: try PlanDecoder.load(path: plan))
    let result = try #require(try await migrator.deploy().first)
    #expect(result.layout == .flyway && result.error == nil, "\(String(describing: result.error))")
    #expect(result.appliedNow == ["V1__init.sql", "V1.1__add_name.sql", "V2__check.sql", "R__item_names.sql"])
    let database = try await SerialConnection.connect(sandbox.connInfo(database: service))
    let rows = try await database.query(
      """
      SELECT installed_rank, coalesce(version, '') AS version, description, type, script, checksum, success,
        installed_by = current_user AS by_me
      FROM flyway_schema_history ORDER BY installed_rank
      """
    ).namedRows
    #expect(rows.map { $0.string("version") } == ["1", "1.1", "2", ""])
    #expect(rows.map { $0.string("description") } == ["init", "add name", "check", "item names"])
    #expect(rows.allSatisfy { $0.string("type") == "SQL" && $0.bool("success") && $0.bool("by_me") })
    for row in rows {
      let text = try String(contentsOfFile: "\(folder)/\(row.string("script"))", encoding: .utf8)
      #expect(row.string("checksum") == String(MigrationChecksum.flyway(text)))
    }
    // A repeatable script runs again when it changes; versioned ones do not.
    try "CREATE OR REPLACE VIEW item_names AS SELECT name, id FROM item;\n".write(
      toFile: "\(folder)/R__item_names.sql", atomically: true, encoding: .utf8)
    let again = try #require(try await migrator.deploy().first)
    #expect(again.appliedNow == ["R__item_names.sql"])
  }

  @Test func lintFlagsEachRuleWhereItIsAndPassesASafeMigration() throws {
    let temporary = try TemporaryFolder("migrate-lint")
    defer { temporary.remove() }
    let risky = """
      DROP TABLE old_things;
      ALTER TABLE orders DROP COLUMN note;
      ALTER TABLE orders ALTER COLUMN total TYPE numeric(14,2);
      ALTER TABLE orders ALTER COLUMN status SET NOT NULL;
      ALTER TABLE orders ADD CONSTRAINT positive CHECK (total > 0);
        CREATE INDEX orders_created_idx ON orders (created_at);
      ALTER TABLE orders RENAME COLUMN total TO amount;
      ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();
      """
    let migration = Migration(
      name: "V3__risky.sql", version: "3", description: "risky", kind: .versioned, path: "V3__risky.sql",
      script: risky, checksum: "")
    let findings = MigrationLinter.lint(migration)
    func at(_ rule: String) -> [String] {
      findings.filter { $0.rule == rule }.map { "\($0.line):\($0.column)" }
    }
    #expect(at("MIG001") == ["1:1"])
    #expect(at("MIG002") == ["2:1"])
    #expect(at("MIG003") == ["3:1"])
    #expect(at("MIG004") == ["4:1"])
    #expect(at("MIG005") == ["5:1"])
    #expect(at("MIG006") == ["6:3"])
    #expect(at("MIG007") == ["7:1"])
    #expect(at("MIG008") == ["8:1"])
    #expect(at("MIG009").count == 8, "no lock_timeout anywhere")
    #expect(findings.allSatisfy { !$0.saferAlternative.isEmpty && $0.file == "V3__risky.sql" })

    var disabled = migration
    disabled.script = "-- cleave-lint: disable=MIG001,MIG009\n" + risky
    #expect(!MigrationLinter.lint(disabled).contains { $0.rule == "MIG001" || $0.rule == "MIG009" })

    var safe = migration
    safe.script = """
      SET lock_timeout = '5s';
      CREATE TABLE invoices (id bigserial PRIMARY KEY, total numeric NOT NULL);
      CREATE INDEX invoices_total_idx ON invoices (total);
      ALTER TABLE orders ADD COLUMN note text;
      ALTER TABLE orders ADD CONSTRAINT positive CHECK (total > 0) NOT VALID;
      ALTER TABLE orders VALIDATE CONSTRAINT positive;
      CREATE INDEX CONCURRENTLY orders_created_idx ON orders (created_at);
      """
    #expect(MigrationLinter.lint(safe).isEmpty, "\(MigrationLinter.lint(safe))")
  }
}

/// Baseline and drift: a database split out without migrations gets its schema as its first migration, which
/// builds exactly the live schema; a column added by hand afterwards is drift.
@Suite(.postgres, .tags(.integration)) struct BaselineDriftTests {
  @Test func aBaselineRebuildsTheLiveSchemaAndDriftFindsAColumnAddedByHand() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let temporary = try TemporaryFolder("migrate-drift")
    defer { temporary.remove() }
    let service = "split_\(temporary.suffix)"
    try await SerialConnection.connect(sandbox.connInfo()).execute("CREATE DATABASE \(service)")
    let live = try await SerialConnection.connect(sandbox.connInfo(database: service))
    try await live.execute(
      """
      CREATE TYPE mood AS ENUM ('ok', 'meh');
      CREATE TABLE film (id serial PRIMARY KEY, title text NOT NULL, rating mood DEFAULT 'ok',
        length int CHECK (length > 0));
      CREATE TABLE review (id bigserial PRIMARY KEY, film_id int NOT NULL REFERENCES film, body text);
      CREATE INDEX review_film_idx ON review (film_id) WHERE body IS NOT NULL;
      CREATE SCHEMA _cleave; CREATE TABLE _cleave.progress (step text);
      """)
    let plan = try MigrationFixtures.plan(in: temporary, sandbox: sandbox, services: [(service, "migrations")])
    let migrator = Migrator(plan: try PlanDecoder.load(path: plan))

    let files = try await migrator.baseline()
    #expect(files == ["\(temporary.path)/migrations/00000000000000_baseline/migration.sql"])
    let script = try String(contentsOfFile: files[0], encoding: .utf8)
    #expect(
      script.contains("CREATE TABLE public.film") && !script.contains("_cleave") && !script.contains("\\restrict"))
    let status = try #require(try await migrator.status().first)
    #expect(status.applied == ["00000000000000_baseline"] && !status.needsAttention)

    let clean = try #require(try await migrator.drift().first)
    #expect(clean.differences.isEmpty, "\(clean.differences)")

    try await live.execute("ALTER TABLE film ADD COLUMN added_by_hand text; DROP INDEX review_film_idx")
    let drifted = try #require(try await migrator.drift().first).differences
    #expect(
      drifted.contains { $0.kind == .unexpectedColumn && $0.object == "added_by_hand" && $0.table.name == "film" })
    #expect(drifted.contains { $0.kind == .missingIndex && $0.table.name == "review" })
    #expect(drifted.count == 2, "\(drifted)")
    let admin = try await SerialConnection.connect(sandbox.connInfo())
    #expect(
      try await admin.query("SELECT count(*) FROM pg_database WHERE datname LIKE 'cleave\\_drift\\_%'").scalar == "0")
  }
}
