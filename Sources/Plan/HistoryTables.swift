/// Tables migration tools keep their history in (Prisma, Flyway, Rails, Django, Knex, Entity Framework, goose).
///
/// They are never data to split: each service gets a history of its own (`cleave migrate baseline`), so `init`
/// leaves them out of every service and `plan` does not count them as tables no service owns.
public enum HistoryTables {
  public static let names: Set<String> = [
    "_prisma_migrations", "flyway_schema_history", "schema_migrations", "ar_internal_metadata",
    "django_migrations", "knex_migrations", "knex_migrations_lock", "__EFMigrationsHistory", "goose_db_version",
  ]
}
