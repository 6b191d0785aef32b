import Catalog
import CleaveCore
import PostgresDriver

/// Runs `cleave init`: reads the source read-only and returns the proposed plan's YAML.
public enum Proposal {
  /// - Throws: `CleaveError` when the source cannot be reached or read.
  public static func propose(source: String) async throws -> String {
    let info = ConnInfo(source)
    let connection: SerialConnection
    do { connection = try await SerialConnection.connect(info, readOnly: true) } catch {
      throw CleaveError(connecting: error, role: "source")
    }
    let catalog = try await CatalogReader(connection: connection).read()
    var statements: [RecordedStatement] = []
    if catalog.hasStatStatements { statements = (try? await RecordedStatement.read(from: connection)) ?? [] }
    await connection.close()
    return PlanProposer(catalog: catalog, statements: statements, sourceURL: source).yaml()
  }
}
