import Catalog
import CleaveCore
import Foundation
import Plan
import PostgresDriver
import Provision

/// Builds each service's `ServiceConnection` from the plan, its target's connection settings and, for inline
/// secrets, the secrets file that provision wrote.
public enum ServiceConnections {
  /// The schemas a service's tables live in, from the plan alone: its own in a shared database, otherwise those
  /// its `schemas:` and the qualified names in its `tables:` name (`public` for an unqualified name).
  static func schemas(of service: Service) -> [String] {
    if let schema = service.schema { return [schema] }
    var found = service.schemas.map(\.value)
    for table in service.tables.map(\.value) {
      let schema = QualifiedName(planName: table).schema
      if !found.contains(schema) { found.append(schema) }
    }
    return found.isEmpty ? ["public"] : found
  }

  /// - Parameters:
  ///   - plan: the plan file (no source needed: configuration depends only on the services and targets).
  ///   - secretsPath: the secrets file; read only when `inlineSecrets` is set.
  ///   - inlineSecrets: put the login roles' passwords into the configurations.
  /// - Returns: one connection per service, in plan order.
  /// - Throws: `CleaveError` when a target's URL cannot be parsed or a password is missing.
  public static func resolve(plan: PlanFile, secretsPath: String, inlineSecrets: Bool) throws -> [ServiceConnection] {
    let secrets = inlineSecrets ? try SecretsFile(path: secretsPath) : nil
    let environment = ProcessInfo.processInfo.environment
    return try plan.services.map { service in
      let targetName = service.target ?? plan.targets.first?.name ?? ""
      guard let target = plan.target(targetName) else {
        throw CleaveError(
          .planUnknownTarget,
          "service \"\(service.name)\" names target \"\(targetName)\", which the plan does not define",
          at: service.targetLocation ?? service.location)
      }
      let options: [String: String]
      do { options = try ConnInfo(target.endpoint.url).options() } catch {
        throw CleaveError(.invalidConnectionString, "cannot read target \"\(targetName)\": \(error)")
      }
      let roles = ServiceRoles(for: service)
      var password: String?
      if let secrets {
        guard let value = secrets[roles.loginSecretKey] else {
          throw CleaveError(
            .secretMissing, "the password of \(roles.login) is not in \(secretsPath)",
            hint: "run `cleave provision` (or copy) first, and pass the same --secrets file")
        }
        password = value
      }
      let host =
        (options["host"] ?? options["hostaddr"] ?? environment["PGHOST"] ?? "localhost")
        .split(separator: ",").first.map(String.init) ?? "localhost"
      let port = Int((options["port"] ?? environment["PGPORT"] ?? "5432").split(separator: ",").first ?? "") ?? 5432
      return ServiceConnection(
        service: service.name, target: targetName, host: host.hasPrefix("/") ? "localhost" : host, port: port,
        database: service.database, schema: service.schema, schemas: schemas(of: service),
        user: roles.login, password: password, sslmode: options["sslmode"] ?? environment["PGSSLMODE"],
        pool: service.pool)
    }
  }
}
