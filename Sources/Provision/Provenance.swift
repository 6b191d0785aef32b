import Plan

/// How Cleave marks what it created, so that later steps (rerun, rollback) touch only that.
///
/// The mark is a comment on the object itself (`COMMENT ON DATABASE/ROLE … IS 'cleave: service auth; plan
/// shop-split; source 7311…/shop'`), so it travels with the object and cannot disagree with it the way a separate
/// state file could. It names the service, the plan and the source (`PlanIdentity`): an object another plan, or
/// the same plan against another source, made is never taken over or removed.
public enum Provenance {
  /// The comment Cleave puts on a database or role it creates for `service` of the plan `identity`.
  public static func mark(service: String, identity: PlanIdentity) -> String {
    "cleave: service \(service); \(identity)"
  }

  /// The comment on a database that several services of one plan share (one schema each).
  public static func sharedDatabaseMark(identity: PlanIdentity) -> String { "cleave: shared database; \(identity)" }

  /// The comment on the private database a service bound for a shared database is copied into first.
  public static func stagingMark(service: String, identity: PlanIdentity) -> String {
    "cleave: staging for service \(service); \(identity)"
  }

  /// Whether `comment` says Cleave created the object (for any plan).
  public static func isCleaves(_ comment: String?) -> Bool { comment?.hasPrefix("cleave: ") ?? false }

  /// Whether `comment` is Cleave's mark for the plan `identity` (any service of it).
  public static func belongs(_ comment: String?, to identity: PlanIdentity) -> Bool {
    guard let comment, isCleaves(comment) else { return false }
    return comment.hasSuffix("; \(identity)")
  }

  /// Why an object in the way cannot be used, from its comment: not Cleave's, or Cleave's for another plan.
  public static func owner(of comment: String?) -> String {
    guard let comment, isCleaves(comment) else {
      return comment.map { "Cleave did not create it (its comment is \"\($0)\")" } ?? "Cleave did not create it"
    }
    return "Cleave created it for another plan or source (\"\(comment)\")"
  }
}
