import Plan

/// What `cleave rollback` will do, worked out before it does anything: every object it will remove (each one
/// carries this plan's mark), what it will restore, and what it leaves alone.
public struct RollbackPlan: Sendable {
  /// One thing rollback will undo.
  public enum Action: Sendable, Equatable, CustomStringConvertible {
    /// Lift the freeze on the source tables of these services (`cleave unfreeze`).
    case unfreeze(services: [String], tables: Int)
    case dropDatabase(target: String, database: String, service: String)
    /// Drop a service's schema from a database it shares with other services.
    case dropSchema(target: String, database: String, schema: String, service: String)
    case dropRole(target: String, role: String, service: String)
    case removeSecretsFile(path: String)
    case removeSecrets(path: String, keys: [String])

    public var description: String {
      switch self {
      case .unfreeze(let services, let tables):
        return "restore: unfreeze \(tables) source tables of \(services.joined(separator: ", "))"
      case .dropDatabase(let target, let database, let service):
        return "remove: database \(database) on target \(target) (service \(service))"
      case .dropSchema(let target, let database, let schema, let service):
        return "remove: schema \(schema) of database \(database) on target \(target) (service \(service))"
      case .dropRole(let target, let role, let service):
        return "remove: role \(role) on target \(target) (service \(service))"
      case .removeSecretsFile(let path): return "remove: secrets file \(path)"
      case .removeSecrets(let path, let keys):
        return "remove: \(keys.joined(separator: ", ")) from secrets file \(path)"
      }
    }
  }

  public var actions: [Action]
  /// Objects with the names this plan would use that are not this plan's (another plan's, or not Cleave's):
  /// rollback leaves them as they are.
  public var leftAlone: [String]
}
