import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// The `cleave` binary end to end: what it prints on stdout and stderr, and its exit status.
@Suite(.postgres, .tags(.integration)) struct CLITests {
  func temporaryFolder() throws -> String {
    let folder = NSTemporaryDirectory() + "cleave-cli-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return folder
  }

  @Test func inspectPrintsTextAndStableJSON() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let info = try await Fixtures.pagila(in: sandbox, prefix: "cli")
    let text = try await CLIRunner.run(["inspect", info.flattened])
    #expect(text.status == 0, "\(text.stderr)")
    #expect(text.stdout.contains("public.payment"))
    #expect(text.stdout.contains("partition of public.payment"))
    let json = try await CLIRunner.run(["inspect", info.flattened, "--format", "json"])
    #expect(json.status == 0)
    let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
    let tables = try #require(object?["tables"] as? [[String: Any]])
    let count = try await SerialConnection.connect(info).query(
      "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        + "WHERE c.relkind IN ('r', 'p', 'f') AND n.nspname = 'public'"
    ).scalar
    #expect("\(tables.count)" == count)
    let again = try await CLIRunner.run(["inspect", info.flattened, "--format", "json"])
    #expect(again.stdout == json.stdout)
  }

  @Test func aWrongPasswordExitsFourAndNeverPrintsIt() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let database = try await sandbox.makeDatabase("cli_auth")
    try await SerialConnection.connect(database).execute(
      "CREATE ROLE cli_user LOGIN PASSWORD 'right' IN ROLE \(PostgresSandbox.passwordGroup)")
    let url = sandbox.url(database: "postgres", user: "cli_user", password: "Sup3rSecret!")
    let result = try await CLIRunner.run(["inspect", url, "--verbose"])
    #expect(result.status == ExitStatus.connectionFailed.rawValue)
    #expect(result.stderr.contains("error[CLV2002]"))
    #expect(result.stderr.contains("hint:"))
    #expect(result.stderr.contains("********"))
    #expect(!result.stderr.contains("Sup3rSecret!"))
    #expect(!result.stdout.contains("Sup3rSecret!"))
  }

  @Test func aBadPlanGetsFileLineColumnAndExitThree() async throws {
    let folder = try temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/cleave.yml"
    try "source: 'host=x'\ntargets:\n  main: 'host=x'\nservices:\n  a:\n    databse: a\n".write(
      toFile: path, atomically: true, encoding: .utf8)
    let result = try await CLIRunner.run(["plan", "-f", path])
    #expect(result.status == ExitStatus.planInvalid.rawValue)
    #expect(result.stderr.hasPrefix("\(path):6:5: error[CLV1004]: unknown key `databse`"))
    #expect(result.stderr.contains("did you mean `database`?"))
    #expect(!result.stderr.contains("Stack"))
    let missing = try await CLIRunner.run(["plan", "-f", folder + "/nope.yml"])
    #expect(missing.status == ExitStatus.planInvalid.rawValue)
    #expect(missing.stderr.contains("error[CLV1001]"))
  }

  @Test func initProposesAPlanThatPlanAcceptsStrictly() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let info = try await Fixtures.pagila(in: sandbox, prefix: "cli_init")
    let folder = try temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/cleave.yml"
    let proposed = try await CLIRunner.run(["init", info.flattened, "-o", path])
    #expect(proposed.status == 0, "\(proposed.stderr)")
    let yaml = try String(contentsOfFile: path, encoding: .utf8)
    #expect(yaml.contains("# foreign key"))
    let refused = try await CLIRunner.run(["init", info.flattened, "-o", path])
    #expect(refused.status != 0)
    let planned = try await CLIRunner.run(
      ["plan", "-f", path, "--strict", "--format", "json"],
      environment: ["CLEAVE_TARGET_URL": sandbox.connInfo().rawValue])
    #expect(planned.status == 0, "\(planned.stderr)")
    let object = try JSONSerialization.jsonObject(with: Data(planned.stdout.utf8)) as? [String: Any]
    #expect((object?["unowned"] as? [Any])?.isEmpty == true)
    let services = try #require(object?["services"] as? [[String: Any]])
    #expect(services.count >= 2)
  }

  @Test func initGivesEachSchemaItsOwnServiceAndKeepsPasswordsOut() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let info = try await sandbox.makeDatabase("cli_schemas")
    let setup = try await SerialConnection.connect(info)
    try await setup.execute(
      """
      CREATE SCHEMA auth_schema; CREATE SCHEMA post_schema;
      CREATE TABLE auth_schema.users (id int PRIMARY KEY);
      CREATE TABLE auth_schema.refresh_tokens (id int PRIMARY KEY, user_id int REFERENCES auth_schema.users);
      CREATE TABLE post_schema.posts (id int PRIMARY KEY, author_id int REFERENCES auth_schema.users);
      CREATE ROLE init_user LOGIN PASSWORD 'pw-in-url' IN ROLE \(PostgresSandbox.passwordGroup);
      GRANT USAGE ON SCHEMA auth_schema, post_schema TO init_user;
      """)
    let name = try #require(try await setup.query("SELECT current_database()").scalar)
    let url = sandbox.url(database: name, user: "init_user", password: "pw-in-url")
    let result = try await CLIRunner.run(["init", url])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("  auth_schema:\n"))
    #expect(result.stdout.contains("  post_schema:\n"))
    #expect(result.stdout.contains("${CLEAVE_SOURCE_URL}"))
    #expect(!result.stdout.contains("pw-in-url"))
  }

  @Test func unknownSubcommandIsAUsageError() async throws {
    let result = try await CLIRunner.run(["splitz"])
    #expect(result.status == ExitStatus.usage.rawValue)
  }
}

@Suite(.postgres, .tags(.integration)) struct CopyCLITests {
  /// The source password reaches pg_dump through the environment only: never on a command line (`ps`), never
  /// in what cleave prints.
  @Test func copyKeepsThePasswordOutOfOutputAndProcessList() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await Fixtures.pagila(in: sandbox, prefix: "cli_copy")
    let setup = try await SerialConnection.connect(source)
    let database = try #require(try await setup.query("SELECT current_database()").scalar)
    let secret = "Pw-\(UUID().uuidString.prefix(12))"
    try await setup.execute(
      "CREATE ROLE copy_reader LOGIN PASSWORD '\(secret)' IN ROLE \(PostgresSandbox.passwordGroup); "
        + "GRANT pg_read_all_data TO copy_reader")
    let temporary = try TemporaryFolder("cli-copy")
    defer { temporary.remove() }
    let (folder, suffix) = (temporary.path, temporary.suffix)
    let plan = folder + "/cleave.yml"
    try """
    source: \(sandbox.url(database: database, user: "copy_reader", password: secret))
    targets:
      main: 'host=127.0.0.1 port=\(sandbox.port) user=postgres dbname=postgres'
    services:
      films_\(suffix):
        database: films_\(suffix)
        tables: [public.film, public.language]
    """.write(toFile: plan, atomically: true, encoding: .utf8)

    let watcher = Task.detached { () -> Bool in
      var seen = false
      while !Task.isCancelled {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(entry) != nil {
          if let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
            String(decoding: data, as: UTF8.self).contains(secret)
          {
            seen = true
          }
        }
        try? await Task.sleep(for: .milliseconds(5))
      }
      return seen
    }
    let result = try await CLIRunner.run(["copy", "-f", plan, "--secrets", folder + "/secrets.env", "--verbose"])
    watcher.cancel()
    let seenInProcessList = await watcher.value
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("films_\(suffix) -> films_\(suffix)"))
    #expect(!result.stdout.contains(secret))
    #expect(!result.stderr.contains(secret))
    #expect(!seenInProcessList, "the password showed in a process's command line")
    // --verbose logs every step and SQL phase with its duration, the source without its password.
    for line in [
      "reading the source's catalog: done in", "provisioning service films_\(suffix): done in",
      "copy: snapshot, catalog and schema dump: done in",
      "copy: data, indexes, constraints and statistics, ",
      "copy: finish (renames, drops, moves, outcomes): done in", "source=postgres://copy_reader:********@",
    ] {
      #expect(result.stderr.contains(line), "\(line) in: \(result.stderr)")
    }
    let verify = try await CLIRunner.run(["verify", "-f", plan, "-v"])
    #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    #expect(verify.stderr.contains("verify: the tables of service films_\(suffix): done in"), "\(verify.stderr)")
    #expect(!verify.stderr.contains(secret) && !verify.stdout.contains(secret))
    let again = try await CLIRunner.run(
      ["copy", "-f", plan, "--secrets", folder + "/secrets.env"],
      environment: [:])
    #expect(again.status == 0, "a second run is a no-op")
    #expect(!again.stderr.contains("done in"), "without --verbose, no step is logged: \(again.stderr)")
  }

  /// Every command takes --verbose.
  @Test func everyCommandTakesVerbose() async throws {
    let commands = [
      ["inspect"], ["plan"], ["init"], ["provision"], ["copy"], ["snapshot"], ["verify"], ["backup"], ["freeze"],
      ["unfreeze"], ["rollback"], ["config"], ["run"], ["status"], ["migrate", "status"], ["migrate", "deploy"],
      ["migrate", "new"], ["migrate", "resolve"], ["migrate", "lint"], ["migrate", "baseline"], ["migrate", "drift"],
    ]
    for command in commands {
      let help = try await CLIRunner.run(command + ["--help"])
      #expect(help.stdout.contains("--verbose"), "cleave \(command.joined(separator: " ")) --help: \(help.stdout)")
    }
  }
}
