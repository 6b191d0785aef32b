import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import Testing

/// `cleave verify` end to end: `--snapshot` against a source that keeps taking writes, and the HTML report
/// opened in a real headless browser.
@Suite(.postgres, .tags(.integration)) struct VerifyCLITests {
  static let schema = """
    CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL UNIQUE);
    CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers, total numeric);
    INSERT INTO customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 50) AS g;
    INSERT INTO orders (customer_id, total) SELECT 1 + g % 50, g * 1.5 FROM generate_series(1, 500) AS g;
    """

  /// A source with customers and orders, and a plan that puts them into two services.
  func fixture(_ sandbox: PostgresSandbox, _ temporary: TemporaryFolder) async throws -> (ConnInfo, String) {
    let source = try await sandbox.makeDatabase("verify_cli")
    try await SerialConnection.connect(source).execute(Self.schema)
    let plan = try temporary.writePlan(
      source: source.flattened, target: sandbox.connInfo().rawValue,
      services: """
        accounts_\(temporary.suffix):
          database: accounts_\(temporary.suffix)
          tables: [customers]
        billing_\(temporary.suffix):
          database: billing_\(temporary.suffix)
          tables: [orders]
        """)
    return (source, plan)
  }

  @Test func snapshotLetsVerifySeeTheCopysInstantOfALiveSource() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let temporary = try TemporaryFolder("verify-cli")
    defer { temporary.remove() }
    let (source, plan) = try await fixture(sandbox, temporary)
    let writer = try await SerialConnection.connect(source)

    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: CLIRunner.binary)
    holder.arguments = ["snapshot", "-f", plan]
    let input = Pipe()
    let output = Pipe()
    holder.standardInput = input
    holder.standardOutput = output
    holder.standardError = FileHandle.nullDevice
    try holder.run()
    let snapshot = try #require(
      await Task.detached { () -> String? in
        var line = Data()
        while let byte = try? output.fileHandleForReading.read(upToCount: 1), let first = byte.first, first != 10 {
          line.append(first)
        }
        return line.isEmpty ? nil : String(decoding: line, as: UTF8.self)
      }.value)
    #expect(snapshot.contains("-"), "a snapshot id such as 00000003-0000001B-1: \(snapshot)")

    // Writes after the snapshot: neither the copy nor a verify in the snapshot may see them.
    try await writer.execute(
      "INSERT INTO orders (customer_id, total) VALUES (1, 9.99); DELETE FROM orders WHERE id = 5")
    let secrets = temporary.path + "/secrets.env"
    let copy = try await CLIRunner.run(["copy", "-f", plan, "--secrets", secrets, "--snapshot", snapshot])
    #expect(copy.status == 0, "\(copy.stderr)")
    try await writer.execute("UPDATE customers SET email = 'new@example.com' WHERE id = 2")

    let inSnapshot = try await CLIRunner.run(["verify", "-f", plan, "--snapshot", snapshot, "--format", "json"])
    #expect(inSnapshot.status == 0, "\(inSnapshot.stdout)\(inSnapshot.stderr)")
    let json = try JSONSerialization.jsonObject(with: Data(inSnapshot.stdout.utf8)) as? [String: Any]
    #expect((json?["source"] as? [String: Any])?["snapshot"] as? String == snapshot)

    let live = try await CLIRunner.run(["verify", "-f", plan])
    #expect(live.status == ExitStatus.verificationFailed.rawValue)
    // Read live, the source has the later writes: order 501 is new, order 5 is gone, customer 2 changed.
    #expect(live.stdout.contains("CONTENT DIFFERS"), "\(live.stdout)")
    #expect(live.stdout.contains("missing (501)") && live.stdout.contains("extra (5)"), "\(live.stdout)")
    #expect(live.stdout.contains("changed (2): email \"new@example.com\" -> \"c2@example.com\""), "\(live.stdout)")

    try input.fileHandleForWriting.close()
    holder.waitUntilExit()
    #expect(holder.terminationStatus == 0)
    let gone = try await CLIRunner.run(["verify", "-f", plan, "--snapshot", snapshot])
    #expect(gone.status == ExitStatus.sourceFailed.rawValue, "the snapshot ended with its holder: \(gone.stderr)")
    #expect(gone.stderr.contains("cleave snapshot"))
  }

  @Test func theHTMLReportOpensInABrowserAndShowsWhatTheJSONSays() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    let temporary = try TemporaryFolder("verify-html")
    defer { temporary.remove() }
    let (_, plan) = try await fixture(sandbox, temporary)
    let copy = try await CLIRunner.run(["copy", "-f", plan, "--secrets", temporary.path + "/secrets.env"])
    #expect(copy.status == 0, "\(copy.stderr)")
    let billing = try await SerialConnection.connect(sandbox.connInfo(database: "billing_\(temporary.suffix)"))
    try await billing.execute("DELETE FROM orders WHERE id = 7; INSERT INTO orders VALUES (9999, 4242, 1)")

    let page = temporary.path + "/report.html"
    let result = try await CLIRunner.run(["verify", "-f", plan, "--format", "json", "--html", page])
    #expect(result.status == ExitStatus.verificationFailed.rawValue, "\(result.stderr)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    let tables = try #require(json["tables"] as? [[String: Any]])
    let references = try #require(json["references"] as? [[String: Any]])
    let expected: [String: Int] = [
      "tables": tables.count,
      "tables-differing": tables.filter { $0["status"] as? String != "match" }.count,
      "rows-expected": tables.reduce(0) { $0 + ($1["expectedRows"] as? Int ?? 0) },
      "rows-actual": tables.reduce(0) { $0 + ($1["actualRows"] as? Int ?? 0) },
      "schema-differences": (json["schema"] as? [Any])?.count ?? -1,
      "references": references.count,
      "orphans": references.reduce(0) { $0 + ($1["orphans"] as? Int ?? 0) },
    ]
    #expect(expected["orphans"] == 1 && expected["tables-differing"] == 1)

    let dom = try await Browser.dumpDOM(ofFile: page)
    for (figure, value) in expected {
      #expect(Browser.text(of: "data-figure=\"\(figure)\"", in: dom) == "\(value)", "figure \(figure)")
    }
    // The page's own script ran in the browser and computed the same figures from the embedded JSON.
    #expect(Browser.attribute("data-tables", in: dom) == "\(tables.count)")
    #expect(Browser.attribute("data-tables-differing", in: dom) == "\(expected["tables-differing"] ?? -1)")
    #expect(Browser.attribute("data-orphans", in: dom) == "\(expected["orphans"] ?? -1)")
    #expect(dom.contains("<svg") && dom.contains("data-service=\"billing_\(temporary.suffix)\""))
    #expect(dom.contains("missing (7)") && dom.contains("extra (9999)"))
    #expect(!dom.contains(" src=") && !dom.contains("<link"), "the page loads nothing from elsewhere")
    // What was verified, for the change ticket: when, against which source, with which plan (issue 13).
    let context = try #require(json["context"] as? [String: Any])
    let digest = try await ToolRunner.run("sha256sum", [plan]).standardOutput.prefix(64)
    #expect(context["planSHA256"] as? String == String(digest) && digest.count == 64)
    #expect(Browser.text(of: "data-context=\"plan-sha256\"", in: dom)?.contains(String(digest)) == true)
    let year = String(Calendar(identifier: .gregorian).component(.year, from: Date()))
    #expect(Browser.text(of: "data-context=\"verified-at\"", in: dom)?.contains(year) == true, "\(dom.prefix(2000))")
    #expect(Browser.text(of: "data-context=\"source\"", in: dom)?.contains("verify_cli") == true)
  }
}

/// Headless Chromium (Debian's `chromium-headless-shell`, installed by `make deps`), to open a page as a user would.
enum Browser {
  static var binary: String? {
    for name in ["chromium-headless-shell", "chromium", "chromium-browser"] {
      for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
        let path = "\(folder)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
      }
    }
    return nil
  }

  /// The page's DOM after its scripts ran, as the browser serialises it.
  static func dumpDOM(ofFile path: String) async throws -> String {
    let browser = try #require(binary, "headless Chromium is not installed: run `make deps`")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: browser)
    process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://" + path]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = await Task.detached { out.fileHandleForReading.readDataToEndOfFile() }.value
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    return String(decoding: data, as: UTF8.self)
  }

  /// The text inside the first element whose tag carries `marker`.
  static func text(of marker: String, in dom: String) -> String? {
    guard let start = dom.range(of: marker), let close = dom[start.upperBound...].firstIndex(of: ">"),
      let end = dom[close...].firstIndex(of: "<")
    else { return nil }
    return String(dom[dom.index(after: close)..<end])
  }

  /// The value of the first `name="…"` attribute.
  static func attribute(_ name: String, in dom: String) -> String? {
    guard let start = dom.range(of: " \(name)=\""), let end = dom[start.upperBound...].firstIndex(of: "\"") else {
      return nil
    }
    return String(dom[start.upperBound..<end])
  }
}
