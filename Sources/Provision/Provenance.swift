/// How Cleave marks what it created, so that later steps (rerun, rollback) touch only that.
///
/// The mark is a comment on the object itself (`COMMENT ON DATABASE/ROLE … IS 'cleave: service catalog'`), so it
/// travels with the object and cannot disagree with it the way a separate state file could.
public enum Provenance {
  /// The comment Cleave puts on a database or role it creates for `service`.
  public static func mark(service: String) -> String { "cleave: service \(service)" }

  /// The comment on a database that several services share (one schema each).
  public static let sharedDatabaseMark = "cleave: shared database"

  /// Whether `comment` says Cleave created the object.
  public static func isCleaves(_ comment: String?) -> Bool { comment?.hasPrefix("cleave: ") ?? false }
}
