import CleaveCore
import CleaveTestSupport
import Copy
import Foundation
import PostgresDriver
import Testing

/// The whole copy on pagila: content, sequences, constraints, roles, resume after kill -9.
@Suite(.postgres, .tags(.integration)) struct CopyPagilaTests {
  static let services = """
      catalog_{s}:
        database: catalog_{s}
        tables: [public.film, public.film_actor, public.film_category, public.actor, public.category,
                 public.language, public.inventory]
      rentals_{s}:
        database: rentals_{s}
        tables: [public.rental, public.payment]
        transforms:
          public.rental:
            columns:
              last_update: drop
              staff_id: { rename_to: clerk_id }
          public.payment:
            where: amount > 1
            columns:
              customer_id:
                rekey: { via: public.customer, match: customer_id, take: email }
                rename_to: customer_email
      people_{s}:
        database: people_{s}
        tables: [public.customer, public.staff, public.store, public.address, public.city, public.country]
        transforms:
          public.customer:
            columns:
              full_name: { add: "first_name || ' ' || last_name", type: text }
    """

  static let plainTables = [
    ("catalog", "film"), ("catalog", "film_actor"), ("catalog", "film_category"), ("catalog", "actor"),
    ("catalog", "category"), ("catalog", "language"), ("catalog", "inventory"), ("people", "staff"),
    ("people", "store"), ("people", "address"), ("people", "city"), ("people", "country"),
  ]

  func fixture() async throws -> CopyFixture {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await Fixtures.pagila(in: sandbox, prefix: "copy_src")
    return try CopyFixture(sandbox: sandbox, source: source, services: Self.services)
  }

  /// Every table equal to the source (content, not counts), transformed ones equal to the transform of the source.
  func expectEqualContent(_ fixture: CopyFixture) async throws {
    for (service, table) in Self.plainTables {
      let query = "SELECT * FROM ONLY public.\(table)"
      let expected = try await CopyFixture.fingerprint(query, in: fixture.source)
      #expect(try await CopyFixture.fingerprint(query, in: fixture.database(service)) == expected, "\(table)")
    }
    let rental = try await CopyFixture.fingerprint(
      "SELECT rental_id, rental_date, inventory_id, customer_id, return_date, staff_id FROM rental", in: fixture.source)
    #expect(
      try await CopyFixture.fingerprint(
        "SELECT rental_id, rental_date, inventory_id, customer_id, return_date, clerk_id FROM rental",
        in: fixture.database("rentals")) == rental)
    let payment = try await CopyFixture.fingerprint(
      "SELECT p.payment_id, c.email, p.staff_id, p.rental_id, p.amount, p.payment_date "
        + "FROM payment p JOIN customer c USING (customer_id) WHERE p.amount > 1", in: fixture.source)
    #expect(
      try await CopyFixture.fingerprint(
        "SELECT payment_id, customer_email, staff_id, rental_id, amount, payment_date FROM payment",
        in: fixture.database("rentals")) == payment)
    let customer = try await CopyFixture.fingerprint(
      "SELECT *, first_name || ' ' || last_name FROM customer", in: fixture.source)
    #expect(try await CopyFixture.fingerprint("SELECT * FROM customer", in: fixture.database("people")) == customer)
  }

  @Test func copiesEveryServiceFaithfully() async throws {
    let fixture = try await fixture()
    defer { fixture.remove() }
    let summary = try await fixture.copy()
    #expect(summary.services.map(\.name) == ["catalog", "rentals", "people"].map { "\($0)_\(fixture.suffix)" })
    try await expectEqualContent(fixture)

    // Sequences: the source's state, value and is_called, for every sequence the service's columns use.
    let source = try await SerialConnection.connect(fixture.source)
    for (service, sequence) in [
      ("catalog", "film_film_id_seq"), ("rentals", "rental_rental_id_seq"),
      ("people", "customer_customer_id_seq"),
    ] {
      let query = "SELECT last_value, is_called FROM public.\(sequence)"
      let target = try await SerialConnection.connect(fixture.database(service))
      #expect(try await target.query(query).rows == source.query(query).rows, "\(sequence)")
    }

    // Foreign keys: those within a service exist; those across services do not.
    let owners = Dictionary(
      uniqueKeysWithValues: Self.plainTables.map { ($0.1, $0.0) }
        + [("rental", "rentals"), ("customer", "people")]
        + (1...7).map { ("payment_p2022_0\($0)", "rentals") })
    let keys = try await source.query(
      "SELECT conname, conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
        + "WHERE contype = 'f' AND conparentid = 0")
    for row in keys.rows {
      guard let name = row[0], let from = row[1], let to = row[2], let service = owners[from] else { continue }
      let target = try await SerialConnection.connect(fixture.database(service))
      let present = try await target.query("SELECT 1 FROM pg_constraint WHERE conname = $1", [name]).rows.count == 1
      #expect(present == (owners[to] == service), "\(name): \(from) -> \(to)")
    }
    // Every index of a plain table is there.
    for (service, table) in Self.plainTables {
      let query = "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = '\(table)' ORDER BY 1"
      let target = try await SerialConnection.connect(fixture.database(service))
      #expect(try await target.query(query).rows == source.query(query).rows, "indexes of \(table)")
    }
  }

  @Test func rolesHaveLeastPrivilegeAndPasswordsStayInTheSecretsFile() async throws {
    let fixture = try await fixture()
    defer { fixture.remove() }
    _ = try await fixture.copy()
    var status = stat()
    #expect(stat(fixture.secretsPath, &status) == 0)
    #expect(status.st_mode & 0o777 == 0o600)
    let secrets = try String(contentsOfFile: fixture.secretsPath, encoding: .utf8)
    func password(_ key: String) throws -> String {
      let line = try #require(secrets.split(separator: "\n").first { $0.hasPrefix(key + "=") })
      return String(line.dropFirst(key.count + 1)).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
    }
    // The application role logs in with a password (the sandbox demands one for this group).
    let admin = try await SerialConnection.connect(fixture.sandbox.connInfo())
    let catalogApp = "catalog_\(fixture.suffix)_app"
    try await admin.execute("GRANT \(PostgresSandbox.passwordGroup) TO \(catalogApp)")
    let appPassword = try password(catalogApp.uppercased() + "_PASSWORD")
    let app = try await SerialConnection.connect(
      fixture.database("catalog").with("user", catalogApp).with("password", appPassword))
    #expect(try await app.query("SELECT count(*) > 0 FROM film").scalar == "t")
    try await app.query("INSERT INTO category (name) VALUES ('Cleave')")
    try await app.query("UPDATE category SET name = 'Cleaved' WHERE name = 'Cleave'")
    let create = await #expect(throws: PostgresError.self) { try await app.execute("CREATE TABLE sneaky (id int)") }
    #expect(create?.sqlState == "42501")
    let progress = await #expect(throws: PostgresError.self) { try await app.query("SELECT * FROM _cleave.progress") }
    #expect(progress?.sqlState == "42501")
    let other = await #expect(throws: PostgresError.self) {
      try await SerialConnection.connect(
        fixture.database("rentals").with("user", catalogApp).with("password", appPassword))
    }
    #expect(other?.sqlState == "42501" || other?.message.contains("permission denied") == true)
    let wrong = await #expect(throws: PostgresError.self) {
      try await SerialConnection.connect(fixture.database("catalog").with("user", catalogApp).with("password", "x"))
    }
    #expect(wrong?.isAuthenticationFailure == true)
    // Provisioning again changes nothing and keeps the passwords.
    let again = try await fixture.split().provision()
    #expect(again.allSatisfy { $0.created.isEmpty })
    #expect(try String(contentsOfFile: fixture.secretsPath, encoding: .utf8) == secrets)
  }

  @Test func aSecondRunIsANoOpAndAReadOnlySourceRoleSuffices() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await Fixtures.pagila(in: sandbox, prefix: "copy_ro")
    let setup = try await SerialConnection.connect(source)
    let name = try #require(try await setup.query("SELECT current_database()").scalar)
    try await setup.execute(
      "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reader') THEN "
        + "CREATE ROLE reader LOGIN; END IF; END $$; GRANT pg_read_all_data TO reader")
    let before = try await CopyFixture.fingerprint("SELECT * FROM rental", in: source)
    let fixture = try CopyFixture(
      sandbox: sandbox, source: source, services: Self.services,
      sourceURL: sandbox.connInfo(database: name, user: "reader").rawValue)
    defer { fixture.remove() }
    _ = try await fixture.copy()
    try await expectEqualContent(fixture)
    let second = try await fixture.copy()
    #expect(second.services.allSatisfy { $0.tables.allSatisfy(\.resumed) })
    try await expectEqualContent(fixture)
    #expect(try await CopyFixture.fingerprint("SELECT * FROM rental", in: source) == before)
  }

  @Test func aPasswordFromThePlanIsTheOneTheRoleGets() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("pw_src")
    try await SerialConnection.connect(source).execute("CREATE TABLE notes (id int PRIMARY KEY, body text)")
    let fixture = try CopyFixture(
      sandbox: sandbox, source: source,
      services: """
          notes_{s}:
            database: notes_{s}
            app_password: ${NOTES_APP_PW}
            tables: [public.notes]
        """, environment: ["NOTES_APP_PW": "from-the-environment-42"])
    defer { fixture.remove() }
    let provisioned = try await fixture.split().provision()
    let app = try #require(provisioned.first?.roles.login)
    try await SerialConnection.connect(sandbox.connInfo()).execute(
      "GRANT \(PostgresSandbox.passwordGroup) TO \(app)")
    let connection = try await SerialConnection.connect(
      fixture.database("notes").with("user", app).with("password", "from-the-environment-42"))
    #expect(try await connection.query("SELECT current_user").scalar == app)
    let secrets = try String(contentsOfFile: fixture.secretsPath, encoding: .utf8)
    #expect(secrets.contains("='from-the-environment-42'"))
  }

  /// The `auth_schema` / `post_schema` layout: two services in one shared database, a schema each.
  @Test func servicesShareADatabaseInSchemasOfTheirOwn() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await Fixtures.pagila(in: sandbox, prefix: "shared_src")
    let fixture = try CopyFixture(
      sandbox: sandbox, source: source,
      services: """
          films_{s}:
            database: shop_{s}
            schema: films
            tables: [public.film, public.language, public.film_category, public.category]
          places_{s}:
            database: shop_{s}
            schema: places
            tables: [public.city, public.country]
        """)
    defer { fixture.remove() }
    let summary = try await fixture.copy()
    #expect(
      summary.services.map(\.database) == [
        "shop_\(fixture.suffix) (schema films)", "shop_\(fixture.suffix) (schema places)",
      ])
    let shared = fixture.database("shop")
    for (schema, table) in [
      ("films", "film"), ("films", "language"), ("films", "film_category"), ("places", "city"),
      ("places", "country"),
    ] {
      #expect(
        try await CopyFixture.fingerprint("SELECT * FROM \(schema).\(table)", in: shared)
          == CopyFixture.fingerprint("SELECT * FROM public.\(table)", in: source), "\(schema).\(table)")
    }
    let admin = try await SerialConnection.connect(shared)
    let staging = try await SerialConnection.connect(sandbox.connInfo()).query(
      "SELECT count(*) FROM pg_database WHERE datname LIKE $1", ["%\(fixture.suffix)_cleave_staging"])
    #expect(staging.scalar == "0", "staging databases are dropped after the move")
    let sequence = "SELECT last_value, is_called FROM films.film_film_id_seq"
    #expect(
      try await admin.query(sequence).rows
        == SerialConnection.connect(source).query(
          "SELECT last_value, is_called FROM public.film_film_id_seq"
        ).rows)
    // Each application role reaches its own schema only.
    let placesApp = "shop_\(fixture.suffix)_places_app"
    try await SerialConnection.connect(sandbox.connInfo()).execute(
      "GRANT \(PostgresSandbox.passwordGroup) TO \(placesApp)")
    let secrets = try String(contentsOfFile: fixture.secretsPath, encoding: .utf8)
    let key = placesApp.uppercased() + "_PASSWORD="
    let password = try #require(secrets.split(separator: "\n").first { $0.hasPrefix(key) }).dropFirst(key.count)
      .trimmingCharacters(in: CharacterSet(charactersIn: "'"))
    let app = try await SerialConnection.connect(shared.with("user", placesApp).with("password", password))
    #expect(try await app.query("SELECT count(*) > 0 FROM places.city").scalar == "t")
    let denied = await #expect(throws: PostgresError.self) { try await app.query("SELECT * FROM films.film LIMIT 1") }
    #expect(denied?.sqlState == "42501")
    let again = try await fixture.copy()
    #expect(again.services.allSatisfy { $0.tables.allSatisfy(\.resumed) })
  }
}
