/// Where one service's migrations stand: applied, pending, failed, modified (applied, but the file changed since)
/// and missing (applied, but no file).
public struct MigrationStatus: Sendable, Codable {
  public var service: String
  public var layout: MigrationFolder.Layout
  public var applied: [String] = []
  public var pending: [String] = []
  public var failed: [String] = []
  public var modified: [String] = []
  public var missing: [String] = []
  /// For `deploy`: what this run applied, and the linter's findings on it.
  public var appliedNow: [String] = []
  public var findings: [LintFinding] = []
  /// For a first deploy (the database had no migration applied): the history's findings, counted by rule.
  ///
  /// They are counted instead of listed: they are about locks on live tables, and these tables are
  /// empty; `cleave migrate lint --all` lists each.
  public var historyFindings: [String: Int] = [:]
  /// The error that stopped this service's deploy.
  public var error: String?

  /// Whether someone has to look: anything pending, failed, modified or missing.
  public var needsAttention: Bool {
    !pending.isEmpty || !failed.isEmpty || !modified.isEmpty || !missing.isEmpty || error != nil
  }
}
