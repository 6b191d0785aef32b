import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// The README's tour for a Prisma team, run as written (issue 13): the block between `<!-- prisma-tour -->`
/// markers, with `SOURCE_URL` and `CLEAVE_TARGET_URL` pointing at the sandbox instead of the example servers.
@Suite(.postgres, .tags(.integration)) struct ReadmeTourTests {
  /// The tour's shell block.
  static func tour() throws -> String {
    var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: directory.path + "/README.md") { directory.deleteLastPathComponent() }
    let readme = try String(contentsOfFile: directory.path + "/README.md", encoding: .utf8)
    let start = try #require(readme.range(of: "<!-- prisma-tour -->\n```sh\n"))
    let end = try #require(readme.range(of: "```\n<!-- /prisma-tour -->", range: start.upperBound..<readme.endIndex))
    return String(readme[start.upperBound..<end.lowerBound])
  }

  @Test func thePrismaTourWorksAsWritten() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let source = try await sandbox.makeDatabase("tour_src")
    try await SerialConnection.connect(source).execute(PrismaShop.sql)
    let folder = try TemporaryFolder("tour")
    defer { folder.remove() }
    // The example URLs are the README's; everything else runs as it is written there.
    let script = try Self.tour().split(separator: "\n", omittingEmptySubsequences: false)
      .filter { !$0.hasPrefix("export SOURCE_URL=") && !$0.hasPrefix("export CLEAVE_TARGET_URL=") }
      .joined(separator: "\n")
    #expect(script.contains("$CLEAVE init") && script.contains("$CLEAVE migrate deploy"))
    try ("set -e\ncd '\(folder.path)'\n" + script).write(
      toFile: folder.path + "/tour.sh", atomically: true, encoding: .utf8)
    let ran = try await ToolRunner.run(
      "/bin/sh", [folder.path + "/tour.sh"],
      environment: [
        "PATH": "/usr/bin:/bin", "HOME": folder.path, "CLEAVE": CLIRunner.binary, "SOURCE_URL": source.flattened,
        "CLEAVE_TARGET_URL": sandbox.connInfo().rawValue,
      ])
    #expect(ran.succeeded, "\(ran.standardOutput)\n\(ran.standardError)")
    // What the tour says happened did: the new column is in the user service's database, and the migration is
    // recorded there.
    let user = try await SerialConnection.connect(sandbox.connInfo(database: "user_db"))
    #expect(
      try await user.query("SELECT count(*) FROM information_schema.columns WHERE column_name = 'nickname'").scalar
        == "1")
    #expect(
      try await user.query("SELECT count(*) FROM _prisma_migrations WHERE migration_name LIKE '%_add_nickname'").scalar
        == "1")
  }
}
