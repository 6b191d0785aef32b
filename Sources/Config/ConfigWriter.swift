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
    case .compose: return [ConfigFile(path: "docker-compose.yml", content: compose(), secret: secret)]
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

  /// One container per service database (services sharing a database share its container), on ports 5433 and up.
  func compose() -> String {
    let quote = YAMLText.quote
    var databases: [(name: String, connection: ServiceConnection)] = []
    for connection in connections where !databases.contains(where: { $0.name == connection.database }) {
      databases.append((connection.database, connection))
    }
    var lines = [header("#") + "services:"]
    var volumes: [String] = []
    for (index, entry) in databases.enumerated() {
      let connection = entry.connection
      let name = Self.composeName(entry.name) + "-db"
      let volume = name + "-data"
      volumes.append(volume)
      let password = connection.password.map { $0.replacingOccurrences(of: "$", with: "$$") } ?? connection.passwordText
      lines += [
        "  \(name):",
        "    image: \(quote("postgres:\(serverMajors[connection.target] ?? 16)"))",
        "    environment:",
        "      POSTGRES_DB: \(quote(connection.database))",
        "      POSTGRES_USER: \(quote(connection.user))",
        "      POSTGRES_PASSWORD: \(quote(password))",
        "    ports:",
        "      - \(quote("\(5433 + index):5432"))",
        "    volumes:",
        "      - \(quote("\(volume):/var/lib/postgresql/data"))",
        "    healthcheck:",
        "      test: [\"CMD-SHELL\", \(quote("pg_isready -U \(connection.user) -d \(connection.database)"))]",
        "      interval: 5s",
        "      timeout: 5s",
        "      retries: 10",
      ]
    }
    lines.append("volumes:")
    lines += volumes.map { "  \($0): {}" }
    return lines.joined(separator: "\n") + "\n"
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
