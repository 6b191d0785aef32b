/// A failure Cleave reports to a person: a stable code, what went wrong, where, and what to do about it.
///
/// Every code is listed in `docs/errors.md` and belongs to one exit status (`docs/exit-codes.md`). A message or hint
/// never carries a password: anything that names a server goes through `ConnInfo.redacted` first.
public struct CleaveError: Error, Sendable, CustomStringConvertible {
  public var code: Code
  public var message: String
  public var hint: String?
  public var location: SourceLocation?

  public init(_ code: Code, _ message: String, hint: String? = nil, at location: SourceLocation? = nil) {
    self.code = code
    self.message = message
    self.hint = hint
    self.location = location
  }

  /// The exit status a command ends with when this error stops it.
  public var exitStatus: ExitStatus { code.exitStatus }

  /// `file:line:column: error[CODE]: message`, then the hint on a line of its own, the way compilers print.
  public var description: String {
    var text = ""
    if let location { text += "\(location): " }
    text += "error[\(code.rawValue)]: \(message)"
    if let hint, !hint.isEmpty { text += "\n  hint: \(hint)" }
    return text
  }
}

extension CleaveError {
  /// A code whose meaning never changes once released.
  ///
  /// Families: `CLV1xxx` plan, `2xxx` connection, `3xxx` reading the source, `4xxx` verification, `5xxx` provisioning, `6xxx` copying,
  /// `7xxx` backups, `8xxx` freeze and rollback, `Axxx` migrations, `Bxxx` online, `9xxx` files and internal failures.
  /// Command-line mistakes are swift-argument-parser's (exit 64).
  public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// The exit status that goes with the code, by its family.
    public var exitStatus: ExitStatus {
      switch rawValue.dropFirst(3).first {
      case "1": return .planInvalid
      case "2": return .connectionFailed
      case "3": return .sourceFailed
      case "4": return .verificationFailed
      case "5": return .targetFailed
      case "6": return .copyFailed
      case "7": return .backupFailed
      case "8": return .safetyStepFailed
      case "A": return .migrationFailed
      case "B": return .onlineRefused
      default: return .internalError
      }
    }

    // Plan file (exit 3).
    public static let planUnreadable = Self(rawValue: "CLV1001")
    public static let planDuplicateOwner = Self(rawValue: "CLV1002")
    public static let planSyntax = Self(rawValue: "CLV1003")
    public static let planUnknownKey = Self(rawValue: "CLV1004")
    public static let planMissingKey = Self(rawValue: "CLV1005")
    public static let planWrongType = Self(rawValue: "CLV1006")
    public static let planUnknownTable = Self(rawValue: "CLV1007")
    public static let planGlobMatchesNothing = Self(rawValue: "CLV1008")
    public static let planUnknownTarget = Self(rawValue: "CLV1009")
    public static let planUnknownColumn = Self(rawValue: "CLV1010")
    public static let planInvalidTransform = Self(rawValue: "CLV1011")
    public static let planUnknownSchema = Self(rawValue: "CLV1012")
    public static let planUnownedTables = Self(rawValue: "CLV1013")
    public static let planUndefinedVariable = Self(rawValue: "CLV1014")
    public static let planDuplicateDestination = Self(rawValue: "CLV1015")
    public static let planInvalidName = Self(rawValue: "CLV1016")
    public static let planBreaksForeignKey = Self(rawValue: "CLV1017")

    // Connections (exit 4).
    public static let connectionFailed = Self(rawValue: "CLV2001")
    public static let authenticationFailed = Self(rawValue: "CLV2002")
    public static let invalidConnectionString = Self(rawValue: "CLV2003")
    public static let sessionEnded = Self(rawValue: "CLV2004")
    public static let databaseMissing = Self(rawValue: "CLV2005")

    // Provisioning targets (exit 6).
    public static let notCreatedByCleave = Self(rawValue: "CLV5001")
    public static let provisionFailed = Self(rawValue: "CLV5002")
    public static let secretsUnreadable = Self(rawValue: "CLV5003")
    public static let secretMissing = Self(rawValue: "CLV5004")
    public static let madeForAnotherPlan = Self(rawValue: "CLV5005")

    // Copying (exit 7).
    public static let copyFailed = Self(rawValue: "CLV6001")
    public static let schemaCopyFailed = Self(rawValue: "CLV6002")
    public static let rekeyUnmatched = Self(rawValue: "CLV6003")
    public static let toolFailed = Self(rawValue: "CLV6004")
    public static let sourceSchemaChanged = Self(rawValue: "CLV6005")
    public static let copyAlreadyRunning = Self(rawValue: "CLV6006")
    public static let copyStateDamaged = Self(rawValue: "CLV6007")

    // Reading the source (exit 5).
    public static let sourceQueryFailed = Self(rawValue: "CLV3001")

    // Verification (exit 8).
    public static let verificationFailed = Self(rawValue: "CLV4001")

    // Backups (exit 9).
    public static let backupFailed = Self(rawValue: "CLV7001")
    public static let backupCorrupt = Self(rawValue: "CLV7002")
    public static let restoreMismatch = Self(rawValue: "CLV7003")

    // Migrations (exit 11).
    public static let migrationFolderUnreadable = Self(rawValue: "CLVA001")
    public static let migrationBlocked = Self(rawValue: "CLVA003")
    public static let migrationNotFound = Self(rawValue: "CLVA004")
    public static let baselineRefused = Self(rawValue: "CLVA005")

    // Online (exit 12).
    public static let onlineRefused = Self(rawValue: "CLVB001")
    public static let onlineFailed = Self(rawValue: "CLVB002")
    public static let onlineBusy = Self(rawValue: "CLVB003")
    public static let onlineWrongState = Self(rawValue: "CLVB004")
    public static let cutoverAborted = Self(rawValue: "CLVB005")
    public static let cutoverUnequal = Self(rawValue: "CLVB006")
    public static let onlineUnequal = Self(rawValue: "CLVB007")

    // Freeze, unfreeze and rollback (exit 10).
    public static let confirmationRequired = Self(rawValue: "CLV8001")
    public static let freezeBlocked = Self(rawValue: "CLV8002")
    public static let freezeFailed = Self(rawValue: "CLV8003")
    public static let rollbackFailed = Self(rawValue: "CLV8004")
    public static let rollbackFoundNothing = Self(rawValue: "CLV8005")
    public static let fenceBroken = Self(rawValue: "CLV8006")

    // Files and internal failures (exit 70).
    public static let fileWriteFailed = Self(rawValue: "CLV9002")
    public static let internalFailure = Self(rawValue: "CLV9999")
  }
}
