import Freeze

/// `cleave freeze` output: each frozen table, since when, at which WAL position, and the writes it took since;
/// what this run re-armed; and, loudly, anything that still leaves the fence open.
public struct FreezeReport: Sendable {
  public let fence: Fence
  public let action: String

  public init(fence: Fence, action: String) {
    self.fence = fence
    self.action = action
  }

  public func rendered(as format: OutputFormat) -> String {
    guard format == .text else { return JSONRendering.render(fence) }
    guard !fence.records.isEmpty else { return "nothing is frozen" }
    var lines = [
      fence.holds
        ? "\(action): \(fence.records.count) tables (writes to them now fail for every role)"
        : "\(action): \(fence.records.count) tables, but THE FREEZE DOES NOT HOLD:"
    ]
    lines += fence.problems.map { "  OPEN: \($0)" }
    lines += fence.rearmed.map { "  re-armed: \($0)" }
    for record in fence.records {
      let since = record.writesNow - record.writesAtFreeze
      lines.append(
        "  \(record.service): \(record.table) since \(record.frozenAt) at WAL \(record.walPosition), "
          + (since == 0 ? "no write since" : "\(since) ROWS WRITTEN SINCE"))
    }
    lines.append(
      fence.guardsDDL
        ? "  DDL on these tables (ALTER, DROP, new partitions) is refused by Cleave's event triggers"
        : "  DDL on these tables by their owner is not refused (freeze as a superuser for that): freeze, status "
          + "and verify detect it")
    return lines.joined(separator: "\n")
  }
}
