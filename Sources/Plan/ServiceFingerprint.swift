import Catalog

/// What a service's tables look like when Cleave creates them in its database: every owned table's columns in the
/// source (name, type, nullability, generation) and the plan's column transforms, one line each.
///
/// The copy records it with the step that created the tables and compares it on every later run, so a column
/// added to, dropped from or retyped in the source under copied data, or a table added to the service, stops the
/// copy with the table and column named instead of failing later or copying into the wrong shape. Row filters
/// are not part of it: a changed filter recopies that table's rows only.
public struct ServiceFingerprint: Sendable, Equatable {
  /// The progress step that records it in the service database.
  public static let step = "source schema"

  /// One line per table, column and column transform, sorted: `public.users\temail\ttext not null`.
  public var lines: [String]

  /// The fingerprint of `service` against the source as `catalog` describes it.
  public init(service: ServicePlan, catalog: DatabaseCatalog) {
    var lines: [String] = []
    for name in service.tables {
      guard let table = catalog.table(name) else { continue }
      lines.append("\(name)\t\ttable")
      for column in table.columns {
        var shape = column.type + (column.notNull ? " not null" : "")
        if let generated = column.generatedExpression { shape += " generated as \(generated)" }
        lines.append("\(name)\t\(column.name)\t\(shape)")
      }
    }
    for (table, transform) in service.transforms {
      for change in transform.columns {
        let action: String
        switch change.action {
        case .drop: action = "drop"
        case .rename(let to): action = "rename to \(to)"
        case .add(let expression, let type): action = "add \(type) as \(expression)"
        case .rekey(let rekey):
          action =
            "rekey via \(rekey.via.value).\(rekey.match.value) take \(rekey.take.value)"
            + (rekey.renameTo.map { " as \($0)" } ?? "")
        }
        lines.append("\(table)\t~\(change.column.value)\t\(action)")
      }
    }
    self.lines = lines.sorted()
  }

  /// A fingerprint as recorded (`text`).
  public init(recorded text: String) {
    lines = text.split(separator: "\n").map(String.init)
  }

  /// The recorded form: the lines joined by newlines.
  public var text: String { lines.joined(separator: "\n") }

  /// What changed from `earlier` to this one, one sentence per table or column, in name order
  /// (`public.users.nickname: not there before, now text`).
  public func changes(since earlier: ServiceFingerprint) -> [String] {
    func split(_ lines: [String]) -> [String: String] {
      var result: [String: String] = [:]
      for line in lines {
        let parts = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { continue }
        result[parts[0] + "\t" + parts[1]] = parts[2]
      }
      return result
    }
    let before = split(earlier.lines)
    let now = split(lines)
    var changes: [String] = []
    for key in Set(before.keys).union(now.keys).sorted() where before[key] != now[key] {
      let parts = key.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
      let (table, column) = (parts[0], parts.count > 1 ? parts[1] : "")
      let what =
        column.isEmpty
        ? "table \(table)"
        : column.hasPrefix("~") ? "the transform of \(table).\(column.dropFirst())" : "column \(table).\(column)"
      changes.append("\(what): \(before[key] ?? "not there before"), now \(now[key] ?? "gone")")
    }
    return changes
  }
}

extension ServicePlan {
  /// The key of an outcome Cleave records for this service (copied, verified).
  ///
  /// It names the plan and source, and every table the service owns with its transform, filters included. An
  /// outcome recorded under another key is stale: the plan, the source or the service's tables changed since.
  public func outcomeKey(_ identity: PlanIdentity) -> String {
    var lines = ["\(identity)", "database \(database)" + (schema.map { " schema \($0)" } ?? "")]
    lines += tables.map { "table \($0)" }
    for (table, transform) in transforms.sorted(by: { $0.key < $1.key }) {
      if let filter = transform.rowFilter?.value { lines.append("\(table) where \(filter)") }
      if let rename = transform.renameTo?.value { lines.append("\(table) rename to \(rename)") }
      for change in transform.columns {
        switch change.action {
        case .drop: lines.append("\(table).\(change.column.value) drop")
        case .rename(let to): lines.append("\(table).\(change.column.value) rename to \(to)")
        case .add(let expression, let type):
          lines.append("\(table).\(change.column.value) add \(type) as \(expression)")
        case .rekey(let rekey):
          lines.append(
            "\(table).\(change.column.value) rekey via \(rekey.via.value).\(rekey.match.value) take "
              + "\(rekey.take.value) on missing \(rekey.onMissing.rawValue)"
              + (rekey.renameTo.map { " as \($0)" } ?? ""))
        }
      }
    }
    return lines.joined(separator: "\n")
  }
}
