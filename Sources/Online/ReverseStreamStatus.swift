/// Where the reverse stream of a cut-over service stands: how far the source is behind the service database, which
/// is what a rollback would have to wait for (a rollback loses nothing while this stream keeps up).
public struct ReverseStreamStatus: Sendable, Codable {
  /// The publication and slot (on the service database) and subscription (on the source).
  public var name: String
  /// How long a heartbeat written on the service database took to be applied on the source; nil when it did not
  /// arrive within the wait (then `lagAtLeastSeconds` says how long was waited).
  public var lagSeconds: Double?
  public var lagAtLeastSeconds: Double?
  /// Service database WAL not yet applied on the source, in bytes.
  public var lagBytes: Int64?
  /// How far the source has applied the service database's WAL (the subscription's replication origin).
  public var appliedPosition: String?
  /// WAL the reverse slot holds back on the service database, in bytes.
  public var walRetainedBytes: Int64?
  /// Whether a process reads the reverse slot now.
  public var slotActive: Bool?
}
