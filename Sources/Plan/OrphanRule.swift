import Catalog
import CleaveCore
import SQLParser

/// Foreign keys inside one service whose referenced rows a filter leaves out, and what the plan does about the
/// rows that would point at nothing: the one place copy, verify and `plan` learn it from.
///
/// A table's rows are filtered when it has a `where`, or `on_orphan: drop` and a filtered parent (so a
/// grandchild of a filtered table is at risk too). A foreign key from a table of the service to a filtered table
/// of the same service is at risk: the child's rows whose parent is left out would break it in the target. The
/// plan must say what happens to them: the child is filtered the same way (its `where` reads the parent), or
/// `on_orphan: drop` leaves them out, or `on_orphan: keep-as-soft-reference` keeps them and the key is not
/// created (CLV1017 otherwise, at `plan`).
public struct OrphanRule: Sendable {
  let service: ServicePlan
  let catalog: DatabaseCatalog

  public init(service: ServicePlan, catalog: DatabaseCatalog) {
    self.service = service
    self.catalog = catalog
  }

  /// The transform written for `table`'s partition tree.
  func transform(of table: QualifiedName) -> TableTransform? {
    service.transforms[catalog.partitionRoot(of: table)]
  }

  /// Whether some of `table`'s rows are left out: its `where`, or `on_orphan: drop` with a parent at risk.
  public func isFiltered(_ table: QualifiedName, visiting: Set<QualifiedName> = []) -> Bool {
    let root = catalog.partitionRoot(of: table)
    guard !visiting.contains(root), let transform = transform(of: root) else { return false }
    if transform.rowFilter != nil { return true }
    guard transform.onOrphan?.value == .drop else { return false }
    return !keysAtRisk(from: root, visiting: visiting.union([root])).isEmpty
  }

  /// The foreign keys of `table` to a filtered table of the same service.
  ///
  /// Its own, and its tree root's (a key declared on a partitioned table holds for every partition); for a root,
  /// the keys of its partitions too (pagila declares `payment`'s keys on each partition).
  public func keysAtRisk(from table: QualifiedName, visiting: Set<QualifiedName> = []) -> [ForeignKey] {
    let root = catalog.partitionRoot(of: table)
    let members: Set<QualifiedName> = table == root ? Set([root] + catalog.partitions(of: root)) : [table, root]
    let owned = Set(service.tables)
    return catalog.foreignKeys.filter { key in
      members.contains(key.table) && owned.contains(catalog.partitionRoot(of: key.referencedTable))
        && isFiltered(key.referencedTable, visiting: visiting.union([root]))
    }
  }

  /// The condition, over the rows of `table` aliased `alias`, that keeps only those whose parents are kept, for
  /// `on_orphan: drop`; nil when the table does not drop orphans or has no key at risk.
  ///
  /// A key with a NULL column points at nothing and breaks nothing (`MATCH SIMPLE`), so such rows stay.
  public func keepCondition(of table: QualifiedName, alias: String, depth: Int = 0) -> String? {
    guard transform(of: table)?.onOrphan?.value == .drop else { return nil }
    let root = catalog.partitionRoot(of: table)
    // Each partition is copied on its own: its own keys and its root's, not its siblings'.
    let keys = keysAtRisk(from: table).filter { $0.table == table || $0.table == root }
    guard !keys.isEmpty else { return nil }
    let quote = QualifiedName.quote
    return keys.map { key in
      let parent = "p\(depth)"
      let nulls = key.columns.map { "\(alias).\(quote($0)) IS NULL" }
      var inner = zip(key.referencedColumns, key.columns).map { "\(parent).\(quote($0)) = \(alias).\(quote($1))" }
      let parentTransform = transform(of: key.referencedTable)
      // The parent's own filter reads its columns unqualified: inside this subquery they resolve to its row.
      if let filter = parentTransform?.rowFilter?.value { inner.append("(\(filter))") }
      if let deeper = keepCondition(of: key.referencedTable, alias: parent, depth: depth + 1) { inner.append(deeper) }
      return "(" + nulls.joined(separator: " OR ") + " OR EXISTS (SELECT 1 FROM \(key.referencedTable.quoted) AS "
        + "\(parent) WHERE " + inner.joined(separator: " AND ") + "))"
    }.joined(separator: " AND ")
  }

  /// The keys the target does not get because their table keeps its orphans (`keep-as-soft-reference`).
  public func keysNotCreated(from table: QualifiedName) -> [ForeignKey] {
    transform(of: table)?.onOrphan?.value == .keepAsSoftReference ? keysAtRisk(from: table) : []
  }

  /// Fails on the first key at risk that the plan says nothing about.
  ///
  /// - Throws: `CleaveError` (`planBreaksForeignKey`) at the parent's `where` (or its transform), naming the key
  ///   and both ways out.
  public func check() throws(CleaveError) {
    for child in service.tables where catalog.partitionRoot(of: child) == child {
      let childTransform = transform(of: child)
      guard childTransform?.onOrphan == nil else { continue }
      let readsParent =
        childTransform?.rowFilter.flatMap { try? SQLParser.tableReferences(in: "SELECT 1 WHERE " + $0.value) }
        .map { Set($0.flatMap(catalog.relations(named:))) } ?? []
      for key in keysAtRisk(from: child) where !readsParent.contains(key.referencedTable) {
        let parent = transform(of: key.referencedTable)
        let location = parent?.rowFilter?.location ?? parent?.table.location
        let columns = key.columns.map { "\"\($0)\"" }.joined(separator: ", ")
        throw CleaveError(
          .planBreaksForeignKey,
          "service \"\(service.name)\": the rows of \(key.referencedTable) its filter leaves out are referenced by "
            + "\(child) through foreign key \(key.name) (\(columns)); those rows of \(child) would point at nothing "
            + "and the key cannot be created in the target",
          hint: "filter \(child) the same way (a `where` that reads \(key.referencedTable), such as \(columns) IN "
            + "(SELECT … FROM \(key.referencedTable) WHERE …)), or give its transform `on_orphan: drop` (leave those "
            + "rows out) or `on_orphan: keep-as-soft-reference` (keep them; the key is not created)",
          at: location)
      }
    }
  }
}
