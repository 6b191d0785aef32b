import Foundation
import PostgresDriver

/// Test data that lives outside the repository, such as the pagila sample database in `../shared/datasets/`.
public enum Fixtures {
  /// The folder holding `pagila-schema.sql` and `pagila-data.sql`: `$CLEAVE_DATASETS/pagila`, else the first
  /// `shared/datasets/pagila` found walking up from the working directory (the repository sits beside `shared/`).
  public static func pagilaDirectory() throws -> String {
    let fileManager = FileManager.default
    if let root = ProcessInfo.processInfo.environment["CLEAVE_DATASETS"] {
      return root + "/pagila"
    }
    var directory = URL(fileURLWithPath: fileManager.currentDirectoryPath)
    for _ in 0..<6 {
      let candidate = directory.appendingPathComponent("shared/datasets/pagila").path
      if fileManager.fileExists(atPath: candidate + "/pagila-schema.sql") { return candidate }
      directory.deleteLastPathComponent()
    }
    throw SandboxError(
      "pagila not found: expected ../shared/datasets/pagila beside the repository, or set CLEAVE_DATASETS")
  }

  /// Loads pagila's schema and data into the database `info` names.
  public static func loadPagila(into info: ConnInfo, sandbox: PostgresSandbox) async throws {
    let directory = try pagilaDirectory()
    try await sandbox.runSQLFile(directory + "/pagila-schema.sql", in: info)
    try await sandbox.runSQLFile(directory + "/pagila-data.sql", in: info)
  }

  /// A fresh database holding pagila, copied from a template the sandbox loads once.
  public static func pagila(in sandbox: PostgresSandbox, prefix: String = "pagila") async throws -> ConnInfo {
    let template = try await sandbox.pagilaTemplate()
    return try await sandbox.makeDatabase(prefix, template: template)
  }
}
