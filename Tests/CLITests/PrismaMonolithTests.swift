import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// A Prisma team's path through Cleave on a monolith the tests build (`PrismaShop`): split it, then give each
/// service its own migrations (issue 13).
@Suite(.postgres, .tags(.integration)) struct PrismaMonolithTests {
  func shop(_ name: String, item: String = PrismaShop.itemFilter) async throws -> TestSplit {
    try await #require(PostgresSandbox.current).split(name, sourceSQL: PrismaShop.sql) {
      PrismaShop.services(suffix: $0, item: item)
    }
  }

  /// `Order` is filtered and `Item`, in the same service, references it: `plan` says which key would break and
  /// how to fix it, at `Order`'s `where`, before anything is copied (the copy failed at the end, with pg_restore's
  /// TOC text).
  @Test func planSaysWhichForeignKeyAFilterBreaks() async throws {
    let shop = try await shop("prisma_orphans", item: "rename_to: Item")
    defer { shop.folder.remove() }
    let plan = try await CLIRunner.run(["plan", "-f", shop.plan])
    #expect(plan.status == ExitStatus.planInvalid.rawValue, "\(plan.stdout)\(plan.stderr)")
    #expect(plan.stderr.contains("error[CLV1017]") && plan.stderr.contains("Item_orderId_fkey"), "\(plan.stderr)")
    #expect(plan.stderr.contains("on_orphan: drop"), "\(plan.stderr)")
    let line = try #require(
      try String(contentsOfFile: shop.plan, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        .firstIndex { $0.contains("\"deletedAt\" IS NULL'") && !$0.contains("orderId") })
    #expect(plan.stderr.contains("cleave.yml:\(line + 1):"), "\(plan.stderr)")
  }

  /// A re-keyed column (`on_missing: error`) on a table whose orphans are dropped: the check for unmatched values
  /// reads the rows through the orphan rule's filter, which names the source table `s` (the copy failed with
  /// "missing FROM-clause entry for table s"; `make demo`'s payments found it).
  @Test func aRekeyOnATableWhoseOrphansAreDroppedCopies() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let split = try await sandbox.split(
      "rekey_orphans",
      sourceSQL: """
        CREATE TABLE owner (id int PRIMARY KEY, email text UNIQUE NOT NULL);
        CREATE TABLE parent (id int PRIMARY KEY, kept boolean NOT NULL);
        CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent, owner_id int REFERENCES owner);
        INSERT INTO owner SELECT i, 'o' || i || '@example.com' FROM generate_series(1, 5) i;
        INSERT INTO parent SELECT i, i % 2 = 0 FROM generate_series(1, 10) i;
        INSERT INTO child SELECT i, 1 + i % 10, 1 + i % 5 FROM generate_series(1, 40) i;
        """
    ) { suffix in
      """
      kids:
        database: kids_\(suffix)
        tables: [public.parent, public.child]
        transforms:
          public.parent:
            where: kept
          public.child:
            on_orphan: drop
            columns:
              owner_id:
                rekey: { via: public.owner, match: id, take: email, on_missing: error }
                rename_to: owner_email
      people:
        database: people_\(suffix)
        tables: [public.owner]
      """
    }
    defer { split.folder.remove() }
    let copy = try await CLIRunner.run(["copy", "-f", split.plan])
    #expect(copy.status == 0, "\(copy.stdout)\(copy.stderr)")
    let target = try await SerialConnection.connect(sandbox.connInfo(database: "kids_\(split.suffix)"))
    defer { Task { await target.close() } }
    #expect(try await target.query("SELECT count(*) FROM child").scalar == "20")
    #expect(try await target.query("SELECT count(*) FROM child WHERE owner_email LIKE 'o%@example.com'").scalar == "20")
    let verify = try await CLIRunner.run(["verify", "-f", split.plan])
    #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
  }

  /// What `on_orphan` does to the items of left-out orders.
  ///
  /// `drop` leaves them out; `keep-as-soft-reference` keeps every item and does not create the key. Both copy and
  /// verify cleanly.
  @Test(arguments: ["on_orphan: drop", "on_orphan: keep-as-soft-reference"])
  func onOrphanSaysWhatHappensToTheChildren(_ rule: String) async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let shop = try await shop("prisma_on_orphan", item: rule)
    defer { shop.folder.remove() }
    let copy = try await CLIRunner.run(["copy", "-f", shop.plan])
    #expect(copy.status == 0, "\(copy.stderr)")
    let verify = try await CLIRunner.run(["verify", "-f", shop.plan])
    #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    let source = try await SerialConnection.connect(shop.source)
    let orders = try await SerialConnection.connect(sandbox.connInfo(database: "orders_\(shop.suffix)"))
    let kept = try await orders.query("SELECT count(*) FROM \"Item\"").scalar
    let keys = try await orders.query("SELECT count(*) FROM pg_constraint WHERE contype = 'f'").scalar
    if rule.hasSuffix("drop") {
      let expected = try await source.query(
        #"SELECT count(*) FROM "Item" i JOIN "Order" o ON o.id = i."orderId" WHERE o."deletedAt" IS NULL"#
      ).scalar
      #expect(kept == expected && kept != "900", "\(kept ?? "")")
      #expect(keys == "1")
    } else {
      #expect(kept == "900")
      #expect(keys == "0", "the key is not created")
    }
  }

  /// `migrate baseline` makes the history table as the service's owner role, which runs the migrations, so
  /// lint, deploy and its dry run work after it (they failed with `permission denied for table
  /// _prisma_migrations`, exit 70).
  @Test func afterABaselineTheServicesMigrationsRun() async throws {
    let shop = try await shop("prisma_baseline")
    defer { shop.folder.remove() }
    let copy = try await CLIRunner.run(["copy", "-f", shop.plan])
    #expect(copy.status == 0, "\(copy.stderr)")
    let baseline = try await CLIRunner.run(["migrate", "baseline", "-f", shop.plan])
    #expect(baseline.status == 0, "\(baseline.stdout)\(baseline.stderr)")
    let new = try await CLIRunner.run(["migrate", "new", "add_nickname", "-f", shop.plan, "--service", "identity"])
    #expect(new.status == 0, "\(new.stderr)")
    let file = new.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    try "SET lock_timeout = '5s';\nALTER TABLE \"User\" ADD COLUMN \"nickname\" TEXT;\n".write(
      toFile: file, atomically: true, encoding: .utf8)
    for command in [["lint"], ["deploy", "--dry-run"], ["deploy"], ["status"]] {
      let run = try await CLIRunner.run(["migrate"] + command + ["-f", shop.plan])
      #expect(run.status == 0, "migrate \(command.joined(separator: " ")): \(run.stdout)\(run.stderr)")
    }
    let identity = try await SerialConnection.connect(
      try #require(PostgresSandbox.current).connInfo(database: "identity_\(shop.suffix)"))
    #expect(
      try await identity.query("SELECT tableowner FROM pg_tables WHERE tablename = '_prisma_migrations'").scalar
        == "identity_\(shop.suffix)_owner")
    #expect(
      try await identity.query("SELECT count(*) FROM information_schema.columns WHERE column_name = 'nickname'")
        .scalar == "1")
  }

  /// Each service database gets the enums and extensions its own tables use, and nothing of the monolith's
  /// others: so a target admin that is not a superuser can copy it (the monolith's `pg_stat_statements` needs
  /// one), and its baseline builds an empty database as that admin (`migrate drift`).
  @Test func eachServiceGetsOnlyTheTypesAndExtensionsItsTablesUse() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let shop = try await shop("prisma_lean")
    defer { shop.folder.remove() }
    let admin = "cleave_admin_\(shop.suffix)"
    let superuser = try await SerialConnection.connect(sandbox.connInfo())
    try await superuser.execute("CREATE ROLE \(admin) LOGIN CREATEDB CREATEROLE")
    // The same plan, with a target admin that is not a superuser.
    let text = try String(contentsOfFile: shop.plan, encoding: .utf8)
      .replacingOccurrences(of: sandbox.connInfo().rawValue, with: sandbox.connInfo(user: admin).rawValue)
    try text.write(toFile: shop.plan, atomically: true, encoding: .utf8)
    let copy = try await CLIRunner.run(["copy", "-f", shop.plan])
    #expect(copy.status == 0, "\(copy.stderr)")
    let expected: [(service: String, enums: [String], extensions: [String])] = [
      ("identity", ["Role"], ["citext"]),
      // The re-key takes the user's email, a citext.
      ("orders", ["OrderStatus"], ["citext"]),
      ("support", ["TicketPriority"], []),
      ("search", [], ["pg_trgm"]),
    ]
    for (service, enums, extensions) in expected {
      let database = try await SerialConnection.connect(sandbox.connInfo(database: "\(service)_\(shop.suffix)"))
      let foundEnums = try await database.query(
        "SELECT typname FROM pg_type WHERE typtype = 'e' ORDER BY 1"
      ).rows.compactMap { $0[0] }
      let foundExtensions = try await database.query(
        "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1"
      ).rows.compactMap { $0[0] }
      #expect(foundEnums == enums, "\(service)")
      #expect(foundExtensions == extensions, "\(service)")
      await database.close()
    }
    let verify = try await CLIRunner.run(["verify", "-f", shop.plan])
    #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    let baseline = try await CLIRunner.run(["migrate", "baseline", "-f", shop.plan])
    #expect(baseline.status == 0, "\(baseline.stdout)\(baseline.stderr)")
    let support = try String(
      contentsOfFile: shop.folder.path + "/migrations/support/00000000000000_baseline/migration.sql", encoding: .utf8)
    #expect(!support.contains("EXTENSION") && !support.contains("\"Role\""), "\(support)")
    let drift = try await CLIRunner.run(["migrate", "drift", "-f", shop.plan])
    #expect(drift.status == 0, "\(drift.stdout)\(drift.stderr)")
  }

  /// After copy and verify have read the source, "queries that will break" lists the application's queries
  /// only: none of Cleave's own (checksums, COPY, the soft-reference scans, which read two services' tables);
  /// and a query inside one service that names a column the plan re-keys is on it, saying so.
  @Test func queriesThatWillBreakAreTheApplicationsOnly() async throws {
    let shop = try await shop("prisma_queries")
    defer { shop.folder.remove() }
    #expect(try await CLIRunner.run(["copy", "-f", shop.plan]).status == 0)
    #expect(try await CLIRunner.run(["verify", "-f", shop.plan]).status == 0)
    // The application's one query across two services, sent as an application sends it.
    try await #require(PostgresSandbox.current).psql(
      #"SELECT count(*) FROM "SupportTicket" t JOIN "User" u ON u.id = t."userId" WHERE u.role = 'ADMIN'"#,
      in: shop.source)
    try await #require(PostgresSandbox.current).psql(
      #"SELECT "userId", sum(total) FROM "Order" GROUP BY 1"#, in: shop.source)
    let plan = try await CLIRunner.run(["plan", "-f", shop.plan, "--format", "json"])
    #expect(plan.status == 0, "\(plan.stderr)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
    let broken = try #require(json["brokenQueries"] as? [String: Any])
    let queries = broken["queries"] as? [[String: Any]] ?? []
    let texts = queries.compactMap { $0["query"] as? String }
    #expect(texts.count == 2, "\(texts)")
    #expect(texts.contains { $0.contains("SupportTicket") }, "\(texts)")
    // Inside one service, but it names the column the plan re-keys.
    let rekeyed = queries.first { ($0["query"] as? String)?.contains("sum(total)") == true }
    let changes = rekeyed?["changes"] as? [String] ?? []
    #expect(changes.contains { $0.contains("\"userId\" is re-keyed") }, "\(String(describing: rekeyed))")
  }

  /// A reference re-keyed on the way (`Order.userId` becomes `userEmail`, the user's email) is checked in its
  /// re-keyed form: every email in orders is a user's email in identity (it was listed, then skipped by verify).
  @Test func verifyChecksAReKeyedReferenceAsReKeyed() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let shop = try await shop("prisma_rekeyed")
    defer { shop.folder.remove() }
    #expect(try await CLIRunner.run(["copy", "-f", shop.plan]).status == 0)
    func reference() async throws -> (status: Int32, entry: [String: Any]?) {
      let verify = try await CLIRunner.run(["verify", "-f", shop.plan, "--format", "json"])
      let json = try JSONSerialization.jsonObject(with: Data(verify.stdout.utf8)) as? [String: Any]
      let references = json?["references"] as? [[String: Any]] ?? []
      return (verify.status, references.first { ($0["constraint"] as? String) == "Order_userId_fkey" })
    }
    let clean = try await reference()
    #expect(clean.status == 0)
    #expect((clean.entry?["checkedValues"] as? Int ?? 0) > 0, "\(String(describing: clean.entry))")
    #expect(clean.entry?["orphans"] as? Int == 0)
    // A user whose email changed in identity: the orders that carry the old email now point at nobody.
    let identity = try await SerialConnection.connect(sandbox.connInfo(database: "identity_\(shop.suffix)"))
    try await identity.execute(#"UPDATE "User" SET email = 'moved@example.com' WHERE id = 2"#)
    let broken = try await reference()
    #expect(broken.status == ExitStatus.verificationFailed.rawValue)
    #expect(broken.entry?["orphans"] as? Int == 1, "\(String(describing: broken.entry))")
  }

  /// Before the split, the services' databases do not exist: `migrate status` says so (CLV2005), not "check that
  /// the server is running"; and a baseline into a folder that already holds migrations is refused with a code of
  /// the migrations family (CLVA005).
  @Test func aMissingDatabaseAndASecondBaselineSayWhatTheyAre() async throws {
    let shop = try await shop("prisma_missing")
    defer { shop.folder.remove() }
    try FileManager.default.createDirectory(
      atPath: shop.folder.path + "/migrations/support", withIntermediateDirectories: true)
    let status = try await CLIRunner.run(["migrate", "status", "-f", shop.plan, "--service", "support"])
    #expect(status.status == ExitStatus.connectionFailed.rawValue, "\(status.stdout)\(status.stderr)")
    #expect(status.stderr.contains("error[CLV2005]") && status.stderr.contains("does not exist"), "\(status.stderr)")
    #expect(!status.stderr.contains("server is running"), "\(status.stderr)")
    #expect(try await CLIRunner.run(["copy", "-f", shop.plan]).status == 0)
    let arguments = ["migrate", "baseline", "-f", shop.plan, "--service", "support"]
    #expect(try await CLIRunner.run(arguments).status == 0)
    let again = try await CLIRunner.run(arguments)
    #expect(again.status == ExitStatus.migrationFailed.rawValue, "\(again.stderr)")
    #expect(
      again.stderr.contains("error[CLVA005]") && again.stderr.contains("already holds 1 migration"), "\(again.stderr)")
  }

  /// `cleave init` on the shop: the migration history is no service's data, `User` and `Profile` (one-to-one)
  /// stay together, the target has no default (it was the source's own server), and every tie it cut is listed.
  @Test func initLeavesHistoriesOutAndKeepsOneToOnePairsTogether() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("prisma_init_src")
    try await SerialConnection.connect(source).execute(PrismaShop.sql)
    let folder = try TemporaryFolder("prisma_init")
    defer { folder.remove() }
    let path = folder.path + "/cleave.yml"
    let initialized = try await CLIRunner.run(["init", source.flattened, "-o", path])
    #expect(initialized.status == 0, "\(initialized.stderr)")
    let yaml = try String(contentsOfFile: path, encoding: .utf8)
    #expect(!yaml.contains("- public._prisma_migrations") && yaml.contains("# left out: public._prisma_migrations"))
    #expect(yaml.contains("url: '${CLEAVE_TARGET_URL}'\n") && !yaml.contains(":-"), "\(yaml)")
    #expect(yaml.contains("# ties cut between services"), "\(yaml)")
    #expect(yaml.contains("    migrations: migrations/"), "each service has a migrations folder of its own")
    let unset = try await CLIRunner.run(["plan", "-f", path])
    #expect(unset.stderr.contains("CLV1014") && unset.stderr.contains("CLEAVE_TARGET_URL"), "\(unset.stderr)")
    let plan = try await CLIRunner.run(
      ["plan", "-f", path, "--format", "json"], environment: ["CLEAVE_TARGET_URL": sandbox.connInfo().rawValue])
    #expect(plan.status == 0, "\(plan.stderr)\n\(yaml)")
    let json = try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any]
    let services = json?["services"] as? [[String: Any]] ?? []
    func service(of table: String) -> String? {
      services.first { service in
        (service["tables"] as? [[String: Any]] ?? []).contains {
          (($0["name"] as? [String: Any])?["name"] as? String) == table
        }
      }?["name"] as? String
    }
    #expect(service(of: "User") != nil && service(of: "User") == service(of: "Profile"), "\(yaml)")
    #expect(service(of: "_prisma_migrations") == nil)
  }

  /// `migrate deploy` makes a service database that is not there yet, as Prisma does, provisioned as `cleave
  /// provision` makes it (the migrations run as its owner role); `--no-create-database` leaves it missing and says
  /// so (CLV2005).
  @Test func deployCreatesAServiceDatabaseThatIsNotThereYet() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let shop = try await shop("prisma_create")
    defer { shop.folder.remove() }
    for service in ["support", "search"] {
      let folder = shop.folder.path + "/migrations/\(service)/20240101000000_init"
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      try "CREATE TABLE \"Note\" (id int PRIMARY KEY);\n".write(
        toFile: folder + "/migration.sql", atomically: true, encoding: .utf8)
    }
    let refused = try await CLIRunner.run(
      ["migrate", "deploy", "-f", shop.plan, "--service", "search", "--no-create-database"])
    #expect(refused.status == ExitStatus.connectionFailed.rawValue && refused.stderr.contains("CLV2005"), "\(refused)")
    let deployed = try await CLIRunner.run(["migrate", "deploy", "-f", shop.plan, "--service", "support"])
    #expect(deployed.status == 0, "\(deployed.stdout)\(deployed.stderr)")
    #expect(deployed.stderr.contains("created the database of \"support\""), "\(deployed.stderr)")
    let support = try await SerialConnection.connect(sandbox.connInfo(database: "support_\(shop.suffix)"))
    #expect(
      try await support.query("SELECT tableowner FROM pg_tables WHERE tablename = 'Note'").scalar
        == "support_\(shop.suffix)_owner")
  }

  /// A one-to-one pair whose child is tied more strongly to other tables than to its parent: modularity alone
  /// would put it with those; `init` keeps it with its parent (its key is NOT NULL and unique).
  @Test func initNeverCutsAOneToOnePair() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("one_to_one_src")
    try await SerialConnection.connect(source).execute(
      """
      CREATE TABLE "User" (id int PRIMARY KEY);
      CREATE TABLE "Order" (id int PRIMARY KEY, "userId" int REFERENCES "User");
      CREATE TABLE "Address" (id int PRIMARY KEY, "userId" int REFERENCES "User");
      CREATE TABLE "Ticket" (id int PRIMARY KEY, "userId" int REFERENCES "User");
      CREATE TABLE "Theme" (id int PRIMARY KEY);
      CREATE TABLE "Badge" (id int PRIMARY KEY);
      CREATE TABLE "Avatar" (id int PRIMARY KEY);
      CREATE TABLE "ThemeVariant" (id int PRIMARY KEY, "themeId" int REFERENCES "Theme");
      CREATE TABLE "BadgeLevel" (id int PRIMARY KEY, "badgeId" int REFERENCES "Badge");
      CREATE TABLE "Profile" (id int PRIMARY KEY, "userId" int NOT NULL UNIQUE REFERENCES "User",
        "themeId" int REFERENCES "Theme", "badgeId" int REFERENCES "Badge", "avatarId" int REFERENCES "Avatar");
      """)
    let proposed = try await CLIRunner.run(["init", source.flattened])
    #expect(proposed.status == 0, "\(proposed.stderr)")
    var service: [String: String] = [:]
    var current = ""
    for line in proposed.stdout.split(separator: "\n") {
      if line.hasPrefix("  "), !line.hasPrefix("   "), line.hasSuffix(":") {
        current = String(line.dropFirst(2).dropLast())
      }
      if line.hasPrefix("      - public.") { service[String(line.dropFirst("      - public.".count))] = current }
    }
    #expect(service["Profile"] != nil && service["Profile"] == service["User"], "\(proposed.stdout)")
  }
}
