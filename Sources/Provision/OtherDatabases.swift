import CleaveCore
import PostgresDriver

/// Closing the other databases of a target server to the services' login roles, which PostgreSQL lets in through
/// `PUBLIC`'s default `CONNECT` (`postgres`, `template1`, any unrelated database): `cleave provision
/// --harden-other-databases`.
///
/// A database is closed by revoking `CONNECT` from `PUBLIC`; every other login role that could connect before
/// is granted `CONNECT` explicitly first, in the same transaction, so nobody but the services' roles (and roles
/// Cleave made for other plans) loses access. Superusers are not affected either way. Roles created later do not
/// get `CONNECT` to a closed database unless it is granted: that is the point, and the report says so. Only the
/// database's owner (or a superuser) may do it; a database the admin may not change is reported and left as it is.
public enum OtherDatabases {
  /// One database to close, on one server: what runs, and which roles keep their access.
  public struct Closing: Sendable, Equatable {
    /// The database, on the server `through` connects to.
    public var database: String
    /// Login roles that could connect and are granted `CONNECT` so that they still can.
    public var keeping: [String]
    /// The statements, run in one transaction.
    public var statements: String
    /// A database of the server where the admin connects to run them (a service database).
    var through: ConnInfo
  }

  /// The databases of the server `admin` is on, other than `database`, that `login` may connect to.
  public static func reachable(by login: String, besides database: String, on admin: SerialConnection) async throws
    -> [String]
  {
    try await admin.query(
      """
      SELECT datname FROM pg_catalog.pg_database WHERE datallowconn AND datname <> $1
        AND has_database_privilege($2, oid, 'CONNECT') ORDER BY datname
      """, [database, login]
    ).rows.compactMap { $0.first ?? nil }
  }

  /// The databases each service's login role can still reach besides its own, read again (after closing).
  public static func stillReachable(_ services: [ProvisionedService]) async throws -> [ProvisionedService] {
    var result = services
    for index in result.indices {
      let admin = try await SerialConnection.connect(result[index].database)
      defer { Task { await admin.close() } }
      result[index].alsoReachable = try await reachable(
        by: result[index].roles.login, besides: result[index].databaseName, on: admin)
    }
    return result
  }

  /// What closing every database the services' login roles can reach besides their own would do; reads only.
  ///
  /// - Throws: `CleaveError` when a target cannot be read.
  public static func closings(for services: [ProvisionedService]) async throws -> [Closing] {
    var closings: [Closing] = []
    var seen: Set<String> = []
    let ours = services.flatMap { [$0.roles.owner, $0.roles.login] }
    for service in services {
      let server = service.database.withDatabase("").redacted
      let databases = service.alsoReachable.filter { seen.insert(server + "\u{0}" + $0).inserted }
      guard !databases.isEmpty else { continue }
      // One session per service database reads every database of its server.
      let admin: SerialConnection
      do { admin = try await SerialConnection.connect(service.database) } catch {
        throw CleaveError(connecting: error, role: "database of service \"\(service.name)\"")
      }
      defer { Task { await admin.close() } }
      for database in databases {
        let keeping = try await admin.query(
          """
          SELECT r.rolname FROM pg_catalog.pg_roles r, pg_catalog.pg_database d
          WHERE d.datname = $1 AND r.rolcanlogin AND NOT r.rolsuper
            AND has_database_privilege(r.oid, d.oid, 'CONNECT') AND NOT (r.rolname = ANY ($2::text[]))
            AND coalesce(shobj_description(r.oid, 'pg_authid'), '') NOT LIKE 'cleave: %'
          ORDER BY r.rolname
          """, [database, PostgresArray.literal(ours)]
        ).rows.compactMap { $0.first ?? nil }
        let quoted = try await admin.quoteIdentifier(database)
        var statements: [String] = []
        if !keeping.isEmpty {
          var grantees: [String] = []
          for role in keeping { grantees.append(try await admin.quoteIdentifier(role)) }
          statements.append("GRANT CONNECT ON DATABASE \(quoted) TO \(grantees.joined(separator: ", "))")
        }
        statements.append("REVOKE CONNECT ON DATABASE \(quoted) FROM PUBLIC")
        closings.append(
          Closing(
            database: database, keeping: keeping, statements: statements.map { $0 + ";" }.joined(separator: "\n"),
            through: service.database))
      }
    }
    return closings
  }

  /// Runs each closing in its own transaction, and keeps it only when `PUBLIC` has lost `CONNECT`: PostgreSQL
  /// answers a non-owner's `GRANT` and `REVOKE` with a warning, not an error, and changes nothing.
  ///
  /// - Returns: for each closing, nil when it was done, or why it was not.
  public static func close(_ closings: [Closing]) async -> [String?] {
    var results: [String?] = []
    for closing in closings {
      do {
        let admin = try await SerialConnection.connect(closing.through)
        defer { Task { await admin.close() } }
        do {
          try await admin.execute("BEGIN;\n" + closing.statements)
          let open = try await admin.query(
            """
            SELECT count(*) FROM pg_catalog.pg_database d,
              aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
            WHERE d.datname = $1 AND a.grantee = 0 AND a.privilege_type = 'CONNECT'
            """, [closing.database]
          ).scalar
          guard open == "0" else {
            try await admin.execute("ROLLBACK")
            results.append("the admin may not change its privileges")
            continue
          }
          try await admin.execute("COMMIT")
        } catch {
          try? await admin.execute("ROLLBACK")
          throw error
        }
        results.append(nil)
      } catch let error as PostgresError {
        results.append(error.message)
      } catch {
        results.append("\(error)")
      }
    }
    return results
  }
}
