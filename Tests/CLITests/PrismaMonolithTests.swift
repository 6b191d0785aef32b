import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// A Prisma team's path through Cleave on a monolith the tests build (`PrismaShop`): split it, then give each
/// service its own migrations (issue 13).
@Suite(.postgres, .tags(.integration)) struct PrismaMonolithTests {
  func shop(_ name: String) async throws -> TestSplit {
    try await #require(PostgresSandbox.current).split(name, sourceSQL: PrismaShop.sql) {
      PrismaShop.services(suffix: $0)
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
}
