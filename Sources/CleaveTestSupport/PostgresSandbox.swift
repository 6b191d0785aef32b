import Foundation
import PostgresDriver
import Synchronization

/// A throwaway PostgreSQL cluster on 127.0.0.1 and a free port, in its own temporary directory.
///
/// Tests get one per suite through the `.postgres` trait and make a fresh database per test with
/// `makeDatabase(_:)`; `make demo` starts one too. When running as root, the cluster belongs to and runs as the
/// `postgres` OS user, because the server refuses to run as root. `pg_stat_statements` is preloaded so that the
/// plan's broken-query report has something to read.
public final class PostgresSandbox: Sendable {
  @TaskLocal public static var current: PostgresSandbox?

  /// The directory holding the data directory, the server log and the Unix socket.
  public let directory: String
  public let port: Int
  /// The cluster's superuser, which every loopback connection may use without a password.
  public let superuser = "postgres"
  let binaries: PostgresBinaries
  let owner: (uid: UInt32, gid: UInt32)?
  private let counter = Counter()
  let templates = TemplateCache()

  /// Roles in this group must give a password over TCP (scram-sha-256); every other role is trusted.
  public static let passwordGroup = "cleave_password_login"

  private init(directory: String, port: Int, binaries: PostgresBinaries, owner: (uid: UInt32, gid: UInt32)?) {
    self.directory = directory
    self.port = port
    self.binaries = binaries
    self.owner = owner
  }

  /// A connection string for the superuser and `database`, over TCP on loopback.
  public func connInfo(database: String = "postgres", user: String? = nil) -> ConnInfo {
    ConnInfo("host=127.0.0.1 port=\(port) user=\(user ?? superuser) dbname=\(database) connect_timeout=10")
  }

  /// The same as `connInfo(database:user:)`, as a `postgres://` URL.
  public func url(database: String = "postgres", user: String? = nil, password: String? = nil) -> String {
    let credentials = (user ?? superuser) + (password.map { ":" + $0 } ?? "")
    return "postgres://\(credentials)@127.0.0.1:\(port)/\(database)"
  }

  /// Starts a new cluster; the caller must `stop()` it.
  public static func start() async throws -> PostgresSandbox {
    let binaries = try PostgresBinaries.locate()
    let owner = try Self.serverOwner()
    var lastError: (any Error)?
    for _ in 0..<3 {  // a free port can be taken between finding it and binding it
      let directory = try makeDirectory(owner: owner)
      let sandbox = PostgresSandbox(directory: directory, port: try freePort(), binaries: binaries, owner: owner)
      do {
        try await sandbox.boot()
        return sandbox
      } catch {
        lastError = error
        try? await sandbox.stop()
      }
    }
    throw lastError ?? SandboxError("could not start a cluster")
  }

  private func boot() async throws {
    let data = directory + "/data"
    let initdb = try await ToolRunner.run(
      binaries.path("initdb"),
      ["-D", data, "-U", superuser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
      as: owner)
    guard initdb.succeeded else { throw SandboxError("initdb failed: \(initdb.standardError)") }
    let hba = """
      local all all trust
      host all +\(Self.passwordGroup) 127.0.0.1/32 scram-sha-256
      host all all 127.0.0.1/32 trust

      """
    try hba.write(toFile: data + "/pg_hba.conf", atomically: false, encoding: .utf8)
    // Every log line names its role and database, so a test can read the statements its own database ran
    // (`loggedStatements(in:)`) among those of the other tests sharing the cluster.
    let configuration = try FileHandle(forWritingTo: URL(fileURLWithPath: data + "/postgresql.conf"))
    try configuration.seekToEnd()
    try configuration.write(contentsOf: Data("\nlog_line_prefix = '%m [%p] %q%u@%d '\n".utf8))
    try configuration.close()
    try await startServer()
    let admin = try await SerialConnection.connect(connInfo())
    try await admin.execute("CREATE ROLE \(Self.passwordGroup) NOLOGIN")
  }

  /// Starts a cluster, runs `body` with it, and stops it afterwards, also when `body` throws.
  public static func withCluster<T: Sendable>(_ body: (PostgresSandbox) async throws -> T) async throws -> T {
    let sandbox = try await start()
    let result: T
    do { result = try await body(sandbox) } catch {
      try? await sandbox.stop()
      throw error
    }
    try await sandbox.stop()
    return result
  }

  /// Starts the server of an existing data directory (`pg_ctl start`, waiting until it accepts connections), with
  /// the sandbox's settings, each of `settings` replacing the one of its name (`["wal_level": "replica"]`).
  public func startServer(settings: [String: String] = [:]) async throws {
    var values = [
      "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
      "shared_preload_libraries": "pg_stat_statements", "max_connections": "200", "wal_level": "logical",
      "max_prepared_transactions": "20",
      // Room for every statement of the whole suite: a test's one application query must not be evicted by others'.
      "pg_stat_statements.max": "50000",
      // Online tests run in parallel, each with a slot, a WAL sender and an apply worker of its own.
      "max_replication_slots": "40", "max_wal_senders": "40", "max_logical_replication_workers": "20",
      "max_worker_processes": "40",
    ]
    values.merge(settings) { _, given in given }
    let options =
      (["-c listen_addresses=127.0.0.1", "-p \(port)", "-k \(directory)"]
      + values.keys.sorted().map { "-c \($0)=\(values[$0] ?? "")" }).joined(separator: " ")
    let started = try await ToolRunner.run(
      binaries.path("pg_ctl"),
      ["-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60", "-o", options, "start"],
      as: owner)
    guard started.succeeded else {
      let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
      throw SandboxError("pg_ctl start failed: \(started.standardError)\n\(log.suffix(2000))")
    }
  }

  /// Stops the server at once, as a crash or a lost host would (`pg_ctl -m immediate stop`), keeping its data.
  public func crashServer() async throws {
    let stopped = try await ToolRunner.run(
      binaries.path("pg_ctl"), ["-D", directory + "/data", "-m", "immediate", "-w", "stop"], as: owner)
    guard stopped.succeeded else { throw SandboxError("pg_ctl stop failed: \(stopped.standardError)") }
  }

  /// Creates an empty database with a name unique in this cluster, optionally from a template, and returns the
  /// connection string for it.
  public func makeDatabase(_ prefix: String, template: String? = nil) async throws -> ConnInfo {
    let name = "\(prefix)_\(counter.next())"
    let admin = try await SerialConnection.connect(connInfo())
    let quoted = try await admin.quoteIdentifier(name)
    let from = try await template.asyncMap { try await admin.quoteIdentifier($0) }
    try await admin.execute("CREATE DATABASE \(quoted)" + (from.map { " TEMPLATE \($0)" } ?? ""))
    return connInfo(database: name)
  }

  /// Runs a SQL file with `psql -v ON_ERROR_STOP=1` (it may hold `COPY … FROM stdin` data, as pg_dump writes).
  public func runSQLFile(_ path: String, in info: ConnInfo) async throws {
    try await runPsql(["-f", path], in: info, what: "psql -f \(path)")
  }

  /// Runs `sql` with `psql -c`: as an application would, not through Cleave's driver (whose statements carry
  /// Cleave's marker).
  public func psql(_ sql: String, in info: ConnInfo) async throws {
    try await runPsql(["-c", sql], in: info, what: "psql -c")
  }

  /// `psql -X -q -v ON_ERROR_STOP=1 -d INFO` with `input` (`-f FILE` or `-c SQL`), this cluster's psql first.
  private func runPsql(_ input: [String], in info: ConnInfo, what: String) async throws {
    let psql = binaries.path("psql")
    let outcome = try await ToolRunner.run(
      FileManager.default.isExecutableFile(atPath: psql) ? psql : "psql",
      ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", info.flattened] + input)
    guard outcome.succeeded else { throw SandboxError("\(what) failed: \(outcome.standardError)") }
  }

  /// Stops the cluster (`pg_ctl -m fast stop`) and removes its directory.
  public func stop() async throws {
    let data = directory + "/data"
    if FileManager.default.fileExists(atPath: data + "/postmaster.pid") {
      _ = try await ToolRunner.run(binaries.path("pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"], as: owner)
    }
    try FileManager.default.removeItem(atPath: directory)
  }

  /// The uid and gid of `postgres` when running as root, nil otherwise.
  private static func serverOwner() throws -> (uid: UInt32, gid: UInt32)? {
    guard getuid() == 0 else { return nil }
    guard let entry = getpwnam("postgres") else {
      throw SandboxError("running as root, but there is no `postgres` OS user to run the server as; run `make deps`")
    }
    return (entry.pointee.pw_uid, entry.pointee.pw_gid)
  }

  static func makeDirectory(owner: (uid: UInt32, gid: UInt32)?) throws -> String {
    var template = Array((NSTemporaryDirectory() + "/cleave-sandbox-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw SandboxError("mkdtemp failed: errno \(errno)") }
    let path = String(cString: made)
    if let owner { guard chown(path, owner.uid, owner.gid) == 0 else { throw SandboxError("chown \(path) failed") } }
    chmod(path, 0o700)
    return path
  }

  /// A TCP port on 127.0.0.1 that nothing listens on right now.
  static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw SandboxError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw SandboxError("bind() failed") }
    let named = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw SandboxError("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
  }
}

/// Numbers the databases a sandbox makes, so that names never collide between tests running in parallel.
final class Counter: Sendable {
  private let value = Mutex(0)
  func next() -> Int {
    value.withLock {
      $0 += 1
      return $0
    }
  }
}

extension Optional {
  fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
    guard let self else { return nil }
    return try await transform(self)
  }
}
