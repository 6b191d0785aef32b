import Catalog
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// Every figure is checked against an independent query (information_schema or a different catalog path),
/// never against a number written here.
@Suite(.postgres, .tags(.integration)) struct CatalogReaderTests {
  func pagila() async throws -> (DatabaseCatalog, SerialConnection) {
    let sandbox = try #require(PostgresSandbox.current)
    let info = try await Fixtures.pagila(in: sandbox)
    let check = try await SerialConnection.connect(info)
    try await check.execute("ANALYZE")
    return (try await CatalogReader.read(info), check)
  }

  func set(_ connection: SerialConnection, _ sql: String) async throws -> Set<String> {
    Set(try await connection.query(sql).rows.map { $0.compactMap { $0 }.joined(separator: ".") })
  }

  @Test func tablesMatchInformationSchema() async throws {
    let (catalog, check) = try await pagila()
    let expected = try await set(
      check,
      "SELECT table_schema, table_name FROM information_schema.tables "
        + "WHERE table_type IN ('BASE TABLE', 'FOREIGN') AND table_schema NOT IN ('pg_catalog', 'information_schema')")
    #expect(Set(catalog.tables.map { "\($0.name.schema).\($0.name.name)" }) == expected)
    #expect(!expected.isEmpty)
  }

  @Test func columnsTypesAndNullabilityMatchInformationSchema() async throws {
    let (catalog, check) = try await pagila()
    let expected = try await set(
      check,
      "SELECT table_schema, table_name, column_name, is_nullable FROM information_schema.columns c "
        + "JOIN information_schema.tables t USING (table_schema, table_name) WHERE t.table_type = 'BASE TABLE' "
        + "AND table_schema = 'public'")
    let actual = Set(
      catalog.tables.flatMap { table in
        table.columns.map { "\(table.name.schema).\(table.name.name).\($0.name).\($0.notNull ? "NO" : "YES")" }
      })
    #expect(actual == expected)
    let rating = try #require(catalog.table(QualifiedName("public", "film"))?.column("rating"))
    #expect(rating.userTypes == [QualifiedName("public", "mpaa_rating")])
  }

  @Test func foreignKeysMatchInformationSchema() async throws {
    let (catalog, check) = try await pagila()
    // Keys declared on the table itself; the copies PostgreSQL clones onto partitions are not reported twice.
    let expected = try await set(
      check,
      "SELECT tc.table_name, tc.constraint_name FROM information_schema.table_constraints tc "
        + "JOIN pg_constraint c ON c.conname = tc.constraint_name AND c.conrelid = to_regclass(quote_ident(tc.table_schema) || '.' || quote_ident(tc.table_name)) "
        + "WHERE tc.constraint_type = 'FOREIGN KEY' AND c.conparentid = 0")
    #expect(Set(catalog.foreignKeys.map { "\($0.table.name).\($0.name)" }) == expected)
    let primaryKeys = try await set(
      check,
      "SELECT table_name FROM information_schema.table_constraints WHERE constraint_type = 'PRIMARY KEY' "
        + "AND table_schema = 'public'")
    #expect(Set(catalog.tables.filter { $0.primaryKey != nil }.map(\.name.name)) == primaryKeys)
  }

  @Test func partitionsAndSequencesMatchTheCatalog() async throws {
    let (catalog, check) = try await pagila()
    let partitions = try await set(
      check,
      "SELECT relid::regclass::text FROM pg_partition_tree('public.payment') WHERE relid <> 'public.payment'::regclass")
    #expect(
      Set(catalog.partitions(of: QualifiedName("public", "payment")).map(\.description)).count == partitions.count)
    #expect(!partitions.isEmpty)
    #expect(catalog.table(QualifiedName("public", "payment"))?.kind == .partitioned)

    let sequences = try await set(
      check, "SELECT sequence_schema, sequence_name FROM information_schema.sequences")
    #expect(Set(catalog.sequences.map { "\($0.name.schema).\($0.name.name)" }) == sequences)
    let owned = try await set(
      check,
      "SELECT s.relname, t.relname FROM pg_class s JOIN pg_depend d ON d.objid = s.oid AND d.deptype = 'a' "
        + "JOIN pg_class t ON t.oid = d.refobjid WHERE s.relkind = 'S'")
    #expect(
      Set(catalog.sequences.compactMap { s in s.ownedBy.map { "\(s.name.name).\($0.table.name)" } }) == owned)
  }

  @Test func typesViewsFunctionsTriggersAndExtensions() async throws {
    let (catalog, check) = try await pagila()
    let enums = try await set(check, "SELECT DISTINCT enumtypid::regtype::text FROM pg_enum")
    #expect(Set(catalog.types.filter { $0.kind == .enum }.map(\.name.name)) == enums)
    let domains = try await set(
      check, "SELECT domain_name FROM information_schema.domains WHERE domain_schema = 'public'")
    #expect(Set(catalog.types.filter { $0.kind == .domain }.map(\.name.name)) == domains)
    #expect(domains.contains("bıgınt"))

    let views = try await set(
      check,
      "SELECT table_name FROM information_schema.views WHERE table_schema = 'public' UNION "
        + "SELECT matviewname FROM pg_matviews WHERE schemaname = 'public'")
    #expect(Set(catalog.views.map(\.name.name)) == views)
    let viewTables = try await set(
      check,
      "SELECT DISTINCT table_name FROM information_schema.view_table_usage WHERE view_name = 'customer_list'")
    let customerList = try #require(catalog.views.first { $0.name.name == "customer_list" })
    #expect(Set(customerList.reads.map(\.name)) == viewTables)

    let routines = try await set(
      check, "SELECT p.oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'")
    #expect(catalog.functions.count == routines.count)
    let triggers = try await set(
      check, "SELECT DISTINCT event_object_table, trigger_name FROM information_schema.triggers")
    #expect(Set(catalog.triggers.map { "\($0.table.name).\($0.name)" }) == triggers)
    let extensions = try await set(check, "SELECT extname FROM pg_extension")
    #expect(Set(catalog.extensions.map(\.name)) == extensions)
  }

  @Test func sizesAndRowEstimatesComeFromTheServer() async throws {
    let (catalog, check) = try await pagila()
    let film = try #require(catalog.table(QualifiedName("public", "film")))
    let count = try await check.query("SELECT count(*) FROM public.film").scalar
    #expect(film.rowEstimate.map { "\($0)" } == count)
    let size = try await check.query("SELECT pg_total_relation_size('public.film')").scalar
    #expect("\(film.sizeBytes)" == size)
    let payments = try await check.query("SELECT count(*) FROM public.payment").scalar
    #expect(try #require(catalog.table(QualifiedName("public", "payment"))).rowEstimate.map { "\($0)" } == payments)
  }

  @Test func identifiersOfAnyShapeAndEveryTableKind() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let info = try await sandbox.makeDatabase("shapes")
    let setup = try await SerialConnection.connect(info)
    try await setup.execute(
      """
      CREATE SCHEMA "Sales Data";
      CREATE TABLE "Sales Data"."Order Items" ("Item ID" int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        "naïve" text COLLATE "C", qty int, total int GENERATED ALWAYS AS (qty * 2) STORED);
      CREATE UNLOGGED TABLE public.scratch (id serial PRIMARY KEY);
      CREATE TABLE public.parent (id int);
      CREATE TABLE public.child (extra text) INHERITS (public.parent);
      CREATE TABLE public.refs (id int REFERENCES "Sales Data"."Order Items");
      """)
    let catalog = try await CatalogReader.read(info)
    let items = try #require(catalog.table(QualifiedName("Sales Data", "Order Items")))
    #expect(items.name.description == "\"Sales Data\".\"Order Items\"")
    #expect(items.column("Item ID")?.identity == .always)
    #expect(items.column("total")?.generatedExpression == "(qty * 2)")
    #expect(items.column("naïve")?.collation == "pg_catalog.\"C\"")
    #expect(catalog.table(QualifiedName("public", "scratch"))?.persistence == .unlogged)
    // Never analysed: the server does not know, and neither does the catalog.
    #expect(catalog.table(QualifiedName("public", "scratch"))?.rowEstimate == nil)
    #expect(catalog.table(QualifiedName("public", "child"))?.inheritsFrom == [QualifiedName("public", "parent")])
    #expect(catalog.foreignKeys.first?.referencedTable == items.name)
    let data = try JSONEncoder().encode(catalog)
    let decoded = try JSONDecoder().decode(DatabaseCatalog.self, from: data)
    #expect(decoded.tables == catalog.tables)
  }

  /// Hard case 1: identity sequences must be found and tied to their column (pgcopydb #280, #310, #777), and
  /// sequences shared between tables must show every user.
  @Test func identityAndSharedSequencesAreTiedToTheirColumns() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let info = try await sandbox.makeDatabase("sequences")
    let setup = try await SerialConnection.connect(info)
    try await setup.execute(
      """
      CREATE TABLE a (id int GENERATED ALWAYS AS IDENTITY, v text);
      INSERT INTO a (v) SELECT 'x' FROM generate_series(1, 3);
      CREATE SEQUENCE s_unused;
      CREATE SEQUENCE shared_ids;
      CREATE TABLE orders (id bigint DEFAULT nextval('shared_ids') PRIMARY KEY);
      CREATE TABLE invoices (id bigint DEFAULT nextval('shared_ids') PRIMARY KEY);
      SELECT nextval('shared_ids');
      """)
    let catalog = try await CatalogReader.read(info)
    let identity = try #require(catalog.sequences.first { $0.ownedBy?.table == QualifiedName("public", "a") })
    let expectedName = try await setup.query("SELECT pg_get_serial_sequence('public.a', 'id')").scalar
    #expect(identity.name.quoted.replacingOccurrences(of: "\"", with: "") == expectedName)
    #expect(identity.ownedBy?.column == "id")
    #expect(identity.lastValue == 3)
    let unused = try #require(catalog.sequences.first { $0.name.name == "s_unused" })
    #expect(unused.lastValue == nil)
    #expect(unused.ownedBy == nil)
    let shared = try #require(catalog.sequences.first { $0.name.name == "shared_ids" })
    #expect(shared.usedBy.map(\.table.name) == ["invoices", "orders"])
  }
}
