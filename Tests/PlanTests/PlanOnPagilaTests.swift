import Catalog
import CleaveCore
import CleaveTestSupport
import Foundation
import Plan
import PostgresDriver
import Testing

/// Plans over a real pagila: name errors with their locations, and what the analysis finds, each checked against
/// an independent query of the source.
@Suite(.postgres, .tags(.integration)) struct PlanOnPagilaTests {
  static let services = """
    services:
      catalog:
        database: catalog_db
        tables: [public.film, public.film_actor, public.film_category, public.actor, public.category,
                 public.language, public.inventory]
      rentals:
        database: rentals_db
        tables: [public.rental, public.payment]
      people:
        database: people_db
        tables: [public.customer, public.staff, public.store, public.address, public.city, public.country]

    """

  func pagila() async throws -> (ConnInfo, DatabaseCatalog) {
    let sandbox = try #require(PostgresSandbox.current)
    let info = try await Fixtures.pagila(in: sandbox, prefix: "plan")
    return (info, try await CatalogReader.read(info))
  }

  func plan(_ services: String) -> String {
    "source: 'host=unused'\ntargets:\n  main: 'host=unused'\n" + services
  }

  func resolve(_ yaml: String, catalog: DatabaseCatalog, strict: Bool = false) throws -> SplitPlan {
    let file = try PlanDecoder.decode(yaml: yaml, path: "cleave.yml")
    return try PlanResolver(file: file, catalog: catalog).resolve(strict: strict)
  }

  struct BadPlan: Sendable, CustomTestStringConvertible {
    var services: String
    var code: CleaveError.Code
    var line: Int
    var column: Int
    var hint: String?
    var testDescription: String { "\(code) at \(line):\(column)" }
  }

  // Lines count from the plan's first line; the services start on line 4.
  static let badPlans: [BadPlan] = [
    BadPlan(
      services: "services:\n  a:\n    database: a\n    tables: [public.flim]\n", code: .planUnknownTable, line: 7,
      column: 14, hint: "public.film"),
    BadPlan(
      services: "services:\n  a:\n    database: a\n    tables: [film_actor, public.nothing_*]\n",
      code: .planGlobMatchesNothing, line: 7, column: 26),
    BadPlan(
      services: "services:\n  a:\n    database: a\n    tables: [public.film]\n  b:\n    database: b\n"
        + "    tables:\n      - public.actor\n      - public.film\n",
      code: .planDuplicateOwner, line: 12, column: 9),
    BadPlan(
      services: "services:\n  a:\n    database: a\n    tables: [public.payment]\n  b:\n    database: b\n"
        + "    tables: [public.payment_p2022_03]\n",
      code: .planDuplicateOwner, line: 10, column: 14),
    BadPlan(
      services: "services:\n  a:\n    database: a\n    tables: [public.customer]\n    transforms:\n"
        + "      public.customer:\n        where: delted_at IS NULL AND active = 1\n",
      code: .planUnknownColumn, line: 10, column: 16),
    BadPlan(
      services: "services:\n  a:\n    database: a\n    tables: [public.customer]\n    transforms:\n"
        + "      public.customer:\n        where: active = = 1\n",
      code: .planInvalidTransform, line: 10, column: 16),
    BadPlan(
      services: "services:\n  a:\n    database: a\n    tables: [public.payment]\n    transforms:\n"
        + "      public.payment:\n        columns:\n          customer_id:\n"
        + "            rekey: { via: public.customer, match: customer_id, take: emial }\n",
      code: .planUnknownColumn, line: 12, column: 70, hint: "email"),
    BadPlan(
      services: "services:\n  a:\n    database: a\n    tables: [public.payment]\n    transforms:\n"
        + "      public.payment:\n        columns:\n          amonut: drop\n",
      code: .planUnknownColumn, line: 11, column: 11, hint: "amount"),
    BadPlan(
      services: "services:\n  a:\n    database: a\n    target: mian\n    tables: [public.film]\n",
      code: .planUnknownTarget, line: 7, column: 13, hint: "main"),
    BadPlan(
      services: "services:\n  a:\n    database: shared\n    tables: [public.film]\n  b:\n    database: shared\n"
        + "    tables: [public.actor]\n",
      code: .planDuplicateDestination, line: 8, column: 3),
    BadPlan(
      services: "services:\n  a:\n    database: a\n    schemas: [pubic]\n", code: .planUnknownSchema, line: 7,
      column: 15, hint: "public"),
    BadPlan(
      services: "services:\n  a:\n    database: a\n    tables: [public.actor_info]\n", code: .planUnknownTable,
      line: 7, column: 14, hint: "is a view"),
  ]

  @Test(arguments: badPlans)
  func namesThatDoNotExistArePointedAt(_ bad: BadPlan) async throws {
    let (_, catalog) = try await pagila()
    let error = #expect(throws: CleaveError.self) { try resolve(plan(bad.services), catalog: catalog) }
    #expect(error?.code == bad.code)
    #expect(error?.location?.line == bad.line)
    #expect(error?.location?.column == bad.column)
    if let hint = bad.hint {
      #expect(
        (error?.hint ?? "").contains(hint) || (error?.message ?? "").contains(hint), "\(String(describing: error))")
    }
  }

  @Test func servicesMayShareADatabaseInSchemasOfTheirOwn() async throws {
    let (_, catalog) = try await pagila()
    let resolved = try resolve(
      plan(
        "services:\n  a:\n    database: shared\n    schema: a_schema\n    tables: [public.film]\n"
          + "  b:\n    database: shared\n    schema: b_schema\n    tables: [public.actor]\n"),
      catalog: catalog)
    #expect(resolved.services.map(\.schema) == ["a_schema", "b_schema"])
  }

  @Test func strictRefusesUnownedTables() async throws {
    let (_, catalog) = try await pagila()
    let error = #expect(throws: CleaveError.self) {
      try resolve(plan("services:\n  a:\n    database: a\n    tables: [public.film]\n"), catalog: catalog, strict: true)
    }
    #expect(error?.code == .planUnownedTables)
    #expect(error?.exitStatus == .planInvalid)
  }

  @Test func ownershipFollowsPlanAndPartitionTrees() async throws {
    let (info, catalog) = try await pagila()
    let resolved = try resolve(plan(Self.services), catalog: catalog, strict: true)
    let check = try await SerialConnection.connect(info)
    let partitions = try await check.query(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        + "WHERE i.inhparent = 'public.payment'::regclass")
    #expect(!partitions.rows.isEmpty)
    for row in partitions.rows {
      #expect(resolved.owner(of: QualifiedName("public", row[0] ?? "")) == "rentals")
    }
    #expect(resolved.unowned.isEmpty)
  }

  @Test func analysisFindsSoftReferencesAndCrossingsIndependentlyConfirmed() async throws {
    let (info, catalog) = try await pagila()
    let resolved = try resolve(plan(Self.services), catalog: catalog)
    let analysis = PlanAnalyzer(plan: resolved, catalog: catalog, statements: nil).analyze()
    let check = try await SerialConnection.connect(info)

    // Soft references: every declared foreign key whose two tables land in different services.
    let owner: [String: String] = Dictionary(
      uniqueKeysWithValues: resolved.services.flatMap { service in service.tables.map { ($0.name, service.name) } })
    let keys = try await check.query(
      "SELECT conname, conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
        + "WHERE contype = 'f' AND conparentid = 0")
    let expected = Set(
      keys.rows.compactMap { row -> String? in
        guard let name = row[0], let from = row[1], let to = row[2], owner[from] != owner[to] else { return nil }
        return name
      })
    #expect(!expected.isEmpty)
    #expect(Set(analysis.softReferences.map(\.constraint)) == expected)

    // Views: those whose tables (view_table_usage, following views) belong to two or more services.
    let usage = try await check.query(
      """
      WITH RECURSIVE reads(view, rel) AS (
        SELECT view_name::text, table_name::text FROM information_schema.view_table_usage
        UNION SELECT r.view, u.table_name::text FROM reads r
          JOIN information_schema.view_table_usage u ON u.view_name = r.rel)
      SELECT view, rel FROM reads
      """)
    var viewServices: [String: Set<String>] = [:]
    for row in usage.rows {
      if let view = row[0], let rel = row[1], let service = owner[rel] {
        viewServices[view, default: []].insert(service)
      }
    }
    let crossingViews = Set(viewServices.filter { $0.value.count > 1 }.keys)
    #expect(crossingViews.contains("sales_by_store"))
    #expect(
      Set(
        analysis.crossingViews.filter { $0.kind == "view" }.map {
          $0.name.split(separator: ".").last.map(String.init) ?? ""
        })
        == crossingViews.subtracting(["rental_by_category"]))

    // Functions: inventory_in_stock reads inventory (catalog) and rental (rentals), found by parsing its body.
    let inStock = try #require(analysis.crossingFunctions.first { $0.name.hasPrefix("public.inventory_in_stock") })
    #expect(Set(inStock.services.keys) == ["catalog", "rentals"])
    #expect(inStock.evidence == "parsed")
    #expect(analysis.services.map(\.name) == ["catalog", "rentals", "people"])
    let rentalsSize = try await check.query(
      "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('public.payment') "
        + "UNION ALL SELECT pg_total_relation_size('public.rental')")
    let total = rentalsSize.rows.compactMap { $0[0].flatMap { Int64($0) } }.reduce(0, +)
    #expect(analysis.services[1].sizeBytes == total)
  }

  @Test func brokenQueriesComeFromPgStatStatements() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let (info, _) = try await pagila()
    let app = try await SerialConnection.connect(info)
    try await app.execute("CREATE EXTENSION pg_stat_statements")
    try await app.query("SELECT pg_stat_statements_reset()")
    // Sent as an application sends them: Cleave's own statements are marked, and left out of the report.
    let crossing = "SELECT c.email, count(*) FROM customer c JOIN rental r ON r.customer_id = c.customer_id GROUP BY 1"
    for _ in 0..<3 { try await sandbox.psql(crossing, in: info) }
    try await sandbox.psql("SELECT title FROM film WHERE film_id = 7", in: info)
    try await sandbox.psql("SELECT count(*) FROM film_actor fa JOIN actor a USING (actor_id)", in: info)

    let folder = NSTemporaryDirectory() + "cleave-plan-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/cleave.yml"
    try ("source:\n  url: ${SRC}\ntargets:\n  main:\n    url: ${DST}\n" + Self.services).write(
      toFile: path, atomically: true, encoding: .utf8)
    let analysis = try await Planner(
      planPath: path, environment: ["SRC": info.flattened, "DST": sandbox.connInfo().rawValue]
    ).run()
    #expect(analysis.brokenQueries.available)
    let broken = analysis.brokenQueries.queries
    let join = try #require(broken.first { $0.query.contains("JOIN rental") })
    #expect(join.calls == 3)
    #expect(Set(join.services.keys) == ["people", "rentals"])
    #expect(!broken.contains { $0.query.contains("FROM film WHERE") })
    #expect(!broken.contains { $0.query.contains("film_actor") })
  }
}
