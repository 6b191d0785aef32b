import Catalog
import Foundation

/// Which plan, made for which source, a piece of Cleave's work belongs to.
///
/// It is written into the mark on everything Cleave creates (`cleave: service auth; plan shop-split; source
/// 7311…/shop`), so two plans, two environments or two sources on one target server never share or remove each
/// other's databases and roles. The plan is known by its `name:` when it has one, otherwise by its file's
/// absolute path; the source by its cluster's system identifier and its database name.
public struct PlanIdentity: Sendable, Hashable, CustomStringConvertible {
  /// The plan's `name:`, or its file's absolute path.
  public var plan: String
  /// `<system identifier>/<database>`, or the database alone when the system identifier cannot be read.
  public var source: String

  public init(plan: String, source: String) {
    self.plan = plan
    self.source = source
  }

  /// The identity of `file` run against the source described by `catalog`.
  public init(file: PlanFile, catalog: DatabaseCatalog) {
    plan = file.name ?? URL(fileURLWithPath: file.path).standardizedFileURL.resolvingSymlinksInPath().path
    source = (catalog.systemIdentifier.map { $0 + "/" } ?? "") + catalog.database
  }

  /// `plan P; source S`, the part of a mark that names this identity.
  public var description: String { "plan \(plan); source \(source)" }
}
