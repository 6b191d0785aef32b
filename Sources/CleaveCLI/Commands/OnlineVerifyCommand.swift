import ArgumentParser
import CleaveCore
import Foundation
import Online
import Plan
import Report

/// `cleave online verify -f PLAN [--service S] [--rounds N]`: compares the moved tables while they stream and
/// reports the differences that persist.
struct OnlineVerifyCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Compare each moved table on both sides while streaming; report only differences that persist.",
    discussion: """
      Each round snapshots the side the application writes, waits until a heartbeat written after it crossed
      the stream, then snapshots the other side. The first round compares every table; later rounds re-read
      only the rows that differed. A row is reported when it differs the same way in every round. Exits 12
      (CLVB007) when one does. Reads both sides; writes only the heartbeat row.
      """)

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Option(help: "Only this service (repeatable).")
  var service: [String] = []

  @Option(help: "Rounds a difference must survive (at least 2).")
  var rounds: Int = 3

  @Option(help: "Differing rows of one table the first round follows.")
  var limit: Int = 1_000

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      let plan = try await PlanLoader.resolve(
        path: file, environment: ProcessInfo.processInfo.environment, logger: global.makeLogger())
      var verify = OnlineVerify(plan: plan, services: service)
      verify.rounds = rounds
      verify.limit = max(limit, 1)
      let results = try await verify.run()
      if global.format == .json {
        print(JSONRendering.render(["services": results]))
      } else {
        for result in results { print(Self.text(result)) }
      }
      let unclean = results.filter { !$0.clean }
      if !unclean.isEmpty {
        throw CleaveError(
          .onlineUnequal,
          "differences persisted while streaming in " + unclean.map(\.service).joined(separator: ", ")
            + " (listed above)",
          hint: "a row the stream does not carry (written with replication disabled, or by session_replication_role "
            + "= replica) or a change to a service database outside the stream; fix it before a cutover")
      }
    }
  }

  static func text(_ result: OnlineVerify.Result) -> String {
    var lines = [
      "\(result.service): \(result.clean ? "clean" : "DIFFERS") (\(result.state?.rawValue ?? "?"), "
        + "\(result.direction ?? "?"), \(result.rounds) rounds)"
    ]
    for table in result.tables {
      let persisting = table.persisting.count
      lines.append(
        "  \(table.table): \(table.rows) rows; \(table.firstRound) differed in the first round, "
          + "\(persisting) persisted")
      for row in table.persisting.prefix(20) {
        lines.append(
          "    \(row.kind) \(row.key): source \(row.source.joined(separator: " ")), service "
            + "\(row.target.joined(separator: " "))")
      }
    }
    for note in result.notes { lines.append("  note: \(note)") }
    return lines.joined(separator: "\n")
  }
}
