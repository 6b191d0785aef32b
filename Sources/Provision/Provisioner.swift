import CleaveCore
import Foundation
import Logging
import Plan
import PostgresDriver

/// Creates each service's database (or schema) and its two roles on its target, with least privilege.
///
/// Running it twice changes nothing. It never touches an object Cleave did not create: a database or role with
/// the same name but without Cleave's mark (`Provenance`) is an error, not something to take over.
public struct Provisioner: Sendable {
  let plan: SplitPlan
  let secretsPath: String
  /// Where each service's provisioning is logged, with its duration.
  public var logger: Logger = .silent

  /// - Parameters:
  ///   - plan: the resolved plan.
  ///   - secretsPath: the 0600 file where generated passwords are written (and read back on later runs).
  public init(plan: SplitPlan, secretsPath: String) {
    self.plan = plan
    self.secretsPath = secretsPath
  }

  /// Provisions every service, in plan order.
  ///
  /// - Returns: each service with its database and roles.
  /// - Throws: `CleaveError` naming the service when a target refuses, or an object in the way is not Cleave's.
  public func provisionAll() async throws -> [ProvisionedService] {
    var secrets = try SecretsFile(path: secretsPath)
    var result: [ProvisionedService] = []
    for service in plan.services {
      result.append(
        try await logger.step(
          "provisioning service \(service.name)", metadata: ["target": "\(service.server)"]
        ) { try await provision(service, secrets: &secrets) })
    }
    return result
  }

  private func provision(_ service: ServicePlan, secrets: inout SecretsFile) async throws -> ProvisionedService {
    let target = service.server
    let admin: SerialConnection
    do { admin = try await SerialConnection.connect(target) } catch {
      throw CleaveError(connecting: error, role: "target \"\(service.target)\" of service \"\(service.name)\"")
    }
    defer { Task { await admin.close() } }
    let roles = ServiceRoles(for: service)
    let mark = Provenance.mark(service: service.name, identity: plan.identity)
    var created: [String] = []
    do {
      // Everything in the way is found before anything is made, so a refusal leaves nothing behind.
      for (role, given) in [(roles.owner, service.ownerPassword), (roles.login, service.appPassword)] {
        guard let given, !SecretsFile.canWrite(given) else { continue }
        throw CleaveError(
          .secretsUnreadable,
          "the plan's password for \(role) (service \"\(service.name)\") holds a single quote or a line break, which "
            + "no secrets file can hold so that both a shell and a dotenv parser read it back exactly",
          hint: "choose a password without `'` or line breaks (in the plan's `${…}` variable)")
      }
      try await checkNothingInTheWay(service, roles: roles, mark: mark, admin: admin)
      for (role, key, given) in [
        (roles.owner, roles.ownerSecretKey, service.ownerPassword),
        (roles.login, roles.loginSecretKey, service.appPassword),
      ] {
        if try await ensureRole(role, key: key, given: given, mark: mark, admin: admin, secrets: &secrets) {
          created.append("role \(role)")
        }
      }
      // The same password under the name `cleave config` references (`${AUTH_DB_PASSWORD}`), so that sourcing
      // the secrets file is enough for the configurations to resolve.
      if let login = secrets[roles.loginSecretKey] {
        secrets.set(ServiceRoles.configurationSecretKey(service: service.name), login)
      }
      // CREATE DATABASE … OWNER and ALTER DEFAULT PRIVILEGES FOR ROLE need the admin to be a member of the owner
      // role: a superuser is anyway, an admin with only CREATEDB and CREATEROLE is not until granted.
      try await admin.execute("GRANT \(try await admin.quoteIdentifier(roles.owner)) TO CURRENT_USER")
      let shared = service.schema != nil
      if try await ensureDatabase(service, owner: roles.owner, shared: shared, mark: mark, admin: admin) {
        created.append("database \(service.database)")
      }
      let database = target.withDatabase(service.database)
      let inside = try await SerialConnection.connect(database)
      defer { Task { await inside.close() } }
      let quotedDatabase = try await admin.quoteIdentifier(service.database)
      let owner = try await admin.quoteIdentifier(roles.owner)
      let login = try await admin.quoteIdentifier(roles.login)
      try await admin.execute(
        """
        REVOKE CONNECT, TEMPORARY ON DATABASE \(quotedDatabase) FROM PUBLIC;
        GRANT CONNECT ON DATABASE \(quotedDatabase) TO \(owner), \(login);
        """)
      if let schema = service.schema {
        let quotedSchema = try await inside.quoteIdentifier(schema)
        try await inside.execute(
          "CREATE SCHEMA IF NOT EXISTS \(quotedSchema) AUTHORIZATION \(owner); "
            + "GRANT USAGE ON SCHEMA \(quotedSchema) TO \(login); "
            + "GRANT CREATE ON DATABASE \(quotedDatabase) TO \(owner)")
      }
      try await inside.execute(
        """
        REVOKE ALL ON SCHEMA public FROM PUBLIC;
        GRANT USAGE ON SCHEMA public TO \(login);
        ALTER DEFAULT PRIVILEGES FOR ROLE \(owner) GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO \(login);
        ALTER DEFAULT PRIVILEGES FOR ROLE \(owner) GRANT USAGE, SELECT ON SEQUENCES TO \(login);
        ALTER DEFAULT PRIVILEGES FOR ROLE \(owner) GRANT USAGE ON SCHEMAS TO \(login);
        ALTER DEFAULT PRIVILEGES FOR ROLE \(owner) GRANT EXECUTE ON FUNCTIONS TO \(login);
        """)
      try secrets.save(for: plan.identity)
      // Least privilege ends at the service's own database only if the others refuse its login too.
      let reachable = try await OtherDatabases.reachable(by: roles.login, besides: service.database, on: admin)
      var provisioned = ProvisionedService(
        name: service.name, database: database, databaseName: service.database, schema: service.schema,
        roles: roles, created: created)
      provisioned.alsoReachable = reachable
      return provisioned
    } catch let error as CleaveError {
      throw error
    } catch let error as PostgresError {
      throw CleaveError(
        .provisionFailed, "provisioning service \"\(service.name)\" on target \"\(service.target)\" failed",
        hint: "the target's user must be a superuser, or have CREATEDB and CREATEROLE", cause: error)
    }
  }

  /// Creates `role` with a password (from the secrets file, or new) unless Cleave created it before.
  ///
  /// Returns whether it was created now.
  private func ensureRole(
    _ role: String, key: String, given: String?, mark: String, admin: SerialConnection, secrets: inout SecretsFile
  ) async throws -> Bool {
    if let comment = try await ObjectComment.role(role, on: admin) {
      guard comment == mark else { throw inTheWay("role \(role)", comment: comment) }
      if let given, secrets[key] == nil {
        secrets.set(key, given)  // the plan holds it; record it for the per-service configuration
        return false
      }
      guard secrets[key] != nil else {
        throw CleaveError(
          .secretMissing, "role \(role) exists but its password is not in \(secretsPath)",
          hint: "pass the secrets file the first provision wrote (--secrets), or drop the role to start over")
      }
      return false
    }
    let password = given ?? secrets[key] ?? SecretsFile.generatePassword()
    secrets.set(key, password)
    // Before the role exists, so a crash never leaves a role whose password is lost.
    try secrets.save(for: plan.identity)
    let quoted = try await admin.quoteIdentifier(role)
    let verifier = try await admin.quoteLiteral(try await admin.encryptPassword(password, user: role))
    try await admin.execute(
      "CREATE ROLE \(quoted) LOGIN PASSWORD \(verifier); COMMENT ON ROLE \(quoted) IS \(try await admin.quoteLiteral(mark))"
    )
    return true
  }

  /// Creates the service database unless Cleave created it before.
  ///
  /// Returns whether it was created now.
  private func ensureDatabase(
    _ service: ServicePlan, owner: String, shared: Bool, mark: String, admin: SerialConnection, retried: Bool = false
  ) async throws -> Bool {
    let wanted = shared ? Provenance.sharedDatabaseMark(identity: plan.identity) : mark
    let existing = try await admin.query(
      "SELECT shobj_description(oid, 'pg_database') AS comment, pg_get_userbyid(datdba) AS owner "
        + "FROM pg_database WHERE datname = $1",
      [service.database])
    let quoted = try await admin.quoteIdentifier(service.database)
    if let row = existing.namedRows.first {
      // Killed between CREATE DATABASE and COMMENT: no mark yet, but owned by the service's own owner role,
      // which only Cleave creates. Finish marking it.
      if row["comment"] == nil, !shared, row["owner"] == owner {
        try await admin.execute("COMMENT ON DATABASE \(quoted) IS \(try await admin.quoteLiteral(wanted))")
        return false
      }
      guard row["comment"] == wanted else {
        throw inTheWay("database \(service.database) on target \"\(service.target)\"", comment: row["comment"])
      }
      return false
    }
    let ownerClause = shared ? "" : " OWNER \(try await admin.quoteIdentifier(owner))"
    var raced = false
    do {
      try await admin.execute("CREATE DATABASE \(quoted)\(ownerClause) TEMPLATE template0 ENCODING 'UTF8'")
    } catch {
      guard !retried, ["23505", "42P04"].contains(error.sqlState ?? "") else { throw error }
      raced = true
    }
    if raced {
      // Another session created it between the check and now: a killed run's CREATE DATABASE, which the server
      // finishes after its client is gone. Look again, as if it had been there all along.
      return try await ensureDatabase(service, owner: owner, shared: shared, mark: mark, admin: admin, retried: true)
    }
    try await admin.execute("COMMENT ON DATABASE \(quoted) IS \(try await admin.quoteLiteral(wanted))")
    return true
  }

  /// Fails when the service's database or one of its roles exists and is not this plan's.
  private func checkNothingInTheWay(
    _ service: ServicePlan, roles: ServiceRoles, mark: String, admin: SerialConnection
  ) async throws {
    let wanted = service.schema != nil ? Provenance.sharedDatabaseMark(identity: plan.identity) : mark
    let database = try await admin.query(
      "SELECT shobj_description(oid, 'pg_database') AS comment, pg_get_userbyid(datdba) AS owner "
        + "FROM pg_database WHERE datname = $1", [service.database]
    ).namedRows.first
    if let database, database["comment"] != wanted,
      !(database["comment"] == nil && service.schema == nil && database["owner"] == roles.owner)
    {
      throw inTheWay("database \(service.database) on target \"\(service.target)\"", comment: database["comment"])
    }
    for role in [roles.owner, roles.login] {
      if let comment = try await ObjectComment.role(role, on: admin), comment != mark {
        throw inTheWay("role \(role)", comment: comment)
      }
    }
  }

  /// The error for an object Cleave would make for this plan that exists already and is not this plan's.
  private func inTheWay(_ object: String, comment: String?) -> CleaveError {
    CleaveError(
      Provenance.isCleaves(comment) ? .madeForAnotherPlan : .notCreatedByCleave,
      "\(object) already exists and is not this plan's: " + Provenance.owner(of: comment),
      hint: "Cleave never takes over what it did not create for this plan (\(plan.identity)); choose another "
        + "`database:`, or remove the other plan's split with its own `cleave rollback`")
  }
}
