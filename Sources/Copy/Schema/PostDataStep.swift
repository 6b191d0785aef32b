import Catalog
import PostgresDriver

/// One index, constraint, trigger or other post-data entry of one service, with what it needs before it can run.
struct PostDataStep: Sendable {
  /// What the entry is, for its place in the order: builds need only their tables' rows; foreign keys also the
  /// keys of both tables; attachments every index; the rest everything else, one after another.
  enum Role: Sendable {
    case build, foreignKey, trigger, attach, other
  }

  var service: String
  var entry: TOCEntry
  var role: Role
  /// The progress step (`PostDataStep.progressStep`).
  var step: String
  /// The service database.
  var target: ConnInfo
  /// The tables the entry is on (both, for a foreign key); empty when it is on none or they are not known.
  var tables: Set<QualifiedName>
  /// The table the entry belongs to (a foreign key's own, not the one it references); nil when not known.
  var table: QualifiedName?
  /// Whether one of `tables` is partitioned (its rows are in its partitions: it waits for all of the service's).
  var onPartitionedTable: Bool
  /// SQL run instead of the archive's: a primary key or unique constraint built as `CREATE UNIQUE INDEX` and then
  /// attached with `ADD CONSTRAINT … USING INDEX`, which lets other indexes of the table build at the same time
  /// (`ADD PRIMARY KEY` locks the table against them for the whole build).
  var replacement: String?
  /// Estimated bytes of table the step reads, for ordering the work.
  var cost: Int64

  /// A short description for the timeline: `index orders_customer_idx`, `foreign key order_items_order_id_fkey`.
  var label: String {
    let words = step.split(separator: " ")
    let name = words.count >= 4 ? String(words[words.count - 2]) : step
    switch entry.kind {
    case "INDEX": return "index \(name)"
    case "CONSTRAINT": return "constraint \(name)"
    case "FK CONSTRAINT": return "foreign key \(name)"
    case "TRIGGER": return "trigger \(name)"
    default: return entry.kind.lowercased() + " " + name
    }
  }

  /// The progress step of an entry: its description without the dump id and OIDs, which can differ between
  /// dumps (`post INDEX public idx_actor_last_name postgres`).
  static func progressStep(of entry: TOCEntry) -> String {
    let parts = entry.line.split(separator: " ", maxSplits: 3)
    return "post " + (parts.count == 4 ? String(parts[3]) : entry.line)
  }
}
