import Catalog
import CleaveCore
import PostgresDriver

/// Runs `cleave plan`: reads the plan file, reads the source read-only, resolves and analyses the split.
public struct Planner: Sendable {
  public var planPath: String
  public var strict: Bool
  public var environment: [String: String]

  public init(planPath: String, strict: Bool = false, environment: [String: String]) {
    self.planPath = planPath
    self.strict = strict
    self.environment = environment
  }

  /// Everything `cleave plan` shows.
  ///
  /// - Throws: `CleaveError` for a bad plan file (with its location), an unreachable source, or a failed read.
  public func run() async throws -> PlanAnalysis {
    let file = try PlanDecoder.load(path: planPath, environment: environment)
    let info = ConnInfo(file.source.url)
    let connection: SerialConnection
    do { connection = try await SerialConnection.connect(info, readOnly: true) } catch {
      var failure = CleaveError(connecting: error, role: "source")
      failure.location = file.source.location
      throw failure
    }
    let catalog = try await CatalogReader(connection: connection).read()
    let plan = try PlanResolver(file: file, catalog: catalog).resolve(strict: strict)
    do { try await ProjectionCheck.run(plan, catalog: catalog, on: connection) } catch {
      await connection.close()
      throw error
    }
    var statements: [RecordedStatement]?
    var reason: String?
    if catalog.hasStatStatements {
      do { statements = try await RecordedStatement.read(from: connection) } catch {
        reason = "pg_stat_statements could not be read: \(error.message)"
      }
    } else if catalog.extensions.contains(where: { $0.name == "pg_stat_statements" }) {
      reason = "pg_stat_statements is installed but not loaded: add it to shared_preload_libraries and restart"
    }
    await connection.close()
    return PlanAnalyzer(plan: plan, catalog: catalog, statements: statements, statementsUnavailable: reason).analyze()
  }
}
