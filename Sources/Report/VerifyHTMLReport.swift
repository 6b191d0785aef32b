import Verify

/// `cleave verify --html FILE`: the verify report as one self-contained page to attach to a change ticket.
///
/// Summary, one table per service, the rows that differ, schema differences, soft references and a diagram of the
/// services (inline SVG). Nothing is loaded from the network. The summary's JSON is embedded as well, and a few
/// lines of script recompute the headline figures from it into `#computed`, so a browser test can check that
/// the page runs and that what it shows matches the JSON.
public struct VerifyHTMLReport: Sendable {
  public let summary: VerifySummary

  public init(_ summary: VerifySummary) { self.summary = summary }

  /// The figures the page shows in its summary, by the name of their `data-figure` attribute.
  public var figures: [String: Int] {
    [
      "tables": summary.tables.count,
      "tables-differing": summary.tables.filter { $0.status != .match }.count,
      "rows-expected": summary.tables.reduce(0) { $0 + $1.expectedRows },
      "rows-actual": summary.tables.reduce(0) { $0 + ($1.actualRows ?? 0) },
      "schema-differences": summary.schema.count,
      "references": summary.references.count,
      "orphans": summary.references.reduce(0) { $0 + $1.orphans },
    ]
  }

  public func page() -> String {
    let report = VerifyReport(summary)
    let services = summary.tables.map(\.service).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    var body: [String] = []
    body.append("<h1>cleave verify</h1>")
    body.append(
      "<p id=\"verdict\" class=\"\(summary.passed ? "ok" : "bad")\">\(HTML.escape(report.verdict))</p>")
    if let snapshot = summary.source.snapshot {
      body.append("<p>Source read in snapshot <code>\(HTML.escape(snapshot))</code>, the copy's.</p>")
    } else if let writes = summary.source.writesWhileVerifying {
      body.append(
        "<p>Source read live; <span data-figure=\"source-writes\">\(writes)</span> rows of the planned tables were"
          + " written while verify ran.</p>")
    }
    if let context = summary.context {
      body.append("<h2>What was verified</h2><table class=\"context\">")
      let rows = [
        ("verified-at", "verified at", context.verifiedAt),
        ("source", "source", "\(context.source) (database \(context.sourceDatabase))"),
        ("plan", "plan", context.planFile), ("plan-identity", "identity", context.planIdentity),
        ("plan-sha256", "plan SHA-256", context.planSHA256),
      ]
      for (key, label, value) in rows {
        body.append("<tr><th>\(label)</th><td data-context=\"\(key)\">\(HTML.escape(value))</td></tr>")
      }
      for (table, changes) in context.transforms.sorted(by: { $0.key < $1.key }) {
        body.append(
          "<tr><th>transform</th><td data-context=\"transform\"><code>\(HTML.escape(table))</code>: "
            + HTML.escape(changes.joined(separator: "; ")) + "</td></tr>")
      }
      body.append("</table>")
    }
    body.append("<h2>Summary</h2><table class=\"figures\">")
    let labels = [
      ("tables", "tables checked"), ("tables-differing", "tables that differ"),
      ("rows-expected", "rows expected"), ("rows-actual", "rows found"),
      ("schema-differences", "schema differences"), ("references", "soft references"), ("orphans", "orphaned values"),
    ]
    for (key, label) in labels {
      body.append("<tr><th>\(label)</th><td data-figure=\"\(key)\">\(figures[key] ?? 0)</td></tr>")
    }
    body.append("</table>")
    body.append("<p id=\"computed\">This page's script did not run.</p>")
    body.append("<h2>Services and soft references</h2>")
    body.append(ServiceDiagram(services: services, references: summary.references).svg())
    for service in services {
      body.append("<h2>Service <code>\(HTML.escape(service))</code></h2>")
      body.append(
        "<table class=\"tables\"><tr><th>table</th><th>source</th><th>expected</th><th>actual</th><th>status</th></tr>")
      for table in summary.tables where table.service == service {
        let ok = table.status == .match
        body.append(
          "<tr class=\"\(ok ? "ok" : "bad")\" data-table=\"\(HTML.escape(table.target.description))\">"
            + "<td>\(HTML.escape(table.target.description))</td><td>\(HTML.escape(table.source.description))</td>"
            + "<td data-expected>\(table.expectedRows)</td><td data-actual>\(table.actualRows.map(String.init) ?? "")</td>"
            + "<td>\(HTML.escape(ok ? "ok" : table.status.rawValue))</td></tr>")
        if let differences = table.differences {
          let rows = differences.examples.map { "<li>\(HTML.escape(VerifyReport.describe($0)))</li>" }.joined()
          let how =
            differences.locatedByKey
            ? "by key \(differences.key.joined(separator: ", "))"
            : "no primary key: compared as a multiset, cannot be located by key"
          body.append(
            "<tr class=\"detail\"><td colspan=\"5\">\(differences.missing) missing, \(differences.extra) extra, "
              + "\(differences.changed) changed (\(HTML.escape(how)))<ul>\(rows)</ul></td></tr>")
        }
        if let problem = table.problem {
          body.append("<tr class=\"detail\"><td colspan=\"5\">cannot read it: \(HTML.escape(problem))</td></tr>")
        }
      }
      body.append("</table>")
    }
    body.append("<h2>Schema</h2>")
    if summary.schema.isEmpty {
      body.append(
        "<p class=\"ok\">Every service database has the tables, columns, indexes, constraints and sequences the plan implies.</p>"
      )
    } else {
      body.append(
        "<ul id=\"schema\">"
          + summary.schema.map { "<li>\(HTML.escape(VerifyReport.describe($0)))</li>" }.joined() + "</ul>")
    }
    body.append("<h2>Soft references</h2>")
    if summary.references.isEmpty {
      body.append("<p>No foreign key crosses a service boundary.</p>")
    } else {
      body.append(
        "<table class=\"references\"><tr><th>constraint</th><th>from</th><th>to</th><th>values</th><th>orphans</th></tr>"
      )
      for reference in summary.references {
        let first = reference.firstOrphans.isEmpty ? "" : " (first: \(reference.firstOrphans.joined(separator: "; ")))"
        body.append(
          "<tr class=\"\(reference.orphans == 0 ? "ok" : "bad")\"><td>\(HTML.escape(reference.constraint))</td>"
            + "<td>\(HTML.escape("\(reference.fromService): \(reference.from)"))</td>"
            + "<td>\(HTML.escape("\(reference.toService): \(reference.to)"))</td>"
            + "<td>\(reference.checkedValues)</td><td>\(reference.orphans)\(HTML.escape(first))</td></tr>")
      }
      body.append("</table>")
    }
    return """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8">
      <meta name="viewport" content="width=device-width, initial-scale=1">
      <title>cleave verify: \(summary.passed ? "verified" : "NOT verified")</title>
      <style>\(Self.css)</style>
      </head><body>
      \(body.joined(separator: "\n"))
      <script type="application/json" id="summary">\(HTML.scriptJSON(JSONRendering.render(summary)))</script>
      <script>\(Self.script)</script>
      </body></html>
      """
  }

  static let css = """
    body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:70em}
    table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}
    td[data-expected],td[data-actual],.figures td{text-align:right;font-variant-numeric:tabular-nums}
    .ok{color:#2e7d32}.bad{color:#c62828}tr.bad td{background:#fdecea}tr.detail td{color:#444;font-size:.9em}
    #verdict{font-weight:bold;font-size:1.2em}code{background:#f3f3f3;padding:0 .2em}
    """

  /// Recomputes the headline figures from the embedded JSON, so a browser shows them only if the page runs.
  static let script = """
    (function(){
      var s = JSON.parse(document.getElementById('summary').textContent);
      var differing = s.tables.filter(function(t){ return t.status !== 'match'; }).length;
      var orphans = s.references.reduce(function(n, r){ return n + r.orphans; }, 0);
      var p = document.getElementById('computed');
      p.setAttribute('data-tables', String(s.tables.length));
      p.setAttribute('data-tables-differing', String(differing));
      p.setAttribute('data-orphans', String(orphans));
      p.textContent = s.tables.length + ' tables checked, ' + differing + ' differ; ' + orphans + ' orphaned values.';
    })();
    """
}
