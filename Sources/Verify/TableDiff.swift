import Catalog
import PostgresDriver

/// Narrows a table's difference down to rows, the way pg_comparator does: by buckets of a hash of each row's key.
///
/// Each side reduces its rows to `(key hash, key text, row hash)` inside the server. Rows are grouped into buckets
/// by the top bits of the key hash; each bucket's count and sum of row hashes are compared, and only the buckets
/// that differ are split further (12 more bits a level) until few rows are left in them. Those rows' hashes are
/// then streamed from both sides in the same order (key hash, then key text in byte order: the same on two servers
/// whatever their collations) and merged. Only bucket sums and the hashes of rows in differing buckets travel; a
/// few changed rows are fetched whole to name the columns that differ. Memory stays flat: every result is read
/// through a cursor.
struct TableDiff {
  /// One side: its connection (in an open transaction) and the query of its rows.
  struct Side {
    var connection: SerialConnection
    /// The rows, one column per projected column, in the same order on both sides.
    var query: String
    /// The key's columns, as the query names them; empty for a table compared as a multiset.
    var key: [String]
  }

  let expected: Side
  let actual: Side
  /// The projected columns' names in the service database, to name the columns of a changed row.
  let columns: [String]
  /// The key's columns under those names (empty: no key).
  let keyNames: [String]
  /// The larger side's row count, to size the first level of buckets.
  let rows: Int
  /// How many differences are kept as examples.
  var examplesLimit = VerifySummary.examplesPerTable

  /// Rows left in differing buckets below which the rows themselves are merged.
  static let mergeBelow = 20_000
  static let bitsPerLevel = 12
  static let hashBits = 60
  /// More differing buckets than this, and the rows are merged without narrowing further.
  static let maximumBuckets = 4_096

  func run() async throws -> TableDifferences {
    var filter: (shift: Int, buckets: [Int64])?
    if rows > Self.mergeBelow {
      var bits = min(16, max(4, Self.log2Ceiling(rows / 64)))
      while true {
        let shift = Self.hashBits - bits
        let (buckets, rowsInThem) = try await differingBuckets(shift: shift, within: filter)
        if buckets.isEmpty { return TableDifferences(key: keyNames) }
        // Differences everywhere: splitting further would not narrow anything; merge what the last level kept.
        if buckets.count > Self.maximumBuckets { break }
        filter = (shift, buckets)
        if rowsInThem <= Self.mergeBelow || shift == 0 { break }
        bits = min(Self.hashBits, bits + Self.bitsPerLevel)
      }
    }
    var result = try await mergeRows(within: filter)
    try await nameChangedColumns(&result)
    return result
  }

  static func log2Ceiling(_ value: Int) -> Int {
    var bits = 0
    while (1 << bits) < value { bits += 1 }
    return bits
  }

  /// The side's rows as `kh` (a 60-bit hash of the key text, never negative), `kt` (the key text) and `h` (the
  /// row's hash, as in `TableChecksum`).
  private func hashed(_ side: Side) -> String {
    let keyText = Self.keyText(side.key)
    return """
      SELECT hashtextextended(\(keyText), 1) & \((Int64(1) << Self.hashBits) - 1) AS kh, \(keyText) AS kt, \
      \(TableChecksum.rowHash("q")) AS h FROM (\(side.query)) AS q
      """
  }

  static func keyText(_ key: [String]) -> String {
    key.isEmpty ? "q::text" : "ROW(" + key.map { "q." + QualifiedName.quote($0) }.joined(separator: ", ") + ")::text"
  }

  private static func condition(_ filter: (shift: Int, buckets: [Int64])?) -> String {
    guard let filter else { return "" }
    return " WHERE kh >> \(filter.shift) = ANY('{\(filter.buckets.map(String.init).joined(separator: ","))}'::bigint[])"
  }

  /// The buckets (`kh >> shift`) whose count or hash sum differs, and how many rows they hold on the larger side.
  private func differingBuckets(shift: Int, within filter: (shift: Int, buckets: [Int64])?) async throws -> (
    [Int64], Int
  ) {
    func sql(_ side: Side) -> String {
      """
      SELECT kh >> \(shift) AS b, count(*) AS n, sum(h) AS s FROM (\(hashed(side))) AS x\(Self.condition(filter)) \
      GROUP BY 1 ORDER BY 1
      """
    }
    let left = RowCursor(connection: expected.connection, name: "cleave_expected", sql: sql(expected))
    let right = RowCursor(connection: actual.connection, name: "cleave_actual", sql: sql(actual))
    try await left.open()
    try await right.open()
    var buckets: [Int64] = []
    var rowsInThem = 0
    var l = try await left.next()
    var r = try await right.next()
    while l != nil || r != nil {
      let lb = l.flatMap { Int64($0[0] ?? "") } ?? .max
      let rb = r.flatMap { Int64($0[0] ?? "") } ?? .max
      let bucket = min(lb, rb)
      let mine = lb == bucket ? l : nil
      let theirs = rb == bucket ? r : nil
      if mine.map({ Array($0.dropFirst()) }) != theirs.map({ Array($0.dropFirst()) }) {
        buckets.append(bucket)
        rowsInThem += max(Int(mine?[1] ?? "0") ?? 0, Int(theirs?[1] ?? "0") ?? 0)
      }
      if mine != nil { l = try await left.next() }
      if theirs != nil { r = try await right.next() }
    }
    try await left.close()
    try await right.close()
    return (buckets, rowsInThem)
  }

  /// Merges both sides' `(kh, kt, h)` in the differing buckets (or all rows) and counts what differs.
  private func mergeRows(within filter: (shift: Int, buckets: [Int64])?) async throws -> TableDifferences {
    func sql(_ side: Side) -> String {
      "SELECT kh, kt, h FROM (\(hashed(side))) AS x\(Self.condition(filter)) ORDER BY kh, kt COLLATE \"C\", h"
    }
    let left = RowCursor(connection: expected.connection, name: "cleave_expected", sql: sql(expected))
    let right = RowCursor(connection: actual.connection, name: "cleave_actual", sql: sql(actual))
    try await left.open()
    try await right.open()
    var result = TableDifferences(key: keyNames)
    func entry(_ row: [String?]?) -> (kh: Int64, kt: [UInt8], text: String, h: String)? {
      guard let row else { return nil }
      result.rowsCompared += 1
      let text = row[1] ?? ""
      return (Int64(row[0] ?? "") ?? 0, Array(text.utf8), text, row[2] ?? "")
    }
    var l = entry(try await left.next())
    var r = entry(try await right.next())
    while let first = [l, r].compactMap({ $0 }).min(by: Self.precedes) {
      var mine: [String: Int] = [:]
      var theirs: [String: Int] = [:]
      while let current = l, current.kh == first.kh, current.kt == first.kt {
        mine[current.h, default: 0] += 1
        l = entry(try await left.next())
      }
      while let current = r, current.kh == first.kh, current.kt == first.kt {
        theirs[current.h, default: 0] += 1
        r = entry(try await right.next())
      }
      record(key: first.text, expected: mine, actual: theirs, into: &result)
    }
    try await left.close()
    try await right.close()
    return result
  }

  private static func precedes(
    _ a: (kh: Int64, kt: [UInt8], text: String, h: String), _ b: (kh: Int64, kt: [UInt8], text: String, h: String)
  ) -> Bool {
    a.kh != b.kh ? a.kh < b.kh : a.kt.lexicographicallyPrecedes(b.kt)
  }

  /// Adds one key's rows on each side (row hash to copies) to the result.
  private func record(key: String, expected: [String: Int], actual: [String: Int], into result: inout TableDifferences)
  {
    var surplusExpected = 0
    var surplusActual = 0
    for hash in Set(expected.keys).union(actual.keys) {
      let difference = (expected[hash] ?? 0) - (actual[hash] ?? 0)
      if difference > 0 { surplusExpected += difference } else { surplusActual -= difference }
    }
    guard surplusExpected + surplusActual > 0 else { return }
    let changed = keyNames.isEmpty ? 0 : min(surplusExpected, surplusActual)
    let missing = surplusExpected - changed
    let extra = surplusActual - changed
    result.changed += changed
    result.missing += missing
    result.extra += extra
    for (kind, count) in [(RowDifference.Kind.changed, changed), (.missing, missing), (.extra, extra)] where count > 0 {
      guard result.examples.count < examplesLimit else { break }
      var example = RowDifference(kind: kind, key: key)
      if keyNames.isEmpty {
        example.expectedCopies = expected.values.reduce(0, +)
        example.actualCopies = actual.values.reduce(0, +)
      }
      result.examples.append(example)
    }
  }

  /// Fetches the changed rows found so far from both sides and names the columns whose values differ.
  private func nameChangedColumns(_ result: inout TableDifferences) async throws {
    let keys = result.examples.filter { $0.kind == .changed }.map(\.key)
    guard !keys.isEmpty else { return }
    func rows(_ side: Side) async throws -> [String: [String?]] {
      let keyText = Self.keyText(side.key)
      let found = try await side.connection.query(
        "SELECT \(keyText) AS kt, q.* FROM (\(side.query)) AS q WHERE \(keyText) = ANY($1::text[])",
        [PostgresArray.literal(keys)])
      var byKey: [String: [String?]] = [:]
      for row in found.rows { byKey[row[0] ?? ""] = Array(row.dropFirst()) }
      return byKey
    }
    let mine = try await rows(expected)
    let theirs = try await rows(actual)
    for index in result.examples.indices where result.examples[index].kind == .changed {
      let key = result.examples[index].key
      guard let left = mine[key], let right = theirs[key] else { continue }
      result.examples[index].columns = zip(columns, zip(left, right)).compactMap { name, values in
        values.0 == values.1 ? nil : ColumnDifference(column: name, expected: values.0, actual: values.1)
      }
    }
  }
}
