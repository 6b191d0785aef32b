/// The forms `cleave config` writes a service's connection settings in.
public enum ConfigFormat: String, Sendable, CaseIterable {
  /// One `.env` with a `<SERVICE>_DATABASE_URL=postgresql://…` line per service.
  case env
  /// A Spring Boot `application.yml` per service: `spring.datasource` with a HikariCP pool.
  case spring
  /// A Prisma `datasource db { … }` block per service, and the `.env` line its `env("…")` reads.
  case prisma
  /// A docker compose file with one PostgreSQL container per service database.
  case compose
}

/// One file `cleave config` writes: its path under `--out`, its text, and whether it holds a password.
public struct ConfigFile: Sendable, Equatable {
  public var path: String
  public var content: String
  /// True when the text holds a password (`--inline-secrets`): the file is written with mode 0600.
  public var secret: Bool
}
