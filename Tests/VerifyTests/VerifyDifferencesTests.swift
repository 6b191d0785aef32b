import CleaveTestSupport
import Copy
import Foundation
import Plan
import PostgresDriver
import Testing
import Verify

/// Each kind of difference, caused on purpose in a copied service database, is found and named by verify.
@Suite(.postgres, .tags(.integration)) struct VerifyDifferencesTests {
  /// A source with a wide table large enough for the hash buckets to narrow the search, a table of notes, a
  /// partitioned table, a table without a primary key, and serial sequences; one service owns it all.
  static let schema = """
    CREATE TABLE wide (id serial PRIMARY KEY, \((1...20).map { "c\($0) text" }.joined(separator: ", ")));
    INSERT INTO wide (\((1...20).map { "c\($0)" }.joined(separator: ", ")))
      SELECT \((1...20).map { "md5((g * \($0))::text)" }.joined(separator: ", ")) FROM generate_series(1, 50000) AS g;
    CREATE INDEX wide_c1_idx ON wide (c1);
    CREATE TABLE notes (id serial PRIMARY KEY, body text, CHECK (length(body) < 100));
    INSERT INTO notes (body) SELECT 'note ' || g FROM generate_series(1, 10) AS g;
    CREATE TABLE events (id int PRIMARY KEY, what text NOT NULL DEFAULT 'click') PARTITION BY RANGE (id);
    CREATE TABLE events_low PARTITION OF events FOR VALUES FROM (1) TO (100);
    CREATE TABLE events_high PARTITION OF events FOR VALUES FROM (100) TO (200);
    INSERT INTO events SELECT g, 'event ' || g FROM generate_series(1, 199) AS g;
    CREATE TABLE tags (name text, weight int);
    INSERT INTO tags VALUES ('red', 1), ('green', 2), ('blue', 3), ('red', 1);
    ANALYZE;
    """

  @Test func findsAndNamesEachKindOfDifference() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("verify_kinds")
    try await SerialConnection.connect(source).execute(Self.schema)
    let temporary = try TemporaryFolder("verify")
    defer { temporary.remove() }
    let plan = temporary.path + "/cleave.yml"
    let database = "kinds_\(temporary.suffix)"
    try """
    source: ${SRC}
    targets:
      main: ${DST}
    services:
      kinds:
        database: \(database)
        tables: [wide, notes, events, tags]
    """.write(toFile: plan, atomically: true, encoding: .utf8)
    let environment = ["SRC": source.flattened, "DST": sandbox.connInfo().rawValue]
    _ = try await Split(planPath: plan, environment: environment, secretsPath: temporary.path + "/secrets.env").copy(
      jobs: 2, workDirectory: temporary.path + "/work", splitBytes: 256 << 20, reporter: SilentProgress())
    let verifier = Verifier(plan: try await PlanLoader.resolve(path: plan, environment: environment))
    let clean = try await verifier.run()
    #expect(clean.passed, "\(clean.tables.filter { $0.status != .match }) \(clean.schema)")
    #expect(clean.source.writesWhileVerifying == 0)

    let target = try await SerialConnection.connect(sandbox.connInfo(database: database))
    try await target.execute(
      """
      DELETE FROM wide WHERE id = 10;
      INSERT INTO wide (id, c1) VALUES (0, 'extra');
      UPDATE wide SET c17 = 'changed' WHERE id = 777;
      UPDATE notes SET body = NULL WHERE id = 3;
      UPDATE notes SET body = body || ' ' WHERE id = 4;
      CREATE TABLE keep AS SELECT * FROM events;
      DROP TABLE events_low, events_high;
      CREATE TABLE events_low PARTITION OF events FOR VALUES FROM (1) TO (99);
      CREATE TABLE events_high PARTITION OF events FOR VALUES FROM (99) TO (200);
      INSERT INTO events SELECT * FROM keep;
      DROP TABLE keep;
      INSERT INTO tags VALUES ('green', 2);
      DROP INDEX wide_c1_idx;
      SELECT setval('notes_id_seq', 2);
      CREATE TABLE made_by_hand (id int);
      """)
    // The source hands out values after the copy: the service's sequence is left behind.
    try await SerialConnection.connect(source).execute("SELECT nextval('wide_id_seq') FROM generate_series(1, 5)")

    let found = try await verifier.run()
    #expect(!found.passed)
    func table(_ name: String) throws -> VerifySummary.TableResult {
      try #require(found.tables.first { $0.target.name == name })
    }
    func differences(_ name: String) throws -> TableDifferences {
      try #require(try table(name).differences, "\(name) has no differences")
    }

    let wide = try differences("wide")
    #expect(try table("wide").status == .contentDiffers)
    #expect(wide.key == ["id"])
    #expect((wide.missing, wide.extra, wide.changed) == (1, 1, 1))
    // The buckets narrowed 100,000 rows down to the few that share a bucket with a difference.
    #expect(wide.rowsCompared > 0 && wide.rowsCompared < 1_000, "\(wide.rowsCompared)")
    #expect(wide.examples.contains { $0.kind == .missing && $0.key == "(10)" })
    #expect(wide.examples.contains { $0.kind == .extra && $0.key == "(0)" })
    let changed = try #require(wide.examples.first { $0.kind == .changed })
    #expect(changed.key == "(777)")
    #expect(changed.columns.map(\.column) == ["c17"])
    #expect(changed.columns.first?.actual == "changed")

    let notes = try differences("notes")
    #expect(notes.changed == 2 && notes.missing == 0 && notes.extra == 0)
    let nulled = try #require(notes.examples.first { $0.key == "(3)" })
    #expect(nulled.columns == [ColumnDifference(column: "body", expected: "note 3", actual: nil)])
    let spaced = try #require(notes.examples.first { $0.key == "(4)" })
    #expect(spaced.columns == [ColumnDifference(column: "body", expected: "note 4", actual: "note 4 ")])

    let low = try differences("events_low")
    let high = try differences("events_high")
    #expect(low.examples.map(\.kind) == [.movedOut] && low.examples.first?.key == "(99)")
    #expect(low.examples.first?.otherTable?.name == "events_high")
    #expect(high.examples.map(\.kind) == [.movedIn] && high.examples.first?.otherTable?.name == "events_low")

    let tags = try differences("tags")
    #expect(!tags.locatedByKey)
    #expect((tags.missing, tags.extra, tags.changed) == (0, 1, 0))
    let duplicate = try #require(tags.examples.first)
    #expect(duplicate.key == "(green,2)" && duplicate.expectedCopies == 1 && duplicate.actualCopies == 2)

    func schema(_ kind: SchemaDifference.Kind) -> [SchemaDifference] { found.schema.filter { $0.kind == kind } }
    #expect(schema(.missingIndex).map(\.object) == ["btree (c1)"])
    #expect(schema(.unexpectedTable).map(\.table.name) == ["made_by_hand"])
    #expect(schema(.missingIndex).first?.table.name == "wide")
    #expect(schema(.sequenceBehindData).map(\.object) == ["public.notes_id_seq"])
    #expect(schema(.sequenceBehindSource).map(\.object).sorted() == ["public.notes_id_seq", "public.wide_id_seq"])
    #expect(schema(.partitionBound).map(\.table.name).sorted() == ["events_high", "events_low"])
    #expect(
      found.tables.filter { $0.status != .match }.map(\.target.name).sorted() == [
        "events_high", "events_low", "notes", "tags", "wide",
      ])
  }
}
