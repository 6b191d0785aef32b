/// The process exit statuses of `cleave`, stable across releases and listed in `docs/exit-codes.md`.
public enum ExitStatus: Int32, Sendable, CaseIterable {
  /// The command did what it was asked.
  case success = 0
  /// The command line itself was wrong (sysexits EX_USAGE, as swift-argument-parser uses).
  case usage = 64
  /// The plan file could not be read or is invalid.
  case planInvalid = 3
  /// A server could not be reached or refused the credentials.
  case connectionFailed = 4
  /// The source answered a query with an error.
  case sourceFailed = 5
  /// A target could not be provisioned: an object in the way that Cleave did not create, a missing secret.
  case targetFailed = 6
  /// The copy stopped: a table, index or sequence could not be copied. Running the same command again resumes.
  case copyFailed = 7
  /// `cleave verify` ran and found a table that does not match the plan.
  case verificationFailed = 8
  /// A backup could not be made, read back, or restored to the counts its manifest records.
  case backupFailed = 9
  /// A freeze, unfreeze or rollback did not happen: it was not confirmed, or something in the way stopped it.
  case safetyStepFailed = 10
  /// `cleave migrate`: a migration failed or is blocked by one that failed, or (`status`, `lint`) something needs
  /// attention.
  case migrationFailed = 11
  /// `cleave online`: a service cannot be streamed as planned (`check` says why), or an online step failed.
  case onlineRefused = 12
  /// A bug or an unexpected state in Cleave itself.
  case internalError = 70
}
