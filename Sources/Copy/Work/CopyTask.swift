import Catalog
import PostgresDriver

/// One piece of a copy's work after the schema: a table's or range's rows, a post-data step, or a table's
/// statistics.
enum CopyTask: Sendable {
  case data(TableJob, ConnInfo)
  case step(PostDataStep)
  case analyze(service: String, table: QualifiedName, target: ConnInfo)

  var service: String {
    switch self {
    case .data(let job, _): job.service
    case .step(let step): step.service
    case .analyze(let service, _, _): service
    }
  }

  /// The table the timeline shows it on (a foreign key's own table).
  var table: String {
    switch self {
    case .data(let job, _): job.table.description
    case .step(let step): step.table?.description ?? ""
    case .analyze(_, let table, _): table.description
    }
  }

  /// What it is, in a word, for the timeline: `copy`, `index`, `constraint`, `foreign key`, `trigger`, `attach`,
  /// `other` or `analyze`.
  var kind: String {
    switch self {
    case .data: "copy"
    case .analyze: "analyze"
    case .step(let step):
      switch step.entry.kind {
      case "INDEX": "index"
      case "CONSTRAINT", "CHECK CONSTRAINT": "constraint"
      case "FK CONSTRAINT": "foreign key"
      case "TRIGGER": "trigger"
      case "INDEX ATTACH": "attach"
      default: "other"
      }
    }
  }

  /// The timeline's label: `copy 2/4`, `index orders_customer_idx`, `analyze`.
  var label: String {
    switch self {
    case .data(let job, _):
      let words = job.step.split(separator: " ")
      return words.count == 3 ? "copy \(words[2])" : "copy"
    case .step(let step): return step.label
    case .analyze: return "analyze"
    }
  }
}
