import Catalog
import CleaveCore
import Plan
import PostgresDriver
import Verify

/// `cleave online verify`: compares each moved table on both sides while the stream runs, and reports only the
/// differences that persist.
///
/// While the application writes, two sides of a stream are never equal at one instant: the target applies a
/// little later. So the comparison runs in rounds. Each round takes a snapshot of the side the application writes
/// (the source while streaming, the service database after a cutover), then writes a heartbeat there and waits
/// for it on the other side, then takes the other side's snapshot: the second snapshot holds every transaction
/// of the first, and differs from it only in rows written in between. The first round compares every table
/// (checksums, then the differing rows narrowed by buckets, as `cleave verify`); each later round reads only the
/// rows that differed, afresh. A row is reported when it differs in the same way (the same rows on each side) in
/// every round: a row written in between differs once, then agrees; a row written constantly never differs the
/// same way twice.
public struct OnlineVerify: Sendable {
  public var plan: SplitPlan
  /// The services to verify; empty means every one started online.
  public var services: [String]
  /// How many rounds a difference must survive (at least 2).
  public var rounds = 3
  /// How many differing rows of one table the first round follows.
  public var limit = 1_000
  public var heartbeatTimeout: Duration = .seconds(30)

  public init(plan: SplitPlan, services: [String] = []) {
    self.plan = plan
    self.services = services
  }

  /// What a verify of one service found.
  public struct Result: Sendable, Codable {
    public var service: String
    public var state: OnlineState?
    /// `source to service` while streaming, `service to source` after a cutover.
    public var direction: String?
    public var rounds: Int
    public var tables: [TableResult]
    /// Whether no difference persisted and every one found was followed.
    public var clean: Bool
    public var notes: [String]
  }

  /// One table.
  public struct TableResult: Sendable, Codable {
    public var table: String
    /// Rows on the side the application writes, in the first round.
    public var rows: Int
    /// Differing rows in the first round (transient ones included).
    public var firstRound: Int
    /// How many of those were followed through the later rounds (at most `limit`).
    public var followed: Int
    public var persisting: [Persisting]
  }

  /// A row that differed the same way in every round.
  public struct Persisting: Sendable, Codable {
    /// The key's text (the whole row's, for a table without a key).
    public var key: String
    /// `missing` (only on the source), `extra` (only in the service database) or `changed`.
    public var kind: String
    public var source: [String]
    public var target: [String]
  }

  /// Verifies each chosen service that is streaming or cut over.
  ///
  /// - Throws: `CleaveError`: `onlineWrongState` for a service in no state to compare, `onlineFailed` when the
  ///   stream does not carry a heartbeat within `heartbeatTimeout`.
  public func run() async throws -> [Result] {
    var results: [Result] = []
    for service in plan.services where services.isEmpty || services.contains(service.name) {
      let target = service.server.withDatabase(service.database)
      guard let probe = try? await SerialConnection.connect(target) else {
        if services.isEmpty { continue }
        throw CleaveError(
          .onlineWrongState, "service \"\(service.name)\" has no database yet: it was not started online",
          hint: "`cleave online start -f \(plan.file.path) --service \(service.name)`")
      }
      let entry = try await OnlineJournal.entry(of: service.name, on: probe)
      await probe.close()
      if entry == nil, services.isEmpty { continue }
      let context = try await OnlineContext.open(service: service, target: target, plan: plan)
      defer { Task { await context.close() } }
      results.append(try await verify(context: context))
    }
    return results
  }

  /// The rounds for the service `context` opened.
  func verify(context: OnlineContext) async throws -> Result {
    let service = context.service
    let entry = try await OnlineJournal.entry(of: service.name, on: context.admin)
    guard let state = entry?.state, state == .streaming || state == .cutOver else {
      throw CleaveError(
        .onlineWrongState,
        "service \"\(service.name)\" is \(entry?.state.rawValue ?? "not started online"): only a streaming or "
          + "cut-over service is verified while it streams",
        hint: "`cleave online status -f \(plan.file.path)` shows where it stands")
    }
    let forward = state == .streaming
    let catalog = try await CatalogReader(connection: context.source).read()
    let comparisons = service.tables.compactMap { name in
      catalog.table(name).map { (name, TableComparison(table: $0, service: service, catalog: catalog)) }
    }
    var result = Result(
      service: service.name, state: state, direction: forward ? "source to service" : "service to source",
      rounds: max(rounds, 2), tables: [], clean: true, notes: [])
    var candidates: [QualifiedName: [String: TableComparison.RowPair]] = [:]
    for round in 1...result.rounds {
      let (source, target) = try await snapshots(context: context, forward: forward)
      defer {
        Task {
          await source.close()
          await target.close()
        }
      }
      for (name, comparison) in comparisons {
        if round == 1 {
          let differences = try await comparison.differences(source: source, target: target, limit: limit)
          let rows = try await TableChecksum.of(
            forward ? comparison.projection.select(range: nil) : comparison.projection.targetSelect,
            on: forward ? source : target
          ).rows
          let keys = differences.examples.map(\.key)
          let pairs = try await comparison.rows(keys: keys, source: source, target: target)
          candidates[name] = pairs.filter(\.value.differ)
          result.tables.append(
            TableResult(
              table: name.description, rows: rows, firstRound: differences.total, followed: keys.count,
              persisting: []))
          if differences.total > keys.count {
            result.clean = false
            result.notes.append(
              "\(name): \(differences.total) rows differed in the first round; the first \(keys.count) were "
                + "followed (--limit)")
          }
        } else if let earlier = candidates[name], !earlier.isEmpty {
          let now = try await comparison.rows(keys: Array(earlier.keys), source: source, target: target)
          candidates[name] = earlier.filter { key, pair in now[key] == pair }
        }
      }
      try await source.execute("COMMIT")
      try await target.execute("COMMIT")
    }
    for index in result.tables.indices {
      guard let name = comparisons.first(where: { $0.0.description == result.tables[index].table })?.0 else {
        continue
      }
      result.tables[index].persisting = (candidates[name] ?? [:]).sorted { $0.key < $1.key }.map { key, pair in
        Persisting(
          key: key, kind: pair.target.isEmpty ? "missing" : pair.source.isEmpty ? "extra" : "changed",
          source: pair.source, target: pair.target)
      }
      if !result.tables[index].persisting.isEmpty { result.clean = false }
    }
    return result
  }

  /// A snapshot of the side the application writes, a heartbeat written there after it and waited for on the
  /// other side, then the other side's snapshot: the second holds every transaction of the first.
  ///
  /// - Returns: sessions on the source and the service database, each in a read-only repeatable-read
  ///   transaction.
  private func snapshots(context: OnlineContext, forward: Bool) async throws -> (SerialConnection, SerialConnection) {
    let source = try await SerialConnection.connect(plan.source, readOnly: true)
    let target: SerialConnection
    do { target = try await SerialConnection.connect(context.target, readOnly: true) } catch {
      await source.close()
      throw error
    }
    let begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1"
    let (first, second) = forward ? (source, target) : (target, source)
    let (writer, reader) = forward ? (context.source, context.admin) : (context.admin, context.source)
    try await first.execute(begin)
    guard let beat = try await Heartbeat.beat(context.service.name, on: writer),
      try await Heartbeat.wait(for: beat, of: context.service.name, on: reader, timeout: heartbeatTimeout) != nil
    else {
      await source.close()
      await target.close()
      throw CleaveError(
        .onlineFailed,
        "a heartbeat of \"\(context.service.name)\" did not cross the stream within "
          + "\(Int(heartbeatTimeout.inSeconds)) s: the stream is stopped or far behind",
        hint: "`cleave online status -f \(plan.file.path)` says why")
    }
    try await second.execute(begin)
    return (source, target)
  }

  /// The switches' gate: a verify of the service `context` opened, which must be clean.
  ///
  /// - Returns: the gate's note.
  /// - Throws: `CleaveError` (`onlineRefused`) naming what persisted.
  static func gate(context: OnlineContext, plan: SplitPlan) async throws -> String {
    let result = try await OnlineVerify(plan: plan, services: [context.service.name]).verify(context: context)
    guard result.clean else {
      let tables = result.tables.filter { !$0.persisting.isEmpty }.map {
        "\($0.table) (\($0.persisting.count) rows, first \($0.persisting[0].kind) \($0.persisting[0].key))"
      }
      throw CleaveError(
        .onlineRefused,
        "online verify found differences that persist: " + (tables + result.notes).joined(separator: "; "),
        hint: "`cleave online verify -f \(plan.file.path) --service \(context.service.name)` lists them")
    }
    let rows = result.tables.map(\.rows).reduce(0, +)
    return "gate: online verify clean (\(result.tables.count) tables, \(rows) rows, \(result.rounds) rounds)"
  }
}
