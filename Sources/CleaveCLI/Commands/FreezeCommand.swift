import ArgumentParser
import CleaveCore
import Foundation
import Freeze
import Plan
import Report

/// `cleave freeze -f cleave.yml [--service S]`: stops every write to the source tables the services moved.
struct FreezeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "freeze",
    abstract: "Stop writes to the source tables that moved (every role; reversible with `cleave unfreeze`).",
    discussion: """
      Puts a statement-level trigger that refuses INSERT, UPDATE, DELETE and TRUNCATE on each moved table, after
      waiting for the transactions that wrote to them to end (--wait). Records the time, the WAL position and
      each table's write counters in the source's _cleave_freeze schema. Run again, it re-arms a trigger that
      was disabled or dropped and freezes partitions made since; as a superuser it also refuses DDL on frozen
      tables (event triggers). See docs/safety.md.
      """)

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Option(help: "Freeze only this service's tables (repeatable).")
  var service: [String] = []

  @Option(help: "Seconds to wait for open transactions that wrote to the tables.")
  var wait: Int = 30

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      let logger = global.makeLogger()
      let plan = try await PlanLoader.resolve(
        path: file, environment: ProcessInfo.processInfo.environment, logger: logger)
      var freezer = Freezer(plan: plan, services: service)
      freezer.logger = logger
      let fence = try await freezer.freeze(wait: .seconds(wait))
      print(FreezeReport(fence: fence, action: "frozen").rendered(as: global.format))
      if !fence.holds {
        throw CleaveError(
          .fenceBroken, "the freeze does not hold: " + fence.problems.joined(separator: "; "),
          hint: "a table that is gone cannot be frozen again (unfreeze it, or restore it); a disabled DDL guard "
            + "is enabled again by freeze run as a superuser")
      }
    }
  }
}

/// `cleave unfreeze -f cleave.yml [--service S]`: lifts a freeze.
struct UnfreezeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "unfreeze", abstract: "Lift `cleave freeze`: drop its triggers, and its schema with the last one.")

  @Option(name: .shortAndLong, help: "The plan file.")
  var file: String = "cleave.yml"

  @Option(help: "Unfreeze only this service's tables (repeatable).")
  var service: [String] = []

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      let logger = global.makeLogger()
      let plan = try await PlanLoader.resolve(
        path: file, environment: ProcessInfo.processInfo.environment, logger: logger)
      var freezer = Freezer(plan: plan, services: service)
      freezer.logger = logger
      let tables = try await freezer.unfreeze()
      if global.format == .json {
        print(JSONRendering.render(["unfrozen": tables]))
      } else {
        print(tables.isEmpty ? "nothing was frozen" : "unfrozen: " + tables.joined(separator: ", "))
      }
    }
  }
}
