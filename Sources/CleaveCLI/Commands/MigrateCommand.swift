import ArgumentParser
import CleaveCore
import Copy
import Foundation
import Migrate
import Plan
import PostgresDriver
import Provision
import Report

/// `cleave migrate …`: versioned migrations for every service of the plan, in Prisma's or Flyway's layout.
struct MigrateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "migrate",
    abstract: "Run each service's schema migrations (Prisma or Flyway layout), all services in one command.",
    discussion: "See docs/migrations.md. Exits 11 when a migration fails, is blocked, or needs attention.",
    subcommands: [
      MigrateStatus.self, MigrateDeploy.self, MigrateNew.self, MigrateResolve.self, MigrateLint.self,
      MigrateBaseline.self, MigrateDrift.self,
    ])
}

/// The options every `cleave migrate` subcommand takes.
struct MigrateOptions: ParsableArguments {
  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Option(help: "Only this service (repeatable).")
  var service: [String] = []

  @OptionGroup var global: GlobalOptions

  func migrator() throws -> Migrator {
    var migrator = Migrator(
      plan: try PlanDecoder.load(path: file, environment: ProcessInfo.processInfo.environment), services: service)
    migrator.logger = global.makeLogger()
    return migrator
  }
}

struct MigrateStatus: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status", abstract: "Per service: applied, pending, failed, modified and missing migrations.")

  @OptionGroup var options: MigrateOptions

  func run() async throws {
    try await reportingErrors {
      let statuses = try await options.migrator().status()
      print(MigrationReport(statuses).rendered(as: options.global.format))
      if statuses.contains(where: \.needsAttention) { throw ExitCode(ExitStatus.migrationFailed.rawValue) }
    }
  }
}

struct MigrateDeploy: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "deploy", abstract: "Apply pending migrations: services in parallel, each service's in order.")

  @OptionGroup var options: MigrateOptions

  @Flag(help: "Print what would run, and run nothing.")
  var dryRun = false

  @Flag(help: "Refuse to deploy when the linter finds a risky change in what would run.")
  var strict = false

  @Option(help: "Seconds to wait for another deploy's lock, or for an index build a killed deploy left running.")
  var wait: Int = 600

  @Flag(
    inversion: .prefixedNo,
    help: """
      Create a service database that does not exist yet, as Prisma does: provisioned (database, owner and \
      application roles, secrets file) when the plan has a source, a plain database otherwise. Default: on when \
      the plan has a source.
      """)
  var createDatabase: Bool?

  func run() async throws {
    try await reportingErrors {
      var migrator = try options.migrator()
      migrator.lockWait = .seconds(wait)
      if !dryRun { try await createMissingDatabases(migrator) }
      if strict {
        let planned = try await migrator.deploy(dryRun: true)
        if planned.contains(where: { !$0.findings.isEmpty }) {
          print(MigrationReport(planned, dryRun: true).rendered(as: options.global.format))
          throw CleaveError(
            .migrationBlocked, "--strict: the linter found risky changes in the migrations about to run",
            hint: "make them safer, or switch a rule off in the file with `-- cleave-lint: disable=RULE`")
        }
      }
      let statuses = try await migrator.deploy(dryRun: dryRun)
      print(MigrationReport(statuses, dryRun: dryRun).rendered(as: options.global.format))
      if statuses.contains(where: { $0.error != nil }) { throw ExitCode(ExitStatus.migrationFailed.rawValue) }
    }
  }
}

extension MigrateDeploy {
  /// Makes the chosen services' databases that do not exist yet (see `--create-database`).
  func createMissingDatabases(_ migrator: Migrator) async throws {
    let plan = migrator.plan
    let hasSource = !plan.source.url.isEmpty
    guard createDatabase ?? hasSource else { return }
    var missing: [Service] = []
    for (service, _) in try migrator.chosen() {
      let target = ConnInfo(plan.target(service.target ?? plan.targets.first?.name ?? "")?.endpoint.url ?? "")
      let admin: SerialConnection
      do { admin = try await SerialConnection.connect(target) } catch {
        throw CleaveError(connecting: error, role: "target of service \"\(service.name)\"")
      }
      let exists = try await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [service.database])
      if exists.rows.isEmpty {
        missing.append(service)
        if !hasSource {
          try await admin.execute("CREATE DATABASE \(try await admin.quoteIdentifier(service.database))")
        }
      }
      await admin.close()
    }
    guard !missing.isEmpty else { return }
    if hasSource {
      // As `cleave provision` makes them: every service's database and roles, each only once.
      var split = Split(
        planPath: options.file, environment: ProcessInfo.processInfo.environment,
        secretsPath: SecretsLocation.defaultPath(forPlan: options.file))
      split.logger = options.global.makeLogger()
      _ = try await split.provision()
    }
    FileHandle.standardError.write(
      Data(
        ("created the database of " + missing.map { "\"\($0.name)\" (\($0.database))" }.joined(separator: ", ")
          + (hasSource ? ", provisioned as `cleave provision` does\n" : "\n")).utf8))
  }
}

struct MigrateNew: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "new", abstract: "Create the next migration file in the service's layout.")

  @Argument(help: "What the migration does, such as add_orders.")
  var name: String

  @OptionGroup var options: MigrateOptions

  func validate() throws {
    if options.service.count != 1 { throw ValidationError("name the service with --service") }
  }

  func run() async throws {
    try await reportingErrors {
      let file = try options.migrator().new(name)
      print(options.global.format == .json ? JSONRendering.render(["file": file]) : file)
    }
  }
}

struct MigrateResolve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "resolve", abstract: "Mark a failed migration rolled back (to run it again) or applied.")

  @Option(help: "The migration completed by hand: record it as applied.")
  var applied: String?

  @Option(help: "The failed migration was undone: record it as rolled back, so deploy runs it again.")
  var rolledBack: String?

  @OptionGroup var options: MigrateOptions

  func validate() throws {
    if (applied == nil) == (rolledBack == nil) {
      throw ValidationError("give exactly one of --applied or --rolled-back")
    }
  }

  func run() async throws {
    try await reportingErrors {
      let name = applied ?? rolledBack ?? ""
      try await options.migrator().resolve(name, applied: applied != nil)
      let recorded = applied != nil ? "applied" : "rolled back"
      print(
        options.global.format == .json
          ? JSONRendering.render(["migration": name, "recordedAs": recorded]) : "\(name): recorded as \(recorded)")
    }
  }
}

struct MigrateLint: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lint", abstract: "Report risky changes in pending migrations, with a safer way; exits 11 on findings."
  )

  @Flag(help: "Lint every migration, applied ones too (no database needed).")
  var all = false

  @OptionGroup var options: MigrateOptions

  func run() async throws {
    try await reportingErrors {
      let migrator = try options.migrator()
      var findings: [LintFinding] = []
      if all {
        for (_, path) in try migrator.chosen() {
          findings += try MigrationFolder.read(path).migrations.flatMap(MigrationLinter.lint)
        }
      } else {
        findings = try await migrator.deploy(dryRun: true).flatMap(\.findings)
      }
      if options.global.format == .json {
        print(JSONRendering.render(findings))
      } else {
        for finding in findings { print(finding.description) }
        print(findings.isEmpty ? "no risky change found" : "\(findings.count) risky changes")
      }
      if !findings.isEmpty { throw ExitCode(ExitStatus.migrationFailed.rawValue) }
    }
  }
}

struct MigrateBaseline: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "baseline",
    abstract: "Write the service database's schema as its first migration, and record it as applied.")

  @Option(help: "The layout for an empty folder: prisma or flyway.")
  var layout: String = "prisma"

  @OptionGroup var options: MigrateOptions

  func run() async throws {
    try await reportingErrors {
      let files = try await options.migrator().baseline(layout: layout == "flyway" ? .flyway : .prisma)
      if options.global.format == .json {
        print(JSONRendering.render(["files": files]))
      } else {
        for file in files { print("baseline written and recorded as applied: \(file)") }
      }
    }
  }
}

struct MigrateDrift: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "drift",
    abstract: "Apply the migrations to a scratch database and compare with the live schema; exits 11 on drift.")

  @OptionGroup var options: MigrateOptions

  func run() async throws {
    try await reportingErrors {
      let results = try await options.migrator().drift()
      print(MigrationReport.drift(results, as: options.global.format))
      if results.contains(where: { !$0.differences.isEmpty }) { throw ExitCode(ExitStatus.migrationFailed.rawValue) }
    }
  }
}
