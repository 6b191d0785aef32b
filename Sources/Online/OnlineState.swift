/// Where one service stands in the online split, as its journal (`_cleave_online.journal` in the service's
/// database) records it; see docs/online.md for the transitions.
public enum OnlineState: String, Sendable, Codable, CaseIterable {
  /// The publication and slot exist (or are being made) and the seed is being copied in the slot's snapshot.
  case seeding
  /// The subscription applies the source's changes to the service database.
  case streaming
  /// A cutover is under way: connections paused, the source fenced, or the switch half made.
  case cuttingOver = "cutting-over"
  /// The application writes to the service database; the reverse stream carries its writes back to the source.
  case cutOver = "cut-over"
  /// A rollback is under way: the mirror image of a cutover.
  case rollingBack = "rolling-back"
  /// The reverse stream and slots are gone; the source's tables stay fenced.
  case completed
  /// Nothing of the online split is left; the service may be started again.
  case cancelled
}
