import Catalog
import Plan

/// One unit of data to copy: a table, or one key range of a large table, with the two COPY statements that move
/// it and the progress step that records it.
struct TableJob: Sendable {
  var service: String
  var table: QualifiedName
  /// `COPY (SELECT …) TO STDOUT` on the source, with the transform compiled in.
  var copyOut: String
  /// `COPY table (columns) FROM STDIN` on the target.
  var copyIn: String
  /// Binary or text, decided for the table (`CopyFormat`).
  var format: CopyFormat = .text
  /// Whether the job empties the table in its own transaction and loads it with `FREEZE`: a whole table, or the
  /// first key range of one when no other range is in yet (the table's other ranges wait for it to commit).
  var freezes = false
  /// The progress step, unique per service database: `data public.film` or `data public.film 2/8`.
  var step: String
  var estimatedBytes: Int64

  /// Its service and table, as one key: the jobs of one table share it.
  var tableKey: String { "\(service)\u{0}\(table)" }

  /// What the job copies, as a short hash of its two statements (and its format, when binary).
  ///
  /// It is kept with the progress step, so a rerun
  /// whose plan changed the table's rows (a new filter, a new re-key) recopies it instead of keeping stale rows.
  var signature: String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, 64 bits: not for security, only to notice a change
    for byte in (copyOut + "\u{0}" + copyIn + (format == .binary ? "\u{0}binary" : "")).utf8 {
      hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }
    return String(hash, radix: 16)
  }
}
