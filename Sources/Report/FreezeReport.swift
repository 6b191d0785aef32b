import Freeze

/// `cleave freeze` output: each frozen table, since when, at which WAL position, and the writes it took since.
public struct FreezeReport: Sendable {
  public let records: [Freezer.Record]
  public let action: String

  public init(records: [Freezer.Record], action: String) {
    self.records = records
    self.action = action
  }

  public func rendered(as format: OutputFormat) -> String {
    guard format == .text else { return JSONRendering.render(records) }
    guard !records.isEmpty else { return "nothing is frozen" }
    var lines = ["\(action): \(records.count) tables (writes to them now fail for every role)"]
    for record in records {
      let since = record.writesNow - record.writesAtFreeze
      lines.append(
        "  \(record.service): \(record.table) since \(record.frozenAt) at WAL \(record.walPosition), "
          + (since == 0 ? "no write since" : "\(since) ROWS WRITTEN SINCE"))
    }
    return lines.joined(separator: "\n")
  }
}
