import Foundation
import PostgresDriver

/// A real PgBouncer in front of a sandbox cluster, for the online tests: transaction pooling, trust on loopback,
/// an admin console for `pgbouncer`, and its `[databases]` entries in a file of their own (`databases.ini`, which
/// `pgbouncer.ini` includes), as `cleave online cutover` expects to find them.
///
/// It runs as the cluster's OS user (PgBouncer refuses to run as root); `stop()` ends it.
public final class PgBouncerSandbox: Sendable {
  public let port: Int
  public let directory: String
  /// The file holding the `[databases]` section.
  public var databasesFile: String { directory + "/databases.ini" }
  /// The admin console, as the plan's `switch.pgbouncer.admin` names it.
  public var adminURL: String { "postgresql://pgbouncer@127.0.0.1:\(port)/pgbouncer" }

  private init(port: Int, directory: String) {
    self.port = port
    self.directory = directory
  }

  /// How the application connects to `entry` through PgBouncer.
  public func connInfo(entry: String, user: String = "postgres") -> ConnInfo {
    ConnInfo("host=127.0.0.1 port=\(port) user=\(user) dbname=\(entry) connect_timeout=10")
  }

  /// Starts a PgBouncer whose entries point at databases of `sandbox` (`entry name: database`).
  ///
  /// - Throws: `SandboxError` when pgbouncer is missing (`make deps` installs it) or does not start.
  public static func start(for sandbox: PostgresSandbox, entries: [String: String]) async throws -> PgBouncerSandbox {
    guard let binary = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].first(where: FileManager.default.isExecutableFile)
    else { throw SandboxError("pgbouncer was not found; run `make deps` (it installs pgbouncer)") }
    let directory = try PostgresSandbox.makeDirectory(owner: sandbox.owner)
    let port = try PostgresSandbox.freePort()
    let bouncer = PgBouncerSandbox(port: port, directory: directory)
    let lines = entries.keys.sorted().map { "\($0) = host=127.0.0.1 port=\(sandbox.port) dbname=\(entries[$0] ?? $0)" }
    try (["[databases]"] + lines + [""]).joined(separator: "\n").write(
      toFile: bouncer.databasesFile, atomically: true, encoding: .utf8)
    try "\"postgres\" \"\"\n\"pgbouncer\" \"\"\n".write(
      toFile: directory + "/userlist.txt", atomically: true, encoding: .utf8)
    try """
    %include \(bouncer.databasesFile)
    [pgbouncer]
    listen_addr = 127.0.0.1
    listen_port = \(port)
    unix_socket_dir =
    auth_type = trust
    auth_file = \(directory)/userlist.txt
    admin_users = pgbouncer
    pool_mode = transaction
    max_client_conn = 200
    default_pool_size = 20
    ignore_startup_parameters = extra_float_digits,options
    logfile = \(directory)/pgbouncer.log
    pidfile = \(directory)/pgbouncer.pid

    """.write(toFile: directory + "/pgbouncer.ini", atomically: true, encoding: .utf8)
    for file in ["databases.ini", "userlist.txt", "pgbouncer.ini"] { chmod(directory + "/" + file, 0o644) }
    let started = try await ToolRunner.run(binary, ["-d", directory + "/pgbouncer.ini"], as: sandbox.owner)
    guard started.succeeded else {
      let log = (try? String(contentsOfFile: directory + "/pgbouncer.log", encoding: .utf8)) ?? ""
      throw SandboxError("pgbouncer did not start: \(started.standardError)\n\(log.suffix(2000))")
    }
    // It answers once it listens.
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
      if (try? await SerialConnection.connect(ConnInfo(bouncer.adminURL + "?connect_timeout=2"))) != nil {
        return bouncer
      }
      try await Task.sleep(for: .milliseconds(50))
    }
    throw SandboxError("pgbouncer did not accept connections on port \(port) within 10 s")
  }

  /// Ends PgBouncer and removes its folder.
  public func stop() {
    if let text = try? String(contentsOfFile: directory + "/pgbouncer.pid", encoding: .utf8),
      let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    {
      kill(pid, SIGTERM)
    }
    try? FileManager.default.removeItem(atPath: directory)
  }
}
