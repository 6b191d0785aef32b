/// How `cleave online cutover` moves a service's application connections from the source to the service
/// database (the plan's `switch:`), and back at an online rollback.
public enum ConnectionSwitch: Sendable, Hashable {
  /// A PgBouncer entry: `PAUSE` and `RESUME` it on the admin console, and rewrite its line in the `[databases]`
  /// file PgBouncer includes, then `RELOAD`.
  case pgbouncer(PgBouncerEntry)
  /// A program run with `CLEAVE_SERVICE`, `CLEAVE_PHASE` (`pause`, `switch`, `resume`, `abort`) and
  /// `CLEAVE_DATABASE_URL` (the application's new URL) in its environment; it must exit 0.
  case command(String)
}

/// One database entry of a PgBouncer.
public struct PgBouncerEntry: Sendable, Hashable {
  /// The admin console's URL (`postgresql://pgbouncer@127.0.0.1:6432/pgbouncer`).
  public var admin: String
  /// The file holding the `[databases]` entries, which Cleave rewrites one line of.
  public var config: String
  /// The entry's name: the database name the application connects to through PgBouncer.
  public var database: String

  public init(admin: String, config: String, database: String) {
    self.admin = admin
    self.config = config
    self.database = database
  }
}
