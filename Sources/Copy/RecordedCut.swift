import Catalog
import CleaveCore

/// How an earlier run cut a table for copying, read from `_cleave.progress` and checked before it is trusted: not
/// yet, whole, or into ranges of its integer key at recorded bounds.
///
/// A rerun copies exactly the ranges with no row in the progress table, so a cut that no longer agrees with the
/// finished ranges (bounds edited, a range recorded for a cut into another number of ranges, a table recorded both
/// whole and in ranges) would copy some rows twice or never. Such a progress table was changed outside Cleave:
/// it stops the copy (CLV6007) before any row moves.
enum RecordedCut: Equatable {
  case none
  case whole
  case ranges([Int64])

  /// The cut of `table` that `finished` records.
  ///
  /// - Throws: `CleaveError` (`copyStateDamaged`) when the recorded steps do not fit together.
  static func of(
    _ table: QualifiedName, in finished: [String: ProgressStore.Step], service: String, planPath: String
  ) throws(CleaveError) -> RecordedCut {
    let base = "data \(table)"
    let prefix = base + " "
    let ranges = finished.keys.filter { $0.hasPrefix(prefix) }.sorted()
    let split = finished["split \(table)"]
    func damaged(_ what: String) -> CleaveError {
      ProgressStore.damaged(what, service: service, planPath: planPath)
    }
    if finished[base] != nil {
      guard split == nil, ranges.isEmpty else {
        throw damaged("\(table) is recorded as copied both whole and in ranges")
      }
      return .whole
    }
    guard let split else {
      guard let range = ranges.first else { return .none }
      throw damaged("\"\(range)\" is recorded as copied, but not how \(table) was cut into ranges")
    }
    let detail = split.detail ?? ""
    let texts = detail.split(separator: ",", omittingEmptySubsequences: false)
    let bounds = texts.compactMap { Int64($0) }
    guard !detail.isEmpty, bounds.count == texts.count, zip(bounds, bounds.dropFirst()).allSatisfy({ $0 < $1 })
    else {
      throw damaged("the cut of \(table) into ranges, \"\(detail)\", is not a list of increasing whole numbers")
    }
    let total = bounds.count + 1
    for range in ranges {
      let numbers = range.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
      guard numbers.count == 2, let index = Int(numbers[0]), let count = Int(numbers[1]), count == total,
        (1...total).contains(index), "\(index)/\(count)" == range.dropFirst(prefix.count)
      else {
        throw damaged("\"\(range)\" does not fit the recorded cut of \(table) into \(total) ranges (\(detail))")
      }
    }
    return .ranges(bounds)
  }
}
