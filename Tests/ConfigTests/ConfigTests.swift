import CleaveTestSupport
import Config
import Copy
import Foundation
import Plan
import PostgresDriver
import Provision
import Testing
import Yams

/// `cleave config`'s outputs, read back by a parser of each format; their URLs connect as the service's login
/// role, which reaches its own database and no other.
@Suite(.postgres, .tags(.integration)) struct ConfigTests {
  struct Fixture {
    let plan: String
    let secrets: String
    let suffix: String
    let file: PlanFile
  }

  func provisioned(_ sandbox: PostgresSandbox, _ temporary: TemporaryFolder) async throws -> Fixture {
    let source = try await sandbox.makeDatabase("config_src")
    try await SerialConnection.connect(source).execute(
      "CREATE TABLE customers (id int PRIMARY KEY); CREATE TABLE orders (id int PRIMARY KEY, customer_id int)")
    let suffix = temporary.suffix
    let plan = try temporary.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        auth-\(suffix):
          database: auth_\(suffix)
          tables: [customers]
          pool_size: 5
          replicas: 3
        billing-\(suffix):
          database: billing_\(suffix)
          tables: [orders]
        """)
    let secrets = temporary.path + "/secrets.env"
    _ = try await Split(planPath: plan, environment: [:], secretsPath: secrets).provision()
    return Fixture(plan: plan, secrets: secrets, suffix: suffix, file: try PlanDecoder.load(path: plan))
  }

  /// Connects with `url` and says which role and database it reached.
  func reach(_ url: String) async throws -> (user: String, database: String) {
    let connection = try await SerialConnection.connect(ConnInfo(url))
    let row = try await connection.query("SELECT current_user AS u, current_database() AS d").namedRows.first
    await connection.close()
    return (row?.string("u") ?? "", row?.string("d") ?? "")
  }

  @Test func eachFormatParsesBackAndItsURLsConnect() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let temporary = try TemporaryFolder("config")
    defer { temporary.remove() }
    let fixture = try await provisioned(sandbox, temporary)
    let suffix = fixture.suffix
    let secrets = try SecretsFile(path: fixture.secrets)
    let connections = try ServiceConnections.resolve(
      plan: fixture.file, secretsPath: fixture.secrets, inlineSecrets: false)
    let writer = ConfigWriter(connections: connections, serverMajors: ["main": 15])
    let prefix = ServiceRoles.environmentPrefix("auth-\(suffix)")
    #expect(prefix == "AUTH_\(suffix.uppercased())")

    // .env: the password is referenced; the secrets file provides it under that very name.
    let env = try #require(writer.files(.env).first)
    #expect(!env.secret && env.path == ".env")
    let password = try #require(secrets["\(prefix)_DB_PASSWORD"])
    #expect(!env.content.contains(password))
    let secretValues = Dictionary(
      uniqueKeysWithValues: ["\(prefix)_DB_PASSWORD", "BILLING_\(suffix.uppercased())_DB_PASSWORD"].compactMap { key in
        secrets[key].map { (key, $0) }
      })
    let parsed = try DotEnv.parse(env.content, environment: secretValues)
    let authURL = try #require(parsed["\(prefix)_DATABASE_URL"])
    let billingURL = try #require(parsed["BILLING_\(suffix.uppercased())_DATABASE_URL"])
    let auth = try await reach(authURL)
    // Roles are named after the service's database, not the service.
    #expect(auth.user == "auth_\(suffix)_app" && auth.database == "auth_\(suffix)")
    let billing = try await reach(billingURL)
    #expect(billing.user == "billing_\(suffix)_app" && billing.database == "billing_\(suffix)")
    // The login role reaches its own database only.
    let path = try #require(authURL.range(of: "/auth_\(suffix)", options: .backwards))
    let crossing = authURL.replacingCharacters(in: path, with: "/billing_\(suffix)")
    await #expect(throws: PostgresError.self) { _ = try await reach(crossing) }

    // Spring: YAML, with the pool from the plan and the default elsewhere.
    let springFiles = writer.files(.spring)
    #expect(springFiles.map(\.path) == ["auth-\(suffix)/application.yml", "billing-\(suffix)/application.yml"])
    let spring = try #require(try Yams.load(yaml: springFiles[0].content) as? [String: Any])
    let datasource = try #require((spring["spring"] as? [String: Any])?["datasource"] as? [String: Any])
    let hikari = try #require(datasource["hikari"] as? [String: Any])
    #expect(hikari["maximum-pool-size"] as? Int == 5)
    #expect(hikari["minimum-idle"] as? Int == 2)
    #expect(datasource["password"] as? String == "${\(prefix)_DB_PASSWORD}")
    let jdbc = try #require(datasource["url"] as? String)
    #expect(jdbc.hasPrefix("jdbc:postgresql://127.0.0.1:\(sandbox.port)/auth_\(suffix)"))
    let viaSpring = try await reach(
      String(jdbc.dropFirst("jdbc:".count)) + "?user=\(datasource["username"] as? String ?? "")&password=\(password)")
    #expect(viaSpring.database == "auth_\(suffix)")
    let billingSpring = try #require(try Yams.load(yaml: springFiles[1].content) as? [String: Any])
    let billingPool = ((billingSpring["spring"] as? [String: Any])?["datasource"] as? [String: Any])?["hikari"]
    #expect((billingPool as? [String: Any])?["maximum-pool-size"] as? Int == ConnectionPool.defaultSize)

    // Prisma: the datasource block, and the .env line its env() reads.
    let prisma = writer.files(.prisma)
    let block = try #require(prisma.first { $0.path == "auth-\(suffix)/schema.prisma" }?.content)
    #expect(block.contains("provider = \"postgresql\""))
    #expect(block.contains("url      = env(\"\(prefix)_DATABASE_URL\")"))
    #expect(block.contains("schemas  = [\"public\"]"))
    let prismaEnvText = try #require(prisma.first { $0.path == "auth-\(suffix)/.env" }?.content)
    let prismaEnv = try DotEnv.parse(prismaEnvText, environment: secretValues)
    let prismaURLText = try #require(prismaEnv["\(prefix)_DATABASE_URL"])
    let prismaURL = try #require(URLComponents(string: prismaURLText))
    #expect(prismaURL.queryItems?.first { $0.name == "connection_limit" }?.value == "5")
    #expect(prismaURL.password == password && prismaURL.path == "/auth_\(suffix)")

    // docker compose: one container per service database, with a port, a volume and a health check.
    let composeFile = try #require(writer.files(.compose).first)
    let compose = try #require(try Yams.load(yaml: composeFile.content) as? [String: Any])
    let services = try #require(compose["services"] as? [String: [String: Any]])
    #expect(services.keys.sorted() == ["auth_\(suffix)-db", "billing_\(suffix)-db"])
    let authDB = try #require(services["auth_\(suffix)-db"])
    #expect(authDB["image"] as? String == "postgres:15")
    #expect(authDB["ports"] as? [String] == ["5433:5432"])
    #expect(
      (authDB["healthcheck"] as? [String: Any])?["test"] as? [String] == [
        "CMD-SHELL", "pg_isready -U postgres -d auth_\(suffix)",
      ])
    // The container's superuser is not the application's role (issue 13: it was), and has a password of its own.
    let environment = try #require(authDB["environment"] as? [String: String])
    #expect(environment["POSTGRES_USER"] == "postgres")
    #expect(environment["POSTGRES_PASSWORD"]?.hasPrefix("${\(prefix)_DB_ADMIN_PASSWORD:?") == true)
    #expect(environment["CLEAVE_APP_USER"] == "auth_\(suffix)_app")
    #expect(environment["CLEAVE_APP_PASSWORD"] == "${\(prefix)_DB_PASSWORD}")
    #expect((compose["volumes"] as? [String: Any])?.count == 2)

    // Inline secrets: the password is in the URL itself, and the file is marked secret.
    let inline = try ServiceConnections.resolve(plan: fixture.file, secretsPath: fixture.secrets, inlineSecrets: true)
    let inlineEnv = try #require(ConfigWriter(connections: inline).files(.env).first)
    #expect(inlineEnv.secret && inlineEnv.content.contains(password))
    let direct = try DotEnv.parse(inlineEnv.content)
    #expect(try await reach(try #require(direct["\(prefix)_DATABASE_URL"])).database == "auth_\(suffix)")
  }

  @Test func anOverrunConnectionBudgetIsAWarningWithTheFigures() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let admin = try await SerialConnection.connect(sandbox.connInfo())
    let maxConnections = Int(try await admin.query("SHOW max_connections").scalar ?? "") ?? 0
    let reserved = Int(try await admin.query("SHOW superuser_reserved_connections").scalar ?? "") ?? 0
    let temporary = try TemporaryFolder("config-budget")
    defer { temporary.remove() }
    let fixture = try await provisioned(sandbox, temporary)
    var connections = try ServiceConnections.resolve(plan: fixture.file, secretsPath: "", inlineSecrets: false)
    let fits = await ConnectionBudget.check(connections, targets: [("main", sandbox.connInfo().rawValue)])
    let line = try #require(fits.lines.first)
    #expect(line.needed == 5 * 3 + ConnectionPool.defaultSize)
    #expect(line.available == maxConnections - reserved && line.warning == nil)

    connections[1].pool = ConnectionPool(size: maxConnections, replicas: 2)
    let over = await ConnectionBudget.check(connections, targets: [("main", sandbox.connInfo().rawValue)])
    let warning = try #require(over.lines.first?.warning)
    #expect(warning.contains("need \(15 + 2 * maxConnections) connections"))
    #expect(
      warning.contains(
        "accepts \(maxConnections - reserved) (max_connections \(maxConnections) - \(reserved) reserved)"))
    #expect(warning.contains("billing-\(fixture.suffix) \(maxConnections) x 2"))
  }

  /// The compose file's role script, run as the container would run it (as the superuser, with the container's
  /// environment) against a database of the sandbox: the application role it makes can log in, read and write
  /// tables the superuser creates, and create nothing, and is no superuser.
  @Test func theComposeRoleScriptMakesALeastPrivilegeRole() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let database = try await sandbox.makeDatabase("compose_role")
    let name = try #require(try await SerialConnection.connect(database).query("SELECT current_database()").scalar)
    let temporary = try TemporaryFolder("compose-role")
    defer { temporary.remove() }
    let role = "app_\(temporary.suffix)"
    let connection = ServiceConnection(
      service: "shop", target: "main", host: "127.0.0.1", port: sandbox.port, database: name, schema: nil,
      schemas: ["public"], user: role, password: nil, sslmode: nil, pool: ConnectionPool())
    let writer = ConfigWriter(connections: [connection])
    let script = try #require(writer.files(.compose).first { $0.path.hasPrefix("initdb/") })
    let path = temporary.path + "/role.sh"
    try script.content.write(toFile: path, atomically: true, encoding: .utf8)
    let binaries = URL(fileURLWithPath: try PostgresBinaries.locate().path("psql")).deletingLastPathComponent().path
    let ran = try await ToolRunner.run(
      "/bin/sh", [path],
      environment: [
        "PATH": binaries + ":/usr/bin:/bin", "PGHOST": "127.0.0.1", "PGPORT": "\(sandbox.port)",
        "POSTGRES_USER": "postgres", "POSTGRES_DB": name, "CLEAVE_APP_USER": role, "CLEAVE_APP_PASSWORD": "pw",
      ])
    #expect(ran.succeeded, "\(ran.standardError)")
    let admin = try await SerialConnection.connect(database)
    try await admin.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text)")
    #expect(try await admin.query("SELECT rolsuper::text FROM pg_roles WHERE rolname = $1", [role]).scalar == "false")
    let app = try await SerialConnection.connect(sandbox.connInfo(database: name, user: role))
    try await app.execute("INSERT INTO notes (body) VALUES ('hello')")
    #expect(try await app.query("SELECT count(*) FROM notes").scalar == "1")
    await #expect(throws: PostgresError.self) { try await app.execute("CREATE TABLE mine (id int)") }
    try await admin.execute("DROP OWNED BY \(role); DROP ROLE \(role)")
  }
}
