import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

@Suite(.postgres, .tags(.integration)) struct ConnectionTests {
  var sandbox: PostgresSandbox { get throws { try #require(PostgresSandbox.current) } }

  @Test func copyRoundTripKeepsEveryByte() async throws {
    let sandbox = try sandbox
    let source = try await SerialConnection.connect(try await sandbox.makeDatabase("copy_src"))
    let target = try await SerialConnection.connect(try await sandbox.makeDatabase("copy_dst"))
    let ddl = "CREATE TABLE t (id int PRIMARY KEY, txt text, raw bytea, j jsonb, arr text[], f float8, ts timestamptz)"
    try await source.execute(ddl)
    try await target.execute(ddl)
    try await source.execute(
      """
      INSERT INTO t SELECT i, CASE WHEN i % 7 = 0 THEN NULL ELSE 'row ' || i || E'\\ttab\\nnewline\\\\back ıßü😀' END,
        decode(md5(i::text), 'hex'), jsonb_build_object('k', i, 's', E'q"uote'), ARRAY['a', NULL, 'b c'],
        i / 3.0, '2024-01-01'::timestamptz + i * interval '1 minute'
      FROM generate_series(1, 5000) i
      """)
    for format in ["text", "binary"] {
      try await target.execute("TRUNCATE t")
      let copyOut = "COPY t TO STDOUT WITH (FORMAT \(format))"
      let original = try await source.withConnection { connection in
        var bytes: [UInt8] = []
        try connection.copyOut("COPY (SELECT * FROM t ORDER BY id) TO STDOUT WITH (FORMAT \(format))") {
          bytes.append(contentsOf: $0)
        }
        return bytes
      }
      #expect(original.count > 100_000)
      try await target.withConnection { connection in
        try connection.copyIn("COPY t FROM STDIN WITH (FORMAT \(format))") { writer in
          var offset = 0
          while offset < original.count {  // odd-sized chunks that cut rows in the middle
            let end = min(offset + 4093, original.count)
            try original[offset..<end].withUnsafeBytes { try writer.write($0) }
            offset = end
          }
        }
      }
      let copied = try await target.withConnection { connection in
        var bytes: [UInt8] = []
        try connection.copyOut(copyOut.replacingOccurrences(of: "COPY t", with: "COPY (SELECT * FROM t ORDER BY id)")) {
          bytes.append(contentsOf: $0)
        }
        return bytes
      }
      #expect(copied == original, "format \(format)")
    }
    let count = try await target.query("SELECT count(*) FROM t").scalar
    #expect(count == "5000")
  }

  @Test func aFailedCopyInIsRolledBackAndTheConnectionStaysUsable() async throws {
    let connection = try await SerialConnection.connect(try await sandbox.makeDatabase("copy_bad"))
    try await connection.execute("CREATE TABLE t (id int)")
    await #expect(throws: PostgresError.self) {
      try await connection.withConnection { connection in
        try connection.copyIn("COPY t FROM STDIN") { writer in
          try writer.write("1\n2\nnot a number\n")
        }
      }
    }
    #expect(try await connection.query("SELECT count(*) FROM t").scalar == "0")
  }

  @Test func serverErrorsCarrySQLStateMessageDetailAndHint() async throws {
    let connection = try await SerialConnection.connect(try await sandbox.makeDatabase("errors"))
    let missing = await #expect(throws: PostgresError.self) {
      try await connection.query("SELECT * FROM no_such_table")
    }
    #expect(missing?.sqlState == "42P01")
    #expect(missing?.message.contains("no_such_table") == true)
    #expect(missing?.severity == "ERROR")

    try await connection.execute("CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p VALUES (1)")
    let duplicate = await #expect(throws: PostgresError.self) {
      try await connection.query("INSERT INTO p VALUES ($1)", ["1"])
    }
    #expect(duplicate?.sqlState == "23505")
    #expect(duplicate?.detail?.contains("(id)=(1)") == true)

    let withHint = await #expect(throws: PostgresError.self) {
      try await connection.query("SELECT lenght('x')")
    }
    #expect(withHint?.sqlState == "42883")
    #expect(withHint?.hint?.isEmpty == false)
  }

  @Test func parametersAreValuesNeverSQL() async throws {
    let connection = try await SerialConnection.connect(try await sandbox.makeDatabase("params"))
    let hostile = "x'); DROP TABLE victims; --"
    try await connection.execute("CREATE TABLE victims (name text)")
    try await connection.query("INSERT INTO victims VALUES ($1), ($2)", [hostile, nil])
    let rows = try await connection.query("SELECT name FROM victims ORDER BY name NULLS LAST").rows
    #expect(rows == [[hostile], [nil]])
  }

  @Test(arguments: ["plain", "Mixed Case", "with\"quote", "bıgınt", "semi;colon", "ünïcødé table"])
  func identifiersOfAnyShapeRoundTrip(name: String) async throws {
    let connection = try await SerialConnection.connect(try await sandbox.makeDatabase("idents"))
    let quoted = try await connection.quoteIdentifier(name)
    try await connection.execute("CREATE TABLE \(quoted) (\(quoted) int)")
    let found = try await connection.query(
      "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0", [quoted])
    #expect(found.scalar == name)
  }

  @Test func aReadOnlyConnectionRefusesWrites() async throws {
    let info = try await sandbox.makeDatabase("readonly")
    let connection = try await SerialConnection.connect(info, readOnly: true)
    let refused = await #expect(throws: PostgresError.self) {
      try await connection.execute("CREATE TABLE t (id int)")
    }
    #expect(refused?.sqlState == "25006")
  }

  @Test func aWrongPasswordIsAClearErrorThatNeverShowsThePassword() async throws {
    let sandbox = try sandbox
    let database = try await sandbox.makeDatabase("auth")
    let admin = try await SerialConnection.connect(database)
    try await admin.execute(
      "CREATE ROLE pw_user LOGIN PASSWORD 'right-password' IN ROLE \(PostgresSandbox.passwordGroup)")
    let wrong = sandbox.url(database: "postgres", user: "pw_user", password: "wrong-password-123")
    let failure = await #expect(throws: PostgresError.self) {
      try await SerialConnection.connect(ConnInfo(wrong))
    }
    #expect(failure?.isAuthenticationFailure == true)
    #expect(failure?.sqlState == "28P01")
    #expect(failure.map { "\($0)" }?.contains("wrong-password-123") == false)
    #expect(failure?.server.contains("wrong-password-123") == false)
    #expect(failure?.server.contains("********") == true)

    let right = try await SerialConnection.connect(
      ConnInfo(sandbox.url(database: "postgres", user: "pw_user", password: "right-password")))
    #expect(try await right.query("SELECT current_user").scalar == "pw_user")
  }

  @Test func libpqReadsPgpassAndServiceFilesAsPsqlDoes() async throws {
    let sandbox = try sandbox
    let database = try await sandbox.makeDatabase("libpq")
    let admin = try await SerialConnection.connect(database)
    try await admin.execute(
      "CREATE ROLE pass_user LOGIN PASSWORD 'from-pgpass' IN ROLE \(PostgresSandbox.passwordGroup)")
    let folder = NSTemporaryDirectory() + "cleave-libpq-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let passfile = folder + "/pgpass"
    try "127.0.0.1:\(sandbox.port):*:pass_user:from-pgpass\n".write(toFile: passfile, atomically: true, encoding: .utf8)
    chmod(passfile, 0o600)
    let viaPgpass = try await SerialConnection.connect(
      ConnInfo("host=127.0.0.1 port=\(sandbox.port) user=pass_user dbname=postgres passfile=\(passfile)"))
    #expect(try await viaPgpass.query("SELECT current_user").scalar == "pass_user")

    let serviceFile = folder + "/pg_service.conf"
    try "[cleave_test]\nhost=127.0.0.1\nport=\(sandbox.port)\nuser=postgres\ndbname=postgres\n"
      .write(toFile: serviceFile, atomically: true, encoding: .utf8)
    setenv("PGSERVICEFILE", serviceFile, 1)
    let viaService = try await SerialConnection.connect(ConnInfo("service=cleave_test"))
    #expect(try await viaService.query("SELECT current_setting('port')").scalar == "\(sandbox.port)")
  }

  @Test func withDatabaseKeepsTheRestOfAURL() async throws {
    let sandbox = try sandbox
    let database = try await sandbox.makeDatabase("override")
    let name = try #require(try await SerialConnection.connect(database).query("SELECT current_database()").scalar)
    let info = ConnInfo(sandbox.url(database: "postgres")).withDatabase(name)
    #expect(try await SerialConnection.connect(info).query("SELECT current_database()").scalar == name)
  }

  @Test func blockingCallsDoNotStarveEachOther() async throws {
    // Swift's cooperative pool has one thread per core (two here); if libpq blocked it, at most two sleeps
    // would be on the server at once. Each connection runs on its own thread, so all eight are.
    let sandbox = try sandbox
    let info = try await sandbox.makeDatabase("parallel")
    let observer = try await SerialConnection.connect(info)
    let name = try #require(try await observer.query("SELECT current_database()").scalar)
    // Connected first, so that a slow connection under load cannot keep the sleeps from overlapping.
    var connections: [SerialConnection] = []
    for _ in 0..<8 { connections.append(try await SerialConnection.connect(info)) }
    let peak = try await withThrowingTaskGroup(of: Int.self) { group in
      for connection in connections {
        group.addTask {
          try await connection.query("SELECT pg_sleep(4)")
          return 0
        }
      }
      group.addTask {
        var most = 0
        for _ in 0..<50 {
          let sleeping = try await observer.query(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%SELECT pg_sleep(4)'", [name])
          most = max(most, Int(sleeping.scalar ?? "0") ?? 0)
          if most == 8 { break }
          try await Task.sleep(for: .milliseconds(100))
        }
        return most
      }
      var best = 0
      for try await value in group { best = max(best, value) }
      return best
    }
    #expect(peak == 8)
  }
}
