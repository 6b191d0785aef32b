import CleaveCore
import Foundation
import Freeze
import Plan
import PostgresDriver
import Provision

/// `cleave rollback`: removes what Cleave created for the chosen services (their databases or schemas, staging
/// databases, roles, and secrets) and lifts their freeze, so the source serves the applications as before.
///
/// It first works out a `RollbackPlan` from the objects themselves: only an object carrying Cleave's mark for
/// that very service (`Provenance`) is removed. A database or role of the same name without it is a refusal, and
/// rollback then removes nothing at all. The source's data is never touched: the only change to the source is
/// dropping the freeze's own triggers and schema.
public struct Rollback: Sendable {
  public var plan: SplitPlan
  public var services: [String]
  public var secretsPath: String

  public init(plan: SplitPlan, services: [String], secretsPath: String) {
    self.plan = plan
    self.services = services
    self.secretsPath = secretsPath
  }

  private var chosen: [ServicePlan] {
    plan.services.filter { services.isEmpty || services.contains($0.name) }
  }

  private func admin(_ service: ServicePlan) async throws -> SerialConnection {
    let info = ConnInfo(plan.file.target(service.target)?.endpoint.url ?? "")
    do { return try await SerialConnection.connect(info) } catch {
      throw CleaveError(connecting: error, role: "target \"\(service.target)\"")
    }
  }

  /// Works out what rollback would do, changing nothing.
  ///
  /// - Returns: the actions in the order they will run, and the refusals.
  /// - Throws: `CleaveError` when a server cannot be read.
  public func plan() async throws -> RollbackPlan {
    var actions: [RollbackPlan.Action] = []
    var refusals: [String] = []
    let frozen = try await Freezer(plan: plan, services: chosen.map(\.name)).records()
    if !frozen.isEmpty {
      actions.append(.unfreeze(services: Array(Set(frozen.map(\.service))).sorted(), tables: frozen.count))
    }
    var roleActions: [RollbackPlan.Action] = []
    let chosenNames = Set(chosen.map(\.name))
    for service in chosen {
      let admin = try await admin(service)
      defer { Task { await admin.close() } }
      func databaseComment(_ name: String) async throws -> String?? {
        let rows = try await admin.query(
          "SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1", [name]
        ).namedRows
        return rows.first.map { $0["comment"] }
      }
      let mark = Provenance.mark(service: service.name)
      if let schema = service.schema {
        switch try await databaseComment(service.database) {
        case .none: break
        case .some(let comment) where comment == Provenance.sharedDatabaseMark:
          let sharers = plan.services.filter { $0.database == service.database && $0.target == service.target }
          if sharers.allSatisfy({ chosenNames.contains($0.name) }) {
            if service.name == sharers.first?.name {
              actions.append(.dropDatabase(target: service.target, database: service.database, service: service.name))
            }
          } else {
            actions.append(
              .dropSchema(target: service.target, database: service.database, schema: schema, service: service.name))
          }
        case .some(let comment):
          refusals.append(Self.refusal("database \(service.database)", service.target, comment))
        }
      } else {
        switch try await databaseComment(service.database) {
        case .none: break
        case .some(let comment) where comment == mark:
          actions.append(.dropDatabase(target: service.target, database: service.database, service: service.name))
        case .some(let comment):
          refusals.append(Self.refusal("database \(service.database)", service.target, comment))
        }
      }
      let staging = StagingDatabase.name(for: service.name)
      switch try await databaseComment(staging) {
      case .none: break
      case .some(let comment) where comment == StagingDatabase.mark(for: service.name):
        actions.append(.dropDatabase(target: service.target, database: staging, service: service.name))
      case .some(let comment): refusals.append(Self.refusal("database \(staging)", service.target, comment))
      }
      let roles = ServiceRoles(service: service.name)
      for role in [roles.login, roles.owner] {
        let rows = try await admin.query(
          "SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1", [role]
        ).namedRows
        guard let row = rows.first else { continue }
        if row["comment"] == mark {
          roleActions.append(.dropRole(target: service.target, role: role, service: service.name))
        } else {
          refusals.append(Self.refusal("role \(role)", service.target, row["comment"]))
        }
      }
    }
    actions += roleActions
    if FileManager.default.fileExists(atPath: secretsPath) {
      if services.isEmpty || chosenNames == Set(plan.services.map(\.name)) {
        actions.append(.removeSecretsFile(path: secretsPath))
      } else {
        let secrets = try SecretsFile(path: secretsPath)
        let keys = chosen.flatMap { service -> [String] in
          let roles = ServiceRoles(service: service.name)
          return [
            roles.ownerSecretKey, roles.loginSecretKey, ServiceRoles.configurationSecretKey(service: service.name),
          ]
        }.filter { secrets[$0] != nil }
        if !keys.isEmpty { actions.append(.removeSecrets(path: secretsPath, keys: keys)) }
      }
    }
    return RollbackPlan(actions: actions, refusals: refusals)
  }

  static func refusal(_ object: String, _ target: String, _ comment: String??) -> String {
    let found = (comment ?? nil).map { "its comment is \"\($0)\"" } ?? "it has no comment"
    return "\(object) on target \(target) was not created by Cleave for this service (\(found)); "
      + "Cleave removes only what it created, so rollback will not drop it"
  }

  /// Carries out `plan`, in order.
  ///
  /// - Throws: `CleaveError` (`notCreatedByCleave`) when the plan has refusals, before doing anything; otherwise
  ///   (`rollbackFailed`) naming the step that failed (running rollback again continues from there).
  public func run(_ plan: RollbackPlan) async throws {
    guard plan.refusals.isEmpty else {
      throw CleaveError(
        .notCreatedByCleave, "rollback refused, nothing was changed: " + plan.refusals.joined(separator: "; "),
        hint: "rename the service's database in the plan or remove the look-alike yourself")
    }
    for action in plan.actions {
      do {
        try await perform(action)
      } catch let error as CleaveError {
        throw error
      } catch {
        throw CleaveError(.rollbackFailed, "rollback stopped at \"\(action)\": \(error)", hint: "run it again")
      }
    }
  }

  private func perform(_ action: RollbackPlan.Action) async throws {
    func admin(_ target: String, database: String? = nil) async throws -> SerialConnection {
      var info = ConnInfo(self.plan.file.target(target)?.endpoint.url ?? "")
      if let database { info = info.withDatabase(database) }
      return try await SerialConnection.connect(info)
    }
    switch action {
    case .unfreeze(let services, _):
      try await Freezer(plan: plan, services: services).unfreeze()
    case .dropDatabase(let target, let database, _):
      let connection = try await admin(target)
      try await connection.execute(
        "DROP DATABASE IF EXISTS \(try await connection.quoteIdentifier(database)) WITH (FORCE)")
      await connection.close()
    case .dropSchema(let target, let database, let schema, let service):
      let connection = try await admin(target, database: database)
      let roles = ServiceRoles(service: service)
      try await connection.execute(
        "DROP SCHEMA IF EXISTS \(try await connection.quoteIdentifier(schema)) CASCADE; "
          + "DROP OWNED BY \(try await connection.quoteIdentifier(roles.owner)), "
          + "\(try await connection.quoteIdentifier(roles.login))")
      await connection.close()
    case .dropRole(let target, let role, _):
      let connection = try await admin(target)
      try await connection.execute("DROP ROLE IF EXISTS \(try await connection.quoteIdentifier(role))")
      await connection.close()
    case .removeSecretsFile(let path):
      try? FileManager.default.removeItem(atPath: path)
    case .removeSecrets(let path, let keys):
      var secrets = try SecretsFile(path: path)
      secrets.remove(keys)
      try secrets.save()
    }
  }
}
