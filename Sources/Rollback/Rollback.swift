import CleaveCore
import Foundation
import Freeze
import Logging
import Plan
import PostgresDriver
import Provision

/// `cleave rollback`: removes what Cleave created for the chosen services (their databases or schemas, staging
/// databases, roles, and secrets) and lifts their freeze, so the source serves the applications as before.
///
/// It first works out a `RollbackPlan` from the objects themselves, on the servers the plan resolves to now: only
/// an object carrying Cleave's mark for that very service of this plan and source (`Provenance`) is removed. An
/// object of the same name without it (another plan's, or not Cleave's) is left alone and listed; a rollback
/// that finds nothing of its own removes nothing, the secrets file included, and fails. The source's data is
/// never touched: the only change to the source is dropping the freeze's own triggers and schema.
public struct Rollback: Sendable {
  public var plan: SplitPlan
  public var services: [String]
  public var secretsPath: String
  /// Where each action is logged, with its duration.
  public var logger: Logger = .silent

  public init(plan: SplitPlan, services: [String], secretsPath: String) {
    self.plan = plan
    self.services = services
    self.secretsPath = secretsPath
  }

  private var chosen: [ServicePlan] {
    plan.services.filter { services.isEmpty || services.contains($0.name) }
  }

  private func admin(_ service: ServicePlan) async throws -> SerialConnection {
    do { return try await SerialConnection.connect(service.server) } catch {
      throw CleaveError(connecting: error, role: "target \"\(service.target)\"")
    }
  }

  /// Works out what rollback would do, changing nothing.
  ///
  /// - Returns: the actions in the order they will run, and what it leaves alone because it is not this plan's.
  /// - Throws: `CleaveError` when a server cannot be read.
  public func plan() async throws -> RollbackPlan {
    var actions: [RollbackPlan.Action] = []
    var leftAlone: [String] = []
    let identity = plan.identity
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
        try await ObjectComment.database(name, on: admin)
      }
      func leave(_ object: String, _ comment: String?) {
        leftAlone.append(
          "\(object) on target \(service.target): " + Provenance.owner(of: comment) + ", so rollback leaves it")
      }
      let mark = Provenance.mark(service: service.name, identity: identity)
      switch try await databaseComment(service.database) {
      case .none: break
      case .some(let comment)
      where service.schema != nil && comment == Provenance.sharedDatabaseMark(identity: identity):
        let sharers = plan.services.filter { $0.database == service.database && $0.target == service.target }
        if sharers.allSatisfy({ chosenNames.contains($0.name) }) {
          if service.name == sharers.first?.name {
            actions.append(.dropDatabase(target: service.target, database: service.database, service: service.name))
          }
        } else if let schema = service.schema {
          actions.append(
            .dropSchema(target: service.target, database: service.database, schema: schema, service: service.name))
        }
      case .some(let comment) where service.schema == nil && comment == mark:
        actions.append(.dropDatabase(target: service.target, database: service.database, service: service.name))
      case .some(let comment): leave("database \(service.database)", comment)
      }
      if service.schema != nil {
        let staging = StagingDatabase.name(for: service)
        switch try await databaseComment(staging) {
        case .none: break
        case .some(let comment) where comment == Provenance.stagingMark(service: service.name, identity: identity):
          actions.append(.dropDatabase(target: service.target, database: staging, service: service.name))
        case .some(let comment): leave("database \(staging)", comment)
        }
      }
      let roles = ServiceRoles(for: service)
      for role in [roles.login, roles.owner] {
        guard let comment = try await ObjectComment.role(role, on: admin) else { continue }
        if comment == mark {
          roleActions.append(.dropRole(target: service.target, role: role, service: service.name))
        } else {
          leave("role \(role)", comment)
        }
      }
    }
    actions += roleActions
    // The secrets file goes only with something else of this plan's, and only when Cleave wrote it for this plan.
    if !actions.isEmpty, FileManager.default.fileExists(atPath: secretsPath) {
      let secrets = try SecretsFile(path: secretsPath)
      if !secrets.belongs(to: identity) {
        leftAlone.append(
          "secrets file \(secretsPath): "
            + (secrets.isCleaves ? "Cleave wrote it for another plan" : "Cleave did not write it")
            + ", so rollback leaves it")
      } else if services.isEmpty || chosenNames == Set(plan.services.map(\.name)) {
        actions.append(.removeSecretsFile(path: secretsPath))
      } else {
        let keys = chosen.flatMap { service -> [String] in
          let roles = ServiceRoles(for: service)
          return [
            roles.ownerSecretKey, roles.loginSecretKey, ServiceRoles.configurationSecretKey(service: service.name),
          ]
        }.filter { secrets[$0] != nil }
        if !keys.isEmpty { actions.append(.removeSecrets(path: secretsPath, keys: keys)) }
      }
    }
    return RollbackPlan(actions: actions, leftAlone: leftAlone)
  }

  /// Carries out `plan`, in order.
  ///
  /// - Throws: `CleaveError` (`rollbackFoundNothing`) when there is nothing of this plan's to undo, before doing
  ///   anything; otherwise (`rollbackFailed`) naming the step that failed (running rollback again continues from
  ///   there).
  public func run(_ plan: RollbackPlan) async throws {
    guard !plan.actions.isEmpty else {
      throw CleaveError(
        .rollbackFoundNothing,
        "rollback found nothing of this plan's (\(self.plan.identity)) on the servers the plan names now; "
          + "nothing was removed",
        hint: "check that the plan's `${VAR}`s resolve to the servers the split was made on in this shell"
          + (plan.leftAlone.isEmpty ? "" : "; what is there belongs to another plan or to no Cleave plan"))
    }
    for action in plan.actions {
      do {
        try await logger.step("rollback: \(action)") { try await perform(action) }
      } catch let error as CleaveError {
        throw error
      } catch {
        throw CleaveError(.rollbackFailed, "rollback stopped at \"\(action)\"", hint: "run it again", cause: error)
      }
    }
  }

  private func perform(_ action: RollbackPlan.Action) async throws {
    func admin(_ target: String, database: String? = nil) async throws -> SerialConnection {
      var info = self.plan.services.first { $0.target == target }?.server ?? ConnInfo("")
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
    case .dropSchema(let target, let database, let schema, _):
      let connection = try await admin(target, database: database)
      let roles = ServiceRoles(database: database, schema: schema)
      // One role at a time, the login first: `DROP OWNED BY owner, login` in one statement deletes the owner's
      // default-privilege entry and then tries to revoke the login's grant in that same, gone, entry
      // (`could not find tuple for default ACL`).
      try await connection.execute("DROP SCHEMA IF EXISTS \(try await connection.quoteIdentifier(schema)) CASCADE")
      try await connection.execute("DROP OWNED BY \(try await connection.quoteIdentifier(roles.login))")
      try await connection.execute("DROP OWNED BY \(try await connection.quoteIdentifier(roles.owner))")
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
      try secrets.save(for: self.plan.identity)
    }
  }
}
