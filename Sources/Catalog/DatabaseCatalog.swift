/// Everything Cleave knows about a source database, read from the system catalogs in one snapshot.
///
/// `cleave inspect` prints it, `cleave plan` checks a plan against it, and its JSON form is documented in
/// `docs/inspect-json.md`. Every list is sorted by name, so two reads of an unchanged database are identical.
public struct DatabaseCatalog: Sendable, Codable {
  /// The version of this JSON document's layout; it changes only when a field is removed or changes meaning.
  public var formatVersion = 1
  public var database: String
  public var serverVersion: String
  /// The cluster's system identifier (`pg_control_system()`), unique per `initdb`.
  ///
  /// Nil when the role may not read it. With `database` it tells two sources apart.
  public var systemIdentifier: String?
  public var schemas: [Schema]
  public var tables: [Table]
  public var sequences: [Sequence]
  public var types: [UserType]
  public var views: [View]
  public var functions: [Function]
  public var triggers: [Trigger]
  public var extensions: [Extension]
  /// Whether `pg_stat_statements` is installed in this database and readable.
  public var hasStatStatements: Bool

  public init(
    database: String, serverVersion: String, schemas: [Schema], tables: [Table], sequences: [Sequence],
    types: [UserType], views: [View], functions: [Function], triggers: [Trigger], extensions: [Extension],
    hasStatStatements: Bool, systemIdentifier: String? = nil
  ) {
    self.systemIdentifier = systemIdentifier
    self.database = database
    self.serverVersion = serverVersion
    self.schemas = schemas
    self.tables = tables
    self.sequences = sequences
    self.types = types
    self.views = views
    self.functions = functions
    self.triggers = triggers
    self.extensions = extensions
    self.hasStatStatements = hasStatStatements
  }

  /// The table called `name`, if there is one.
  public func table(_ name: QualifiedName) -> Table? { tableIndex[name] }

  private var tableIndex: [QualifiedName: Table] {
    Dictionary(tables.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
  }

  /// Every foreign key of every table.
  public var foreignKeys: [ForeignKey] { tables.flatMap(\.foreignKeys) }

  /// The partitions of `table`, all the way down, in name order.
  public func partitions(of table: QualifiedName) -> [QualifiedName] {
    let direct = tables.filter { $0.partitionOf == table }.map(\.name)
    return direct.flatMap { [$0] + partitions(of: $0) }.sorted()
  }

  /// The topmost partitioned table that `table` belongs to, or `table` itself when it is no partition.
  public func partitionRoot(of table: QualifiedName) -> QualifiedName {
    var current = table
    var seen: Set<QualifiedName> = [table]
    while let parent = self.table(current)?.partitionOf, seen.insert(parent).inserted { current = parent }
    return current
  }

  /// The tables a view reads, following views it reads down to their tables.
  public func tablesRead(by view: QualifiedName) -> Set<QualifiedName> {
    var result: Set<QualifiedName> = []
    var pending = [view]
    var visited: Set<QualifiedName> = []
    let views = Dictionary(self.views.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    while let next = pending.popLast() {
      guard visited.insert(next).inserted, let found = views[next] else { continue }
      for read in found.reads {
        if views[read] != nil { pending.append(read) } else { result.insert(read) }
      }
    }
    return result
  }
}
