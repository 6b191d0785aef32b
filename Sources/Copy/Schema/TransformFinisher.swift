import Catalog
import CleaveCore
import Plan
import PostgresDriver

/// The transform changes that come last, after indexes and constraints exist.
///
/// Dropped columns go (with the indexes on them), columns and tables take their new names. One transaction, one progress step.
struct TransformFinisher {
  let service: ServicePlan
  let catalog: DatabaseCatalog

  /// Each owned table's projection's finishing changes (drops, column and table renames).
  func statements() -> [String] {
    service.tables.compactMap { catalog.table($0) }
      .flatMap { TableProjection(table: $0, service: service, catalog: catalog).finishingChanges }
  }

  func run(admin: SerialConnection) async throws {
    let done = try await admin.query("SELECT 1 FROM _cleave.progress WHERE step = 'transforms'").rows.isEmpty == false
    guard !done else { return }
    do {
      try await admin.execute("BEGIN")
      for statement in statements() { try await admin.execute(statement) }
      try await admin.execute("INSERT INTO _cleave.progress (step) VALUES ('transforms'); COMMIT")
    } catch {
      try? await admin.execute("ROLLBACK")
      throw CleaveError(
        .schemaCopyFailed, "renaming and dropping for the transforms of \"\(service.name)\" failed", cause: error)
    }
  }
}
