import Catalog
import CleaveTestSupport
import Copy
import Foundation
import Plan
import PostgresDriver
import Testing
import Verify

/// A clean copy verifies clean; a deleted row, a changed value and a dropped table are each found and named.
@Suite(.postgres, .tags(.integration)) struct VerifierTests {
  @Test func findsWhatACopyGotWrong() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await Fixtures.pagila(in: sandbox, prefix: "verify_src")
    let temporary = try TemporaryFolder("verify")
    defer { temporary.remove() }
    let (folder, suffix) = (temporary.path, temporary.suffix)
    let plan = folder + "/cleave.yml"
    try """
    source: ${SRC}
    targets:
      main: ${DST}
    services:
      rentals_\(suffix):
        database: rentals_\(suffix)
        tables: [public.rental, public.payment]
        transforms:
          public.rental:
            rename_to: rentals
            columns:
              last_update: drop
              staff_id: { rename_to: clerk_id }
          public.payment:
            where: amount > 1
            columns:
              customer_id: { rekey: { via: public.customer, match: customer_id, take: email }, rename_to: email }
      films_\(suffix):
        database: films_\(suffix)
        tables: [public.film, public.language, public.inventory]
    """.write(toFile: plan, atomically: true, encoding: .utf8)
    let environment = ["SRC": source.flattened, "DST": sandbox.connInfo().rawValue]
    _ = try await Split(planPath: plan, environment: environment, secretsPath: folder + "/secrets.env").copy(
      jobs: 2, workDirectory: folder + "/work", splitBytes: 256 << 20, reporter: SilentProgress())

    let verifier = Verifier(plan: try await PlanLoader.resolve(path: plan, environment: environment))
    let clean = try await verifier.run()
    #expect(clean.passed, "\(clean.tables.filter { $0.status != .match })")
    // rental, the 7 payment partitions (the partitioned parent holds no rows of its own), film, language, inventory.
    #expect(clean.tables.count == 11)
    let inventoryReference = try #require(clean.references.first { $0.constraint == "rental_inventory_id_fkey" })
    #expect(inventoryReference.orphans == 0)
    let distinctInventory = try await SerialConnection.connect(source).query(
      "SELECT count(DISTINCT inventory_id) FROM rental"
    ).scalar
    #expect("\(inventoryReference.checkedValues)" == distinctInventory)

    let rentals = try await SerialConnection.connect(sandbox.connInfo(database: "rentals_\(suffix)"))
    try await rentals.execute("DELETE FROM rentals WHERE rental_id = (SELECT min(rental_id) FROM rentals)")
    let films = try await SerialConnection.connect(sandbox.connInfo(database: "films_\(suffix)"))
    try await films.execute("UPDATE film SET title = title || ' ' WHERE film_id = 7")
    try await films.execute("DROP TABLE language CASCADE")
    let orphan = try #require(try await rentals.query("SELECT inventory_id FROM rentals WHERE rental_id = 2").scalar)
    try await films.execute("DELETE FROM inventory WHERE inventory_id = \(orphan)")
    let broken = try await verifier.run()
    #expect(!broken.passed)
    func status(_ table: String) -> VerifySummary.Status? {
      broken.tables.first { $0.target.name == table }?.status
    }
    #expect(status("rentals") == .countDiffers)
    #expect(status("film") == .contentDiffers)
    #expect(status("language") == .missing)
    #expect(status("payment_p2022_03") == .match)
    let brokenReference = try #require(broken.references.first { $0.constraint == "rental_inventory_id_fkey" })
    #expect(brokenReference.orphans == 1)
    #expect(brokenReference.firstOrphans == [orphan])
  }
}

/// Services that share one database, a schema each, verify clean too: their tables, types and sequences live in
/// the service's schema, not the source's.
@Suite(.postgres, .tags(.integration)) struct VerifySharedDatabaseTests {
  @Test func servicesInSchemasOfASharedDatabaseVerifyClean() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await Fixtures.pagila(in: sandbox, prefix: "verify_shared")
    let temporary = try TemporaryFolder("verify-shared")
    defer { temporary.remove() }
    let suffix = temporary.suffix
    let plan = try temporary.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        films_\(suffix):
          database: shop_\(suffix)
          schema: films
          tables: [public.film, public.language, public.film_category, public.category]
        places_\(suffix):
          database: shop_\(suffix)
          schema: places
          tables: [public.city, public.country]
        """)
    _ = try await Split(planPath: plan, environment: [:], secretsPath: temporary.path + "/secrets.env").copy(
      jobs: 2, workDirectory: temporary.path + "/work", splitBytes: 256 << 20, reporter: SilentProgress())
    let summary = try await Verifier(plan: try await PlanLoader.resolve(path: plan, environment: [:])).run()
    #expect(summary.passed, "\(summary.tables.filter { $0.status != .match }) \(summary.schema)")
    #expect(summary.tables.map(\.target.schema).sorted().first == "films")
    #expect(summary.references.contains { $0.constraint == "city_country_id_fkey" } == false, "same service")

    let shared = try await SerialConnection.connect(sandbox.connInfo(database: "shop_\(suffix)"))
    try await shared.execute("UPDATE places.city SET city = city || '!' WHERE city_id = 3")
    let changed = try await Verifier(plan: try await PlanLoader.resolve(path: plan, environment: [:])).run()
    let city = try #require(changed.tables.first { $0.target == QualifiedName("places", "city") })
    // pagila's trigger stamps last_update on every update: both columns changed.
    #expect(city.differences?.examples.first?.columns.map(\.column) == ["city", "last_update"])
  }
}
