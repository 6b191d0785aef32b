import Foundation
import PostgresDriver

/// The connections each target server must accept: the sum of its services' pools times their replicas, against
/// what the server allows (`max_connections` less the connections reserved for superusers and, from
/// PostgreSQL 16, for `pg_use_reserved_connections`).
public struct ConnectionBudget: Sendable {
  /// One target server's figures.
  public struct Line: Sendable {
    public var target: String
    /// `auth 10 x 3` for each service on the server.
    public var services: [(service: String, pool: Int, replicas: Int)]
    public var needed: Int
    public var maxConnections: Int
    public var reserved: Int
    public var majorVersion: Int
    public var available: Int { maxConnections - reserved }
    public var overrun: Bool { needed > available }

    /// A warning with the figures, or nil when the services fit.
    public var warning: String? {
      guard overrun else { return nil }
      let parts = services.map { "\($0.service) \($0.pool) x \($0.replicas)" }.joined(separator: ", ")
      return "target \"\(target)\": the services' pools need \(needed) connections (\(parts)), but the server "
        + "accepts \(available) (max_connections \(maxConnections) - \(reserved) reserved); raise max_connections, "
        + "lower pool_size or replicas, or put a pooler (PgBouncer) in front"
    }
  }

  public var lines: [Line]
  /// Targets that could not be reached, with the reason (the budget is not checked for them).
  public var unreachable: [(target: String, reason: String)]

  /// Reads each target's limits and adds up its services' pools.
  ///
  /// - Parameters:
  ///   - connections: every service's connection settings.
  ///   - targets: each target's name and admin connection string.
  /// - Returns: one line per reachable target with services, and the targets that could not be reached.
  public static func check(_ connections: [ServiceConnection], targets: [(name: String, url: String)]) async
    -> ConnectionBudget
  {
    var budget = ConnectionBudget(lines: [], unreachable: [])
    for target in targets {
      let services = connections.filter { $0.target == target.name }
      guard !services.isEmpty else { continue }
      do {
        let connection = try await SerialConnection.connect(ConnInfo(target.url))
        let row = try await connection.query(
          """
          SELECT current_setting('max_connections')::int AS max_connections,
            current_setting('superuser_reserved_connections')::int
              + coalesce(current_setting('reserved_connections', true)::int, 0) AS reserved,
            current_setting('server_version_num')::int / 10000 AS major
          """
        ).namedRows.first
        await connection.close()
        let figures = services.map { ($0.service, $0.pool.resolvedSize, $0.pool.resolvedReplicas) }
        budget.lines.append(
          Line(
            target: target.name, services: figures, needed: figures.reduce(0) { $0 + $1.1 * $1.2 },
            maxConnections: row?.int("max_connections") ?? 0, reserved: row?.int("reserved") ?? 0,
            majorVersion: row?.int("major") ?? 16))
      } catch {
        budget.unreachable.append((target.name, "\(error)"))
      }
    }
    return budget
  }
}
