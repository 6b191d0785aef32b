import CleaveCore

/// What changes about one table on its way to a service: which rows go, its new name, and its columns.
///
/// The copy executes these; the plan validates them against the source catalog (every column named must exist,
/// every SQL fragment must parse).
public struct TableTransform: Sendable {
  /// The source table, as written under `transforms:`.
  public var table: Located<String>
  /// Keep only rows for which this SQL predicate over the source row is true (`deleted_at IS NULL`).
  public var rowFilter: Located<String>?
  /// The table's name in the target (`name` keeps the source schema, `schema.name` sets both).
  public var renameTo: Located<String>?
  public var columns: [ColumnTransform]
  /// What happens to rows whose parent row (through a foreign key inside the service) a filter leaves out.
  public var onOrphan: Located<OnOrphan>? = nil

  /// `on_orphan`: rows whose parent a filter leaves out are left out too (`drop`), or kept, and the foreign key
  /// is not created in the target (`keep-as-soft-reference`).
  public enum OnOrphan: String, Sendable, CaseIterable {
    case drop
    case keepAsSoftReference = "keep-as-soft-reference"
  }
}

/// What happens to one column, or which column is added.
public struct ColumnTransform: Sendable {
  /// The action, one per column entry.
  public enum Action: Sendable {
    /// Leave the column out of the target.
    case drop
    /// Give the column another name in the target.
    case rename(String)
    /// Add a column computed by a SQL expression over the source row, of the given type.
    case add(expression: String, type: String)
    /// Replace the value by a lookup in another source table: the `take` column of the `via` row whose `match`
    /// column equals this column's value (`user_id` -> `users.firebase_uid`). `renameTo` names the result.
    case rekey(Rekey)
  }

  public var column: Located<String>
  public var action: Action
  public var location: SourceLocation
}

/// A re-keying lookup: `via` table, the column that matches the old value, and the column that gives the new one.
public struct Rekey: Sendable {
  public var via: Located<String>
  public var match: Located<String>
  public var take: Located<String>
  public var renameTo: String?
  /// What to do when no `via` row matches: `error` (default), `null`, or `keep` the old value.
  public var onMissing: OnMissing

  /// The policy for a value with no match in the lookup table.
  public enum OnMissing: String, Sendable, CaseIterable {
    case error, null, keep
  }
}
