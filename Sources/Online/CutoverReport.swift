import Catalog
import Plan
import PostgresDriver
import Verify

/// What one `cleave online cutover` did: the timeline, the write freeze, and the exact check made after it.
public struct CutoverReport: Sendable, Codable {
  /// One step, in milliseconds since the cutover began.
  public struct Event: Sendable, Codable {
    public var step: String
    public var atMilliseconds: Int
  }

  /// One moved table compared between the fenced source and the service database as of the switch.
  public struct TableCheck: Sendable, Codable {
    public var table: String
    public var sourceRows: Int
    public var targetRows: Int
    public var equal: Bool
  }

  public var service: String
  /// `cut-over`, or `streaming` when the cutover was a dry run or was undone.
  public var state: OnlineState
  public var dryRun: Bool
  /// From the pause (the first write held) to the resume (the first write let through); nil for a dry run.
  public var freezeMilliseconds: Int?
  /// The source's WAL position once the fence held: everything before it is in the service database.
  public var fencePoint: String?
  public var sequences: Int
  public var timeline: [Event]
  public var tables: [TableCheck]
  /// Notes: a half-done cutover found and undone first, the gate's measurements.
  public var notes: [String]
}

extension CutoverReport.TableCheck {
  /// Every moved table of `service` checksummed on both sides as of a switch (each side a session holding the
  /// view to compare): partitions on their own, as each projection reads its own rows (`ONLY`).
  static func all(
    of service: ServicePlan, catalog: DatabaseCatalog, source: SerialConnection, target: SerialConnection
  ) async throws -> [CutoverReport.TableCheck] {
    var checks: [CutoverReport.TableCheck] = []
    for name in service.tables {
      guard let table = catalog.table(name) else { continue }
      let projection = TableProjection(table: table, service: service, catalog: catalog)
      let one = try await TableChecksum.of(projection.select(range: nil), on: source)
      let other = try await TableChecksum.of(projection.targetSelect, on: target)
      checks.append(.init(table: name.description, sourceRows: one.rows, targetRows: other.rows, equal: one == other))
    }
    return checks
  }
}
