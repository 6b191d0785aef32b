import CleaveCore
import Foundation
import PostgresDriver
import Subprocess

#if canImport(System)
  import System
#else
  import SystemPackage
#endif

/// Runs `pg_dump` and `pg_restore` against a server without ever putting a password on their command line.
///
/// The connection string is handed over without its password (`ConnInfo.forTools()`), and the password goes in
/// `PGPASSWORD`, which only the same OS user (and root) can read; `ps` shows no secret. The program dies with
/// Cleave, `kill -9` included: it runs under a `Lifeline`.
public struct PostgresTool: Sendable {
  /// The program's name, such as `pg_dump`.
  public var program: String
  public var arguments: [String]
  public var environment: [String: String]
  /// Secrets without an environment variable (`sslpassword`), written to a private service file for the run.
  public var hidden: [String: String] = [:]

  /// Where the PostgreSQL client programs are: `$CLEAVE_PG_BINDIR`, the newest `/usr/lib/postgresql/N/bin`,
  /// else the `PATH`.
  static func path(of program: String) -> String {
    let fileManager = FileManager.default
    if let dir = ProcessInfo.processInfo.environment["CLEAVE_PG_BINDIR"],
      fileManager.isExecutableFile(atPath: dir + "/" + program)
    {
      return dir + "/" + program
    }
    let versions = (try? fileManager.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
    for version in versions.compactMap(Int.init).sorted(by: >) {
      let candidate = "/usr/lib/postgresql/\(version)/bin/\(program)"
      if fileManager.isExecutableFile(atPath: candidate) { return candidate }
    }
    return program
  }

  /// A tool invocation that connects to `info`: `-d` gets the password-free string, `PGPASSWORD` the password.
  ///
  /// - Throws: `PostgresError` when libpq cannot read the connection string.
  public init(_ program: String, connectingTo info: ConnInfo, arguments: [String]) throws(PostgresError) {
    let connection = try info.forTools()
    self.program = program
    self.arguments = ["-d", connection.conninfo] + arguments
    self.environment = connection.password.map { ["PGPASSWORD": $0] } ?? [:]
    self.hidden = connection.hidden
  }

  /// A tool invocation that connects to nothing (`pg_restore -l FILE`).
  public init(_ program: String, arguments: [String]) {
    self.program = program
    self.arguments = arguments
    self.environment = [:]
  }

  /// Runs the program and returns its standard output.
  ///
  /// - Throws: `CleaveError` (`toolFailed`) with what the program printed on standard error.
  @discardableResult
  public func run(what: String) async throws -> String {
    var updates: [Environment.Key: String?] = [:]
    for (key, value) in environment { updates[Environment.Key(stringLiteral: key)] = value }
    let serviceFolder = try writeServiceFile(into: &updates)
    defer { if let serviceFolder { try? FileManager.default.removeItem(atPath: serviceFolder) } }
    let lifeline = try Lifeline()
    defer { lifeline.cut() }
    let result: ExecutionResult<Void, StringOutput<Unicode.UTF8>, StringOutput<Unicode.UTF8>>
    do {
      result = try await Subprocess.run(
        .path("/bin/sh"), arguments: Arguments(["-c", Lifeline.script, "cleave", Self.path(of: program)] + arguments),
        environment: .inherit.updating(updates),
        input: .fileDescriptor(lifeline.childEnd, closeAfterSpawningProcess: true),
        output: .string(limit: 1 << 28), error: .string(limit: 1 << 22))
    } catch {
      throw CleaveError(
        .toolFailed, "\(what): cannot run \(program): \(error)",
        hint: "install the PostgreSQL client programs (make deps, or apt-get install postgresql-client-15)")
    }
    guard result.terminationStatus.isSuccess else {
      let message = result.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
      throw CleaveError(.toolFailed, "\(what): \(program) failed: \(message)")
    }
    return result.standardOutput
  }

  /// Writes `hidden` to a 0600 service file in a 0700 folder of its own and points the child at it; returns the
  /// folder, to remove after the run.
  private func writeServiceFile(into updates: inout [Environment.Key: String?]) throws -> String? {
    guard !hidden.isEmpty else { return nil }
    let folder = FileManager.default.temporaryDirectory.path + "/cleave-service-\(UUID().uuidString)"
    try FileManager.default.createDirectory(
      atPath: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
    let path = folder + "/pg_service.conf"
    let connection = ToolConnection(conninfo: "", password: nil, hidden: hidden)
    try PrivateFile.write(connection.serviceFile(service: "cleave"), to: path, mode: 0o600, what: "service file")
    updates["PGSERVICEFILE"] = path
    updates["PGSERVICE"] = "cleave"
    return folder
  }
}
