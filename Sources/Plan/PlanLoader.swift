import Catalog
import CleaveCore
import Foundation
import Logging
import PostgresDriver

/// Turns a plan file and the source's catalog into the one resolved `SplitPlan` every command and stage takes.
///
/// A command loads the plan once, here, and hands the value on; no stage reads the YAML or the source's catalog
/// again to find out what the plan means.
public enum PlanLoader {
  /// Reads the plan at `path` (or takes `file`, already read), reads the source's catalog and resolves the plan.
  ///
  /// - Throws: `CleaveError` for a bad plan (with its location), a plan without a source, or an unreachable
  ///   source.
  public static func resolve(
    path: String, environment: [String: String], file: PlanFile? = nil, logger: Logger = .silent
  ) async throws -> SplitPlan {
    let file = try file ?? PlanDecoder.load(path: path, environment: environment)
    guard !file.source.url.isEmpty else {
      throw CleaveError(
        .planMissingKey, "the plan has no `source`, which this command needs",
        hint: "a plan without a source serves `cleave migrate` only; add `source: { url: … }`",
        at: file.source.location)
    }
    // One read-only session reads the catalog and checks the plan's SQL.
    let source: SerialConnection
    do { source = try await SerialConnection.connect(ConnInfo(file.source.url), readOnly: true) } catch {
      var failure = CleaveError(connecting: error, role: "source")
      failure.location = file.source.location
      throw failure
    }
    defer { Task { await source.close() } }
    let catalog: DatabaseCatalog
    do {
      catalog = try await logger.step(
        "reading the source's catalog", metadata: ["source": "\(ConnInfo(file.source.url))"]
      ) { try await CatalogReader(connection: source).read() }
    } catch var error as CleaveError {
      error.location = error.location ?? file.source.location
      throw error
    }
    let plan = try PlanResolver(file: file, catalog: catalog).resolve()
    if plan.services.contains(where: { !$0.transforms.isEmpty }) {
      try await logger.step("checking the plan's SQL on the source") {
        try await ProjectionCheck.run(plan, catalog: catalog, on: source)
      }
    }
    logger.info(
      "plan resolved: \(plan.services.count) services, \(plan.owners.count) tables moved",
      metadata: ["plan": "\(plan.identity)"])
    return plan
  }
}
