import CleaveCore
import Plan
import PostgresDriver
import Provision

/// The sessions one online command of one service works through: the source (writable: the publication, the
/// heartbeat, the fence), the service's database as the target's admin, holding the service's online lock for
/// the whole command, and the names of what is made for the service.
struct OnlineContext: Sendable {
  let service: ServicePlan
  let names: OnlineNames
  let source: SerialConnection
  let admin: SerialConnection
  /// The source's connection string as the target server uses it (the subscription's `CONNECTION`), with the
  /// password Cleave logged in with; never printed.
  let sourceForServer: String
  /// The same for the service's database (the reverse subscription's `CONNECTION`).
  let targetForServer: String

  /// The `application_name` of every session an online command of `service` opens.
  static func applicationName(_ service: String) -> String {
    String(("cleave online " + service).utf8.prefix(63)) ?? "cleave online"
  }

  /// The plan's service `name`.
  ///
  /// - Throws: `CleaveError` (`planInvalidName`) when the plan has no such service, with the closest name.
  static func servicePlan(_ name: String, in plan: SplitPlan) throws -> ServicePlan {
    if let found = plan.services.first(where: { $0.name == name }) { return found }
    let names = plan.services.map(\.name)
    let guess = Spelling.closest(to: name, in: names).map { "did you mean `\($0)`? " } ?? ""
    throw CleaveError(
      .planInvalidName, "--service names \"\(name)\", which the plan does not have",
      hint: guess + "services: " + names.joined(separator: ", "))
  }

  /// Connects to both sides and takes the service's online lock on its database.
  ///
  /// - Throws: `CleaveError` (`onlineBusy`) when another online command of the service holds the lock.
  static func open(service: ServicePlan, target: ConnInfo, plan: SplitPlan) async throws -> OnlineContext {
    let name = applicationName(service.name)
    let source: SerialConnection
    do { source = try await SerialConnection.connect(plan.source.with("application_name", name)) } catch {
      throw CleaveError(connecting: error, role: "source")
    }
    let admin: SerialConnection
    do { admin = try await SerialConnection.connect(target.with("application_name", name)) } catch {
      await source.close()
      throw CleaveError(connecting: error, role: "database of service \"\(service.name)\"")
    }
    do {
      let taken = try await admin.query("SELECT pg_try_advisory_lock(hashtext($1))", [name]).scalar == "t"
      guard taken else {
        throw CleaveError(
          .onlineBusy, "another cleave online command of service \"\(service.name)\" is running now",
          hint: "wait for it to finish; two of them would make the same objects")
      }
      return OnlineContext(
        service: service, names: OnlineNames(service: service.name, identity: plan.identity), source: source,
        admin: admin, sourceForServer: try plan.source.keyValueString(password: try await source.passwordUsed()),
        targetForServer: try target.keyValueString(password: try await admin.passwordUsed()))
    } catch {
      await source.close()
      await admin.close()
      throw error
    }
  }

  func close() async {
    await source.close()
    await admin.close()
  }

  /// The opening of a switch (cutover or rollback): the service, how its connections move, and the sessions.
  ///
  /// - Throws: `CleaveError` (`onlineRefused`) when the plan has no `switch:` for the service.
  static func forSwitch(_ name: String, plan: SplitPlan) async throws -> (OnlineContext, ApplicationSwitch) {
    let service = try servicePlan(name, in: plan)
    guard let method = service.connectionSwitch else {
      throw CleaveError(
        .onlineRefused, "the plan does not say how to switch the connections of service \"\(name)\"",
        hint: "add `switch:` to the service (pgbouncer: admin, config, database; or command:), docs/online.md")
    }
    let context = try await open(
      service: service, target: service.server.withDatabase(service.database), plan: plan)
    return (context, ApplicationSwitch(service: name, method: method))
  }

  /// The service database, as the target's admin.
  var target: ConnInfo { service.server.withDatabase(service.database) }
}
