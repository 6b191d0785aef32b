/// Writes each service's connection settings in one of the forms services use (`ConfigFormat`).
///
/// Passwords are referenced (`${AUTH_DB_PASSWORD}`, which `.env` loaders, Spring, Prisma and docker compose all
/// expand from the environment) unless the connections carry them (`--inline-secrets`).
public struct ConfigWriter: Sendable {
  public let connections: [ServiceConnection]
  /// The PostgreSQL major version of each target server, for the compose image; 16 when unknown.
  public let serverMajors: [String: Int]

  public init(connections: [ServiceConnection], serverMajors: [String: Int] = [:]) {
    self.connections = connections
    self.serverMajors = serverMajors
  }

  private var secret: Bool { connections.contains { $0.password != nil } }

  public func files(_ format: ConfigFormat) -> [ConfigFile] {
    switch format {
    case .env: return [ConfigFile(path: ".env", content: env(), secret: secret)]
    case .spring:
      return connections.map { ConfigFile(path: "\($0.service)/application.yml", content: spring($0), secret: secret) }
    case .prisma:
      return connections.flatMap { connection in
        [
          ConfigFile(path: "\(connection.service)/schema.prisma", content: prisma(connection), secret: false),
          ConfigFile(
            path: "\(connection.service)/.env",
            content: header("#") + "\(connection.urlVariable)=\(connection.prismaURL)\n", secret: secret),
        ]
      }
    case .compose:
      return [ConfigFile(path: "docker-compose.yml", content: compose(), secret: secret)]
        + databases.map {
          ConfigFile(path: Self.initScript($0.name), content: roleScript($0.connection), secret: false)
        }
    }
  }

  private func header(_ comment: String) -> String {
    "\(comment) Written by `cleave config`. "
      + (secret
        ? "It holds passwords: keep it out of version control.\n"
        : "Passwords are referenced: set each *_DB_PASSWORD (the secrets file has them).\n")
  }

  func env() -> String {
    header("#") + connections.map { "\($0.urlVariable)=\($0.libpqURL)\n" }.joined()
  }

  func spring(_ connection: ServiceConnection) -> String {
    let quote = YAMLText.quote
    return header("#") + """
      spring:
        datasource:
          url: \(quote(connection.jdbcURL))
          username: \(quote(connection.user))
          password: \(quote(connection.passwordText))
          driver-class-name: org.postgresql.Driver
          hikari:
            pool-name: \(quote(connection.service))
            maximum-pool-size: \(connection.pool.resolvedSize)
            minimum-idle: \(connection.pool.resolvedMinimumIdle)

      """
  }

  func prisma(_ connection: ServiceConnection) -> String {
    let schemas = connection.schemas.map { "\"\(PrismaText.escape($0))\"" }.joined(separator: ", ")
    return header("//") + """
      datasource db {
        provider = "postgresql"
        url      = env("\(connection.urlVariable)")
        schemas  = [\(schemas)]
      }

      """
  }

  /// The service databases, each with the first connection that uses it (services sharing a database share it).
  var databases: [(name: String, connection: ServiceConnection)] {
    var databases: [(name: String, connection: ServiceConnection)] = []
    for connection in connections where !databases.contains(where: { $0.name == connection.database }) {
      databases.append((connection.database, connection))
    }
    return databases
  }

  /// Where a database's role script goes, next to the compose file.
  static func initScript(_ database: String) -> String { "initdb/\(composeName(database)).sh" }

  /// One container per service database (services sharing a database share its container), on ports 5433 and up.
  ///
  /// The container's superuser is `postgres`, with a password of its own (`<SERVICE>_DB_ADMIN_PASSWORD`, required);
  /// the application's role is made by `initdb/<database>.sh` at the container's first start, with what it gets
  /// on the real target: it connects, reads and writes the tables, and creates nothing (it was the superuser).
  func compose() -> String {
    let quote = YAMLText.quote
    var lines = [header("#") + "services:"]
    var volumes: [String] = []
    for (index, entry) in databases.enumerated() {
      let connection = entry.connection
      let name = Self.composeName(entry.name) + "-db"
      let volume = name + "-data"
      volumes.append(volume)
      let password = connection.password.map { $0.replacingOccurrences(of: "$", with: "$$") } ?? connection.passwordText
      let admin = connection.environmentPrefix + "_DB_ADMIN_PASSWORD"
      lines += [
        "  \(name):",
        "    image: \(quote("postgres:\(serverMajors[connection.target] ?? 16)"))",
        "    environment:",
        "      POSTGRES_DB: \(quote(connection.database))",
        "      POSTGRES_USER: \(quote("postgres"))",
        "      POSTGRES_PASSWORD: \(quote("${\(admin):?set \(admin), the container superuser's password}"))",
        "      CLEAVE_APP_USER: \(quote(connection.user))",
        "      CLEAVE_APP_PASSWORD: \(quote(password))",
        "      CLEAVE_APP_SCHEMAS: \(quote(connection.schemas.joined(separator: " ")))",
        "    ports:",
        "      - \(quote("\(5433 + index):5432"))",
        "    volumes:",
        "      - \(quote("\(volume):/var/lib/postgresql/data"))",
        "      - \(quote("./\(Self.initScript(entry.name)):/docker-entrypoint-initdb.d/10-cleave-app-role.sh:ro"))",
        "    healthcheck:",
        "      test: [\"CMD-SHELL\", \(quote("pg_isready -U postgres -d \(connection.database)"))]",
        "      interval: 5s",
        "      timeout: 5s",
        "      retries: 10",
      ]
    }
    lines.append("volumes:")
    lines += volumes.map { "  \($0): {}" }
    return lines.joined(separator: "\n") + "\n"
  }

  /// The script the container runs at its first start (as its superuser): the application role, with the
  /// privileges Cleave gives it on the real target, its name and password from the container's environment.
  func roleScript(_ connection: ServiceConnection) -> String {
    """
    #!/bin/sh
    # Written by `cleave config`: the application role of \(connection.database), which is not the container's
    # superuser. Its name and password come from CLEAVE_APP_USER and CLEAVE_APP_PASSWORD.
    set -e
    psql -X -v ON_ERROR_STOP=1 -v app_user="$CLEAVE_APP_USER" -v app_password="$CLEAVE_APP_PASSWORD" \\
      --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
    CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password';
    SELECT format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()) \\gexec
    SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'app_user') \\gexec
    SQL
    for schema in ${CLEAVE_APP_SCHEMAS:-public}; do
      psql -X -v ON_ERROR_STOP=1 -v app_user="$CLEAVE_APP_USER" -v schema="$schema" \\
        --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
    CREATE SCHEMA IF NOT EXISTS :"schema";
    GRANT USAGE ON SCHEMA :"schema" TO :"app_user";
    ALTER DEFAULT PRIVILEGES IN SCHEMA :"schema" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_user";
    ALTER DEFAULT PRIVILEGES IN SCHEMA :"schema" GRANT USAGE, SELECT ON SEQUENCES TO :"app_user";
    ALTER DEFAULT PRIVILEGES IN SCHEMA :"schema" GRANT EXECUTE ON FUNCTIONS TO :"app_user";
    SQL
    done

    """
  }

  /// A compose service name: lower-case letters, digits, `-` and `_`.
  static func composeName(_ name: String) -> String {
    String(name.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") ? $0 : "-" })
  }
}

/// YAML double-quoted scalars.
enum YAMLText {
  static func quote(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\\": out += "\\\\"
      case "\"": out += "\\\""
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 {
          out += String(format: "\\x%02X", scalar.value)
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}

/// Prisma string literals.
enum PrismaText {
  static func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
  }
}
