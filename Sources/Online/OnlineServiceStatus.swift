/// Where one service's online split stands, as `cleave online status` reports it (JSON for monitoring).
public struct OnlineServiceStatus: Sendable, Codable {
  /// One moved table.
  public struct TableStatus: Sendable, Codable {
    public var name: String
    /// `streaming` once the subscription applies its changes; otherwise the subscription's own state letter.
    public var state: String
    /// Inserts, updates and deletes applied per second over the sampling window (PostgreSQL's statistics, which
    /// backends flush about once a second, so this is approximate).
    public var changesPerSecond: Double?
  }

  public var service: String
  /// The journal's state; nil when the service was never started online.
  public var state: OnlineState?
  /// The publication, slot and subscription's name.
  public var name: String
  /// Where the seed and the stream met.
  public var consistentPoint: String?
  /// The source's current WAL position.
  public var sourcePosition: String?
  /// How far the service database has *applied* the source's WAL (its replication origin), not what was sent.
  public var appliedPosition: String?
  /// Source WAL not yet applied, in bytes.
  public var lagBytes: Int64?
  /// How long a heartbeat written on the source now took to be applied on the service database; nil when it
  /// did not arrive within the wait (then `lagAtLeastSeconds` says how long was waited) or was not measured.
  public var lagSeconds: Double?
  public var lagAtLeastSeconds: Double?
  /// WAL the slot holds back on the source (from its restart point to now), in bytes.
  public var walRetainedBytes: Int64?
  /// Whether a process reads the slot now (the subscription's WAL sender).
  public var slotActive: Bool?
  /// Bytes of source WAL applied per second over the sampling window.
  public var appliedBytesPerSecond: Double?
  public var tables: [TableStatus]
  /// The reverse stream, once cut over.
  public var reverse: ReverseStreamStatus?
  /// What is wrong, when something is (the stream stopped, the slot is gone).
  public var problems: [String]
}
