import CleaveCore
import Foundation
import Plan
import PostgresDriver

/// Moves one service's application connections, as the plan's `switch:` says: with PgBouncer (`PAUSE` the entry,
/// rewrite its line of the `[databases]` file, `RELOAD`, `RESUME`), or with the team's own command, run once per
/// phase.
///
/// With PgBouncer in transaction pooling, `PAUSE db` returns once every server connection of the entry is back in
/// the pool (running transactions finish); new ones wait in PgBouncer, so the application sees a pause, not an
/// error. The entry's line is rewritten alone, every other byte of the file kept; its old text goes to the journal,
/// so a rollback puts it back exactly.
struct ApplicationSwitch: Sendable {
  let service: String
  let method: ConnectionSwitch

  /// The phases of a switch, named as the command sees them in `CLEAVE_PHASE`.
  enum Phase: String {
    case pause, `switch`, resume, abort
  }

  /// Checks that the switch can work, changing nothing: the admin console answers and knows the entry, and the
  /// file holds the entry's line and can be written; for a command, that it is an executable file.
  ///
  /// - Returns: the entry's line as it is now (PgBouncer), for the journal.
  func test() async throws -> String? {
    switch method {
    case .pgbouncer(let entry):
      let admin = try await adminConsole(entry)
      defer { Task { await admin.close() } }
      let names = try await admin.unmarkedCommand("SHOW DATABASES").namedRows.map { $0.string("name") }
      guard names.contains(entry.database) else {
        throw CleaveError(
          .onlineRefused, "PgBouncer has no entry \(entry.database) (its entries: \(names.joined(separator: ", ")))",
          hint: "`switch.pgbouncer.database` names the entry the application connects through")
      }
      let line = try Self.entryLine(entry)
      guard FileManager.default.isWritableFile(atPath: entry.config) else {
        throw CleaveError(
          .onlineRefused, "Cleave cannot write PgBouncer's file \(entry.config)",
          hint: "run cutover as a user that may write it; Cleave rewrites the entry's line only")
      }
      return line
    case .command(let program):
      let path = program.split(separator: " ").first.map(String.init) ?? program
      guard FileManager.default.isExecutableFile(atPath: path) else {
        throw CleaveError(
          .onlineRefused, "the switch command \(path) is not an executable file",
          hint: "`switch.command` is run once per phase (pause, switch, resume, abort)")
      }
      return nil
    }
  }

  /// Runs `phase`: for PgBouncer, `pause` pauses the entry, `switch` rewrites its line to `line` and reloads,
  /// `resume` and `abort` resume it; a command is run with the phase and `url` in its environment.
  ///
  /// - Throws: `CleaveError` (`onlineFailed`) when PgBouncer refuses or the command exits non-zero.
  func run(_ phase: Phase, line: String? = nil, url: String) async throws {
    switch method {
    case .pgbouncer(let entry):
      let admin = try await adminConsole(entry)
      defer { Task { await admin.close() } }
      do {
        switch phase {
        case .pause: try await admin.unmarkedCommand("PAUSE \(entry.database)")
        case .switch:
          if let line { try Self.rewrite(entry, to: line) }
          try await admin.unmarkedCommand("RELOAD")
        case .resume, .abort: try await Self.resume(entry, on: admin)
        }
      } catch let error as CleaveError {
        throw error
      } catch {
        throw CleaveError(
          .onlineFailed, "PgBouncer refused to \(phase.rawValue) \(entry.database)", hint: "its log says why",
          cause: error)
      }
    case .command(let program):
      try await runCommand(program, phase: phase, url: url)
    }
  }

  /// `RESUME db`, which PgBouncer refuses when the entry is not paused: that is resumed already.
  private static func resume(_ entry: PgBouncerEntry, on admin: SerialConnection) async throws {
    let paused = try await admin.unmarkedCommand("SHOW DATABASES").namedRows.first {
      $0.string("name") == entry.database
    }?["paused"]
    if paused == "1" { try await admin.unmarkedCommand("RESUME \(entry.database)") }
  }

  private func adminConsole(_ entry: PgBouncerEntry) async throws -> SerialConnection {
    do { return try await SerialConnection.connect(ConnInfo(entry.admin)) } catch {
      throw CleaveError(
        .onlineRefused, "cannot reach PgBouncer's admin console for service \"\(service)\"",
        hint: "`switch.pgbouncer.admin` must be a user in PgBouncer's admin_users", cause: error)
    }
  }

  /// The entry's line of the file (`orders = host=… dbname=…`).
  static func entryLine(_ entry: PgBouncerEntry) throws -> String {
    let text: String
    do { text = try String(contentsOfFile: entry.config, encoding: .utf8) } catch {
      throw CleaveError(
        .onlineRefused, "cannot read PgBouncer's file \(entry.config): \(error.localizedDescription)",
        hint: "`switch.pgbouncer.config` is the [databases] file PgBouncer includes")
    }
    guard let line = text.split(separator: "\n", omittingEmptySubsequences: false).first(where: { isEntry($0, entry) })
    else {
      throw CleaveError(
        .onlineRefused, "PgBouncer's file \(entry.config) has no line for \(entry.database)",
        hint: "Cleave rewrites that entry's line; write it as `\(entry.database) = host=… dbname=…`")
    }
    return String(line)
  }

  private static func isEntry(_ line: Substring, _ entry: PgBouncerEntry) -> Bool {
    guard let equals = line.firstIndex(of: "=") else { return false }
    return line[..<equals].trimmingCharacters(in: .whitespaces) == entry.database
  }

  /// Replaces the entry's line with `line`, keeping every other line, and the file's permissions, as they were.
  static func rewrite(_ entry: PgBouncerEntry, to line: String) throws {
    do {
      let text = try String(contentsOfFile: entry.config, encoding: .utf8)
      let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
        isEntry($0, entry) ? line : String($0)
      }
      let attributes = try FileManager.default.attributesOfItem(atPath: entry.config)
      let temporary = entry.config + ".cleave-new"
      try lines.joined(separator: "\n").write(toFile: temporary, atomically: false, encoding: .utf8)
      var kept: [FileAttributeKey: Any] = [:]
      for key in [FileAttributeKey.posixPermissions, .ownerAccountID, .groupOwnerAccountID] {
        kept[key] = attributes[key]
      }
      try? FileManager.default.setAttributes(kept, ofItemAtPath: temporary)
      guard rename(temporary, entry.config) == 0 else {
        throw CleaveError(.onlineFailed, "cannot replace \(entry.config): \(String(cString: strerror(errno)))")
      }
    } catch let error as CleaveError {
      throw error
    } catch {
      throw CleaveError(
        .onlineFailed, "cannot rewrite PgBouncer's file \(entry.config): \(error.localizedDescription)")
    }
  }

  /// The entry's line pointed at another database: `host`, `port` and `dbname` replaced, every other setting kept.
  static func line(_ old: String, database: String, pointingAt server: ConnInfo, dbname: String) throws -> String {
    let equals = old.firstIndex(of: "=") ?? old.endIndex
    let value = old[old.index(after: equals)...].trimmingCharacters(in: .whitespaces)
    var kept = value.split(separator: " ").map(String.init).filter { setting in
      !["host", "port", "dbname"].contains(setting.split(separator: "=").first.map(String.init) ?? "")
    }
    let options = try server.options()
    var replaced = ["dbname=\(dbname)"]
    if let host = options["host"] ?? options["hostaddr"] { replaced.insert("host=\(host)", at: 0) }
    if let port = options["port"] { replaced.insert("port=\(port)", at: replaced.count - 1) }
    kept = replaced + kept
    return "\(database) = " + kept.joined(separator: " ")
  }

  private func runCommand(_ program: String, phase: Phase, url: String) async throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", program]
    process.environment = ProcessInfo.processInfo.environment.merging([
      "CLEAVE_SERVICE": service, "CLEAVE_PHASE": phase.rawValue, "CLEAVE_DATABASE_URL": url,
    ]) { _, new in new }
    process.standardInput = FileHandle.nullDevice
    // What it prints goes to standard error, so a JSON report on standard output stays one document.
    process.standardOutput = FileHandle.standardError
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
      process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
      do { try process.run() } catch {
        process.terminationHandler = nil
        continuation.resume(throwing: error)
      }
    }
    guard status == 0 else {
      throw CleaveError(
        .onlineFailed, "the switch command exited \(status) in phase \(phase.rawValue)",
        hint: "it is run with CLEAVE_SERVICE, CLEAVE_PHASE and CLEAVE_DATABASE_URL and must exit 0")
    }
  }
}
