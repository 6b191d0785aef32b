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

  func statements() -> [String] {
    var statements: [String] = []
    for (table, transform) in service.transforms.sorted(by: { $0.key < $1.key }) {
      let name = table.quoted
      for change in transform.columns {
        let column = QualifiedName.quote(change.column.value)
        switch change.action {
        case .drop: statements.append("ALTER TABLE \(name) DROP COLUMN \(column) CASCADE")
        case .rename(let newName):
          statements.append("ALTER TABLE \(name) RENAME COLUMN \(column) TO \(QualifiedName.quote(newName))")
        case .rekey(let rekey):
          if let newName = rekey.renameTo {
            statements.append("ALTER TABLE \(name) RENAME COLUMN \(column) TO \(QualifiedName.quote(newName))")
          }
        case .add: break
        }
      }
      if let rename = transform.renameTo?.value {
        let parts = rename.contains(".") ? QualifiedName(planName: rename) : QualifiedName(table.schema, rename)
        var current = table
        if parts.schema != table.schema {
          statements.append("CREATE SCHEMA IF NOT EXISTS \(QualifiedName.quote(parts.schema))")
          statements.append("ALTER TABLE \(name) SET SCHEMA \(QualifiedName.quote(parts.schema))")
          current = QualifiedName(parts.schema, table.name)
        }
        if parts.name != table.name {
          statements.append("ALTER TABLE \(current.quoted) RENAME TO \(QualifiedName.quote(parts.name))")
        }
      }
    }
    return statements
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
        .schemaCopyFailed, "renaming and dropping for the transforms of \"\(service.name)\" failed: \(error)")
    }
  }
}
