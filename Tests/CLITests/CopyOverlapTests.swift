import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// The copy's phases overlap (issue 15): a table's indexes and keys are built once its own rows are in, not after
/// every table's, its foreign keys once both tables are keyed, its statistics last; and a key built as a unique
/// index first (so other indexes of its table can build beside it) is the same key the source has.
@Suite(.postgres, .tags(.integration)) struct CopyOverlapTests {
  /// One task of the run's timeline, as the JSON summary gives it.
  struct Event: Decodable {
    var service: String
    var table: String
    var kind: String
    var label: String
    var worker: Int
    var start: Double
    var end: Double
  }

  static let sourceSQL = """
    CREATE TABLE big (id bigint PRIMARY KEY, code text NOT NULL, body text,
      CONSTRAINT big_code_key UNIQUE (code) DEFERRABLE INITIALLY DEFERRED);
    INSERT INTO big SELECT i, 'c' || i, repeat(md5(i::text), 4) FROM generate_series(1, 40000) i;
    CREATE INDEX big_id_desc_idx ON big (id DESC);
    COMMENT ON CONSTRAINT big_code_key ON big IS 'codes are unique';
    CREATE TABLE small (id int, big_id bigint NOT NULL REFERENCES big, note text,
      CONSTRAINT small_pkey PRIMARY KEY (id) INCLUDE (note));
    INSERT INTO small SELECT i, 1 + i % 40000, 'n' || i FROM generate_series(1, 2000) i;
    CREATE TABLE tags (name text, CONSTRAINT tags_name_key UNIQUE NULLS NOT DISTINCT (name));
    INSERT INTO tags VALUES ('a'), ('b'), (NULL);
    CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
    CREATE TRIGGER small_touch BEFORE UPDATE ON small FOR EACH ROW EXECUTE FUNCTION touch();
    CREATE TABLE measures (day date, value int, PRIMARY KEY (day)) PARTITION BY RANGE (day);
    CREATE TABLE measures_2024 PARTITION OF measures FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    INSERT INTO measures SELECT '2024-01-01'::date + i, i FROM generate_series(0, 300) i;
    CREATE MATERIALIZED VIEW big_codes AS SELECT code FROM big WHERE id < 100;
    ANALYZE;
    """

  static let keysAndIndexes = """
    SELECT string_agg(format('%s %s %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)), E'\\n'
      ORDER BY c.conname) || E'\\n' || (SELECT string_agg(indexdef, E'\\n' ORDER BY indexdef) FROM pg_indexes
      WHERE schemaname = 'public') || E'\\n' || (SELECT string_agg(obj_description(oid, 'pg_constraint'), ',')
      FROM pg_constraint WHERE conname = 'big_code_key')
    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'
    """

  @Test(arguments: [1, 2])
  func indexesFollowTheirOwnTableAndKeysAreTheSource(jobs: Int) async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let split = try await sandbox.split("overlap_\(jobs)", sourceSQL: Self.sourceSQL) { suffix in
      """
      shop:
        database: shop_\(suffix)
        tables: [public.big, public.small, public.tags, public.measures, public.measures_2024]
      """
    }
    defer { split.folder.remove() }
    let copy = try await CLIRunner.run(
      ["copy", "-f", split.plan, "--split-mb", "1", "--jobs", "\(jobs)", "--format", "json"])
    #expect(copy.status == 0, "\(copy.stdout)\(copy.stderr)")
    let timeline = try Self.timeline(copy.stdout)
    let tasks = timeline.filter { $0.kind != "phase" }
    func copies(_ table: String) -> [Event] { tasks.filter { $0.kind == "copy" && $0.table == table } }
    func steps(_ table: String) -> [Event] {
      tasks.filter { $0.table == table && !["copy", "analyze"].contains($0.kind) }
    }
    #expect(copies("public.big").count >= 2, "big was copied in ranges: \(tasks.map(\.label))")
    #expect(Set(tasks.map(\.worker)).isSubset(of: Set(0..<jobs)))

    // Each index or key of a table starts after that table's last rows are in.
    for table in ["public.big", "public.small", "public.tags", "public.measures_2024"] {
      let rowsIn = try #require(copies(table).map(\.end).max(), "\(table) was copied")
      for step in steps(table) where step.kind != "foreign key" {
        #expect(step.start >= rowsIn, "\(step.label) on \(table) began before its rows were in")
      }
    }
    // The foreign key waits for both of its tables' rows and keys.
    let foreignKey = try #require(tasks.first { $0.kind == "foreign key" })
    #expect(foreignKey.table == "public.small")
    let before =
      copies("public.big") + copies("public.small")
      + (steps("public.big") + steps("public.small")).filter { ["index", "constraint"].contains($0.kind) }
    for event in before { #expect(foreignKey.start >= event.end, "the foreign key began before \(event.label)") }
    // Statistics come last for each table, after every step on it.
    for table in ["public.big", "public.small", "public.tags"] {
      let analyze = try #require(tasks.first { $0.kind == "analyze" && $0.table == table }, "\(table) analyzed")
      for event in copies(table) + steps(table) {
        #expect(analyze.start >= event.end, "\(table)'s statistics before \(event.label)")
      }
    }
    // The materialized view is analyzed once it holds its rows (its refresh is among the last steps).
    let viewAnalyzed = try #require(tasks.first { $0.kind == "analyze" && $0.table == "public.big_codes" })
    for event in tasks where event.kind == "other" {
      #expect(viewAnalyzed.start >= event.end, "the view's statistics before \(event.label)")
    }
    // The work overlaps: an index of one table is built before another table's rows are all in (on one worker
    // the longest chain, big's rows and then its indexes, goes before small's and tags' rows).
    let lastRows = try #require(tasks.filter { $0.kind == "copy" }.map(\.end).max())
    let firstBuild = try #require(tasks.filter { ["index", "constraint"].contains($0.kind) }.map(\.start).min())
    #expect(firstBuild < lastRows, "no index began before the last rows were in: \(tasks.map(\.label))")
    // The phases before and after are on the timeline too.
    #expect(Set(timeline.filter { $0.kind == "phase" }.map(\.label)).isSuperset(of: ["snapshot", "schema", "finish"]))

    // Keys and indexes are the source's, whether built directly or as a unique index then `USING INDEX`.
    let reader = try await SerialConnection.connect(split.source)
    let source = try await reader.query(Self.keysAndIndexes).scalar
    await reader.close()
    let shop = try await SerialConnection.connect(sandbox.connInfo(database: "shop_\(split.folder.suffix)"))
    defer { Task { await shop.close() } }
    let target = try await shop.query(Self.keysAndIndexes).scalar
    #expect(source != nil && source == target, "source:\n\(source ?? "")\ntarget:\n\(target ?? "")")
    let verify = try await CLIRunner.run(["verify", "-f", split.plan])
    #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    // A deferred unique key is still deferred: a code may be held twice until the transaction ends.
    try await shop.execute(
      "BEGIN; UPDATE big SET code = 'c2' WHERE id = 1; UPDATE big SET code = 'c1' WHERE id = 2; COMMIT")
    #expect(try await shop.query("SELECT code FROM big WHERE id = 2").scalar == "c1")
    let analyzed = try await shop.query(
      "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_stat_user_tables WHERE analyze_count > 0")
    #expect(analyzed.scalar == "big,big_codes,measures,measures_2024,small,tags")
  }

  @Test func withoutOverlapNothingStartsBeforeTheLastRows() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let split = try await sandbox.split("no_overlap", sourceSQL: Self.sourceSQL) { suffix in
      "shop:\n  database: shop_\(suffix)\n  tables: [public.big, public.small, public.tags]"
    }
    defer { split.folder.remove() }
    let copy = try await CLIRunner.run(
      ["copy", "-f", split.plan, "--split-mb", "1", "--jobs", "2", "--no-overlap", "--format", "json"])
    #expect(copy.status == 0, "\(copy.stdout)\(copy.stderr)")
    let tasks = try Self.timeline(copy.stdout).filter { $0.kind != "phase" }
    let lastRows = try #require(tasks.filter { $0.kind == "copy" }.map(\.end).max())
    let others = tasks.filter { $0.kind != "copy" }
    #expect(others.count >= 6, "\(tasks.map(\.label))")
    for task in others { #expect(task.start >= lastRows, "\(task.label) began before the last rows were in") }
    let verify = try await CLIRunner.run(["verify", "-f", split.plan])
    #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
  }

  /// The `timeline` of a `cleave copy --format json` run.
  static func timeline(_ stdout: String) throws -> [Event] {
    let json = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
    let timelineData = try JSONSerialization.data(withJSONObject: try #require(json["timeline"] as? [Any]))
    return try JSONDecoder().decode([Event].self, from: timelineData)
  }
}
