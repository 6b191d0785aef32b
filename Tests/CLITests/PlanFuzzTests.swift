import CleaveCore
import CleaveTestSupport
import Foundation
import Plan
import PostgresDriver
import SQLParser
import Testing

/// A few hundred plan files, made by mutating valid ones with a seeded generator, loaded by `cleave plan`; the
/// valid ones among them, and the templates, copied and verified.
///
/// It proves, for every plan: no crash, no exit 70 (every failure a `CleaveError` of a documented family), every
/// plan error located in the plan file (line and column inside it); and that nothing but reads reached the
/// source, from the server's own statement log (`log_statement = 'all'` on the source database): every
/// statement parses as a read (`SELECT` without `INTO`, row locks or data-modifying CTEs, `COPY … TO`,
/// `LOCK … IN ACCESS SHARE MODE`, transaction control, `SET`), and every volatile function it calls is one of the
/// few that change nothing in the database. A failure prints the seed and the plan, so it reproduces (issue 12).
@Suite(.postgres, .tags(.integration)) struct PlanFuzzTests {
  /// The generator's seed: the same seed makes the same plans.
  static let seed: UInt64 = 0xC1EA_7E12

  /// Plans generated and loaded.
  static let count = 300

  /// Valid mutated plans copied and verified, besides the templates.
  static let copied = 4

  /// Volatile functions that reads use and that change nothing in a database.
  ///
  /// The snapshot the workers share is exported, session settings are set, and the server's own state is read
  /// (sizes, the partition tree, the system identifier, recovery). PostgreSQL marks these volatile because their
  /// answer may change within a statement.
  static let harmlessVolatile: Set<String> = [
    "pg_export_snapshot", "set_config", "pg_backend_pid", "pg_is_in_recovery", "pg_total_relation_size",
    "pg_partition_tree", "pg_control_system", "pg_table_size",
  ]

  @Test func mutatedPlansFailCleanlyAndOnlyReadTheSource() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let sourceInfo = try await sandbox.makeDatabase("fuzz_src")
    let source = try await SerialConnection.connect(sourceInfo)
    try await source.execute(
      """
      CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL UNIQUE, name text,
        created_at timestamptz DEFAULT '2024-01-01');
      CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int REFERENCES customers, total numeric(10,2),
        status text, placed_at date);
      CREATE TABLE "Order Items" (id int PRIMARY KEY, order_id bigint REFERENCES orders, sku text, qty int);
      CREATE SCHEMA billing;
      CREATE TABLE billing.invoices (id int PRIMARY KEY, order_id bigint, amount numeric);
      CREATE TABLE audit_log (at timestamptz, what text);
      INSERT INTO customers (email, name) SELECT 'c' || i || '@example.com', 'Customer ' || i
        FROM generate_series(1, 50) i;
      INSERT INTO orders (customer_id, total, status, placed_at)
        SELECT 1 + i % 50, i * 1.5, 'open', DATE '2024-01-01' + i FROM generate_series(1, 200) i;
      INSERT INTO "Order Items" SELECT i, 1 + i % 200, 'sku-' || i, i % 7 FROM generate_series(1, 400) i;
      INSERT INTO billing.invoices SELECT i, 1 + i % 200, i FROM generate_series(1, 100) i;
      INSERT INTO audit_log SELECT '2024-01-01'::timestamptz + i * interval '1 hour', 'event ' || i
        FROM generate_series(1, 50) i;
      ANALYZE;
      """)
    let database = try #require(try await source.query("SELECT current_database()").scalar)
    // From here on every new session on the source logs each statement; `source`, opened before, does not.
    try await source.execute("ALTER DATABASE \(database) SET log_statement = 'all'")
    let folder = try TemporaryFolder("fuzz")
    defer { folder.remove() }
    let environment = ["SRC": sourceInfo.flattened, "DST": sandbox.connInfo().rawValue]
    let templates = Self.templates(suffix: folder.suffix)

    // The templates are valid: the mutations start from plans that work.
    var generator = SplitMix64(seed: Self.seed)
    var valid: [String] = []
    for (index, template) in templates.enumerated() {
      let path = folder.path + "/template\(index).yml"
      try template.write(toFile: path, atomically: true, encoding: .utf8)
      _ = try await Planner(planPath: path, environment: environment).run()
      valid.append(path)
    }

    var outcomes: [String: Int] = [:]
    for index in 0..<Self.count {
      // Each plan names databases of its own, so the valid ones can all be copied without meeting each other.
      let text = Self.mutate(
        Self.templates(suffix: "\(folder.suffix)_\(index)")[index % templates.count], with: &generator)
      let path = folder.path + "/plan\(index).yml"
      try text.write(toFile: path, atomically: true, encoding: .utf8)
      let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
      let context = "seed \(Self.seed), plan \(index):\n\(text)"
      do {
        _ = try await Planner(planPath: path, environment: environment).run()
        outcomes["accepted", default: 0] += 1
        // Copied: the first few, and every one holding SQL that writes or reads outside the database, which
        // `plan` should have refused; if it did not, the statement log below shows what reached the source.
        if valid.count < templates.count + Self.copied || Self.hostileSQL.contains(where: text.contains) {
          valid.append(path)
        }
      } catch let error as CleaveError {
        outcomes[error.code.rawValue, default: 0] += 1
        #expect(error.exitStatus != .internalError, "\(error)\n\(context)")
        let location = error.location
        #expect(location?.file == path, "a plan error without its place: \(error)\n\(context)")
        #expect(
          (1...lines + 1).contains(location?.line ?? 0) && (location?.column ?? 0) >= 1,
          "a plan error placed outside the file (\(lines) lines): \(error)\n\(context)")
      } catch {
        Issue.record("not a CleaveError, so exit 70: \(error)\n\(context)")
      }
    }
    // The mutations reach past the YAML into names, transforms and SQL.
    #expect(outcomes.count >= 8, "too few kinds of outcome: \(outcomes)")
    #expect((outcomes["accepted"] ?? 0) > 0 && (outcomes["CLV1011"] ?? 0) > 0, "\(outcomes)")
    #expect((outcomes["CLV1003"] ?? 0) < Self.count / 2, "most plans stop at the YAML parser: \(outcomes)")

    for path in valid {
      // A plan `cleave plan` accepts is one the copy and the verify carry out, when its servers are the test's:
      // `plan` reads the source only, so a target mutated into another server is found by the copy.
      let file = try PlanDecoder.load(path: path, environment: environment)
      let servers = file.targets.allSatisfy { $0.endpoint.url == environment["DST"] }
      let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
      let copy = try await CLIRunner.run(
        ["copy", "-f", path, "--secrets", path + ".secrets.env"], environment: environment)
      #expect(
        servers ? copy.status == 0 : copy.status == ExitStatus.connectionFailed.rawValue, "\(copy.stderr)\n\(text)")
      guard copy.status == 0 else { continue }
      let verify = try await CLIRunner.run(["verify", "-f", path], environment: environment)
      #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)\n\(text)")
    }

    let statements = try sandbox.loggedStatements(in: database)
    #expect(statements.count > 100, "the source's statement log is nearly empty: \(statements.count) statements")
    #expect(statements.contains { $0.contains("COPY") && $0.contains("TO STDOUT") }, "the copies' reads are logged")
    var volatility: [[String]: Bool] = [:]
    for text in statements {
      let parsed: [ParsedStatement]
      do { parsed = try SQLParser.statements(in: text) } catch {
        Issue.record("a statement on the source does not parse: \(error)\n\(text)")
        continue
      }
      for statement in parsed {
        if let problem = Self.notARead(statement.kind, statement.node) {
          Issue.record("a statement that is not a read reached the source (\(problem)):\n\(text)")
        }
      }
      for call in (try? SQLParser.calls(in: text).functions) ?? [] {
        guard let name = call.last, !Self.harmlessVolatile.contains(name) else { continue }
        if volatility[call] == nil {
          volatility[call] =
            try await source.query(
              """
              SELECT count(*) > 0 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
              WHERE p.proname = $1 AND ($2::text IS NULL OR n.nspname = $2) AND p.provolatile = 'v'
              """, [name, call.count > 1 ? call[call.count - 2] : nil]
            ).scalar == "t"
        }
        if volatility[call] == true {
          Issue.record("a volatile function reached the source: \(call.joined(separator: "."))\n\(text)")
        }
      }
    }
    #expect(try await source.query("SELECT count(*) FROM pg_largeobject_metadata").scalar == "0")
    try await source.execute("ALTER DATABASE \(database) RESET log_statement")
  }

  /// The oracle itself: it tells the writes from the reads.
  @Test func theReadOracleTellsWritesFromReads() throws {
    let reads = [
      "SELECT 1", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "SET TRANSACTION SNAPSHOT '0-1'",
      "COPY (SELECT * FROM t) TO STDOUT", "LOCK TABLE public.t IN ACCESS SHARE MODE", "PREPARE p AS SELECT 1",
      "COMMIT", "SHOW search_path", "SAVEPOINT s",
    ]
    let writes = [
      "INSERT INTO t VALUES (1)", "SELECT * INTO u FROM t", "SELECT * FROM t FOR UPDATE", "COPY t FROM STDIN",
      "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "PREPARE p AS UPDATE t SET a = 1",
      "LOCK TABLE t IN ACCESS EXCLUSIVE MODE", "CREATE TABLE u (a int)", "PREPARE TRANSACTION 'x'",
      "DO $$ BEGIN END $$", "EXPLAIN ANALYZE DELETE FROM t",
    ]
    for sql in reads {
      let statement = try #require(try SQLParser.statements(in: sql).first)
      #expect(Self.notARead(statement.kind, statement.node) == nil, "\(sql)")
    }
    for sql in writes {
      let statement = try #require(try SQLParser.statements(in: sql).first)
      #expect(Self.notARead(statement.kind, statement.node) != nil, "\(sql)")
    }
  }

  /// Why a statement (by its parse tree's node name and fields) is not a read; nil when it is one.
  static func notARead(_ kind: String, _ node: ParseNode) -> String? {
    func inner(_ wrapped: ParseNode) -> String? {
      guard case .object(let fields) = wrapped, let (kind, node) = fields.first else { return nil }
      return notARead(kind, node)
    }
    switch kind {
    case "SelectStmt":
      if node["intoClause"] != .null { return "SELECT INTO" }
      if !node["lockingClause"].array.isEmpty { return "row locks" }
      let writes = node.descendants().compactMap(\.kind).filter {
        ["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"].contains($0)
      }
      return writes.first.map { "a data-modifying \($0) inside" }
    case "VariableSetStmt", "VariableShowStmt", "DeallocateStmt", "ClosePortalStmt", "FetchStmt":
      return nil
    case "TransactionStmt":
      let allowed = [
        "TRANS_STMT_BEGIN", "TRANS_STMT_START", "TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK", "TRANS_STMT_SAVEPOINT",
        "TRANS_STMT_RELEASE", "TRANS_STMT_ROLLBACK_TO",
      ]
      let transaction = node["kind"].string ?? ""
      return allowed.contains(transaction) ? nil : transaction
    case "PrepareStmt", "DeclareCursorStmt", "ExplainStmt":
      return inner(node["query"])
    case "CopyStmt":
      if node["is_from"].bool { return "COPY FROM" }
      return inner(node["query"])
    case "LockStmt":
      // 1 is AccessShareLock, what pg_dump takes on every table it dumps.
      return node["mode"].int == 1 ? nil : "LOCK in mode \(node["mode"].int ?? 0)"
    default:
      return kind
    }
  }

  /// Three valid plans over the fuzz source, between them using every part of the plan format.
  static func templates(suffix: String) -> [String] {
    [
      """
      version: 1
      name: fuzz-shop-\(suffix)
      source: ${SRC}
      targets:
        main: ${DST}
      services:
        customers:
          database: fz_customers_\(suffix)
          tables: [public.customers]
          transforms:
            public.customers:
              where: "created_at IS NOT NULL AND email LIKE '%@%'"
              columns:
                name: { rename_to: full_name }
                domain: { add: "split_part(email, '@', 2)", type: text }
        orders:
          database: fz_orders_\(suffix)
          tables: [public.orders, public.Order Items]
          transforms:
            public.Order Items:
              where: "qty BETWEEN 0 AND 5 AND sku NOT IN ('sku-1', 'sku-2')"
            public.orders:
              columns:
                customer_id:
                  rekey: { via: public.customers, match: id, take: email, on_missing: "null" }
                  rename_to: customer_email
                status: drop
        billing:
          database: fz_billing_\(suffix)
          schemas: [billing]
      """,
      """
      source:
        url: ${SRC}
      targets:
        main:
          url: ${DST}
      services:
        shop:
          database: fz_shared_\(suffix)
          schema: shop
          tables: [public.orders, public.Order Items]
        people:
          target: main
          database: fz_shared_\(suffix)
          schema: people
          tables: public.cust*
          pool_size: 5
          min_idle: 1
          replicas: 2
          transforms:
            public.customers:
              rename_to: clients
              columns:
                created_at: drop
      """,
      """
      name: fuzz-all-\(suffix)
      source: ${SRC}
      targets:
        main: ${DST}
      services:
        everything:
          database: fz_everything_\(suffix)
          tables: [public.*]
          schemas: [billing]
          transforms:
            public.audit_log:
              where: "at >= '2024-01-02' AND what <> ''"
              columns:
                what: { rename_to: event }
                day: { add: "date_trunc('day', at)", type: timestamptz }
      """,
    ]
  }

  /// What mutations insert or put in place of a value: YAML structure, names Cleave refuses, SQL that writes or
  /// reads outside the database, and odd bytes.
  static let fragments = [
    ":", "- ", "{", "}", "[", "]", "\"", "'", "\t", "  ", "#", "&a ", "*a", "!!binary ", "~", "null", "0", "-1",
    "1e309", "${NOPE}", "${SRC}", "$$", "\\", "\u{0}", "ünïcödé", String(repeating: "x", count: 70),
    "../../escape", "Billing", "public.*", "public.nothing", "billing.*", "drop", "true", "[]", "{}",
    "lo_create(0) > 0", "pg_read_file('/etc/hostname') <> ''", "nextval('orders_id_seq') > 0",
    "true); DELETE FROM customers; --", "id > 0 -- only some", "email", "42", "now()",
    "{ add: \"clock_timestamp()\", type: timestamptz }", "{ add: \"1\", type: nosuchtype }",
    "{ rekey: { via: public.orders, match: id, take: id } }", "{ rename_to: id }", "rename_to: customers",
    "schema: Public", "target: elsewhere", "where: \"id = ANY (SELECT nextval('orders_id_seq'))\"",
  ]

  /// Filters: some that work, some that do not parse or are not boolean, and some that write or read outside the
  /// database if they ran.
  static let sqlFragments = [
    "lo_create(0) > 0", "pg_read_file('/etc/hostname') <> ''", "nextval('orders_id_seq') > 0",
    "clock_timestamp() > now()", "id IN (SELECT id FROM customers WHERE lo_create(0) > 0)",
    "true); DELETE FROM customers; --",
    "id > 0 -- only some", "id > 3", "email", "true", "id BETWEEN 1 AND 10", "lower(email) LIKE 'c1%'",
    "nosuchcolumn = 1", "id =", "(SELECT count(*) FROM orders) > 0",
  ]

  /// The fragments whose SQL would write to the source or read outside it if it ran there.
  static let hostileSQL = ["lo_create", "pg_read_file", "nextval", "clock_timestamp", "DELETE"]

  /// One to three random edits of `text`: a character deleted, a fragment inserted, a value replaced, a line
  /// deleted, duplicated, swapped or re-indented, or the file cut short.
  static func mutate(_ text: String, with generator: inout SplitMix64) -> String {
    var characters = Array(text)
    // Two plans in three only have values replaced by quoted fragments: their YAML holds, so they reach the
    // checks behind the parser. The third gets any edit, YAML structure included.
    let valuesOnly = Int.random(in: 0..<3, using: &generator) != 0
    for _ in 0..<Int.random(in: 1...3, using: &generator) {
      var lines = String(characters).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
      // A line with a value of its own on it: replacing the value of a key whose value is the block below it
      // would break the YAML.
      let withValues = lines.indices.filter { index in
        lines[index].firstIndex(of: ":").map {
          !lines[index][lines[index].index(after: $0)...].allSatisfy(\.isWhitespace)
        }
          ?? false
      }
      // One edit in four of a values-only plan puts SQL into a `where`, so that filters reach the source.
      let filters = lines.indices.filter { lines[$0].contains("where:") }
      let sql = valuesOnly && !filters.isEmpty && Int.random(in: 0..<4, using: &generator) == 0
      let line =
        sql
        ? filters.randomElement(using: &generator) ?? 0
        : valuesOnly && !withValues.isEmpty
          ? withValues.randomElement(using: &generator) ?? 0 : Int.random(in: 0..<lines.count, using: &generator)
      let fragment = (sql ? sqlFragments : fragments).randomElement(using: &generator) ?? ""
      // Most edits change a value, so that most plans are still YAML and reach the checks behind the parser.
      switch valuesOnly ? 0 : Int.random(in: 0..<20, using: &generator) {
      case 0..<8:
        // Quoted, the YAML holds and the value itself is what is wrong.
        let value =
          valuesOnly || Bool.random(using: &generator)
          ? "\""
            + fragment.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\u{0}", with: "\\0") + "\""
          : fragment
        if let colon = lines[line].firstIndex(of: ":") { lines[line] = lines[line][...colon] + " " + value }
      case 8..<11:
        if let colon = lines[line].firstIndex(of: ":") {
          let value = lines[line][lines[line].index(after: colon)...]
          let at = value.index(value.startIndex, offsetBy: Int.random(in: 0...value.count, using: &generator))
          lines[line] = lines[line][...colon] + value[..<at] + fragment + value[at...]
        }
      case 11:
        if !characters.isEmpty { characters.remove(at: Int.random(in: 0..<characters.count, using: &generator)) }
        continue
      case 12:
        characters.insert(contentsOf: fragment, at: Int.random(in: 0...characters.count, using: &generator))
        continue
      case 13, 14: lines.remove(at: line)
      case 15: lines.insert(lines[line], at: line)
      case 16: lines.swapAt(line, Int.random(in: 0..<lines.count, using: &generator))
      case 17, 18: lines[line] = Bool.random(using: &generator) ? "  " + lines[line] : String(lines[line].dropFirst(2))
      default:
        characters = Array(characters.prefix(Int.random(in: 0...characters.count, using: &generator)))
        continue
      }
      characters = Array(lines.joined(separator: "\n"))
    }
    return String(characters)
  }
}

/// A small seeded generator (SplitMix64), so a failing plan can be made again from its seed.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
