import Foundation
import SQLParser

/// One risky change in a migration: the rule, where it is, what it does, and a safer way.
public struct LintFinding: Sendable, Codable, Equatable {
  public var rule: String
  public var file: String
  public var line: Int
  public var column: Int
  public var message: String
  public var saferAlternative: String

  /// `path:line:column: warning[rule]: message` and the alternative, the way compilers print.
  public var description: String {
    "\(file):\(line):\(column): warning[\(rule)]: \(message)\n  safer: \(saferAlternative)"
  }
}

/// `cleave migrate lint`: reads each migration with the PostgreSQL parser (libpg_query) and reports the changes
/// that lock or break a live database, with a rule code, the file, line and column, and a safer way.
///
/// A file switches rules off with a comment line `-- cleave-lint: disable=MIG003,MIG005` (or `disable=all`).
/// Tables created in the same file are new and empty: indexes, constraints, defaults and renames on them are not
/// reported.
public enum MigrationLinter {
  /// Every rule: its code and what it is about.
  public static let rules: [(code: String, name: String)] = [
    ("MIG001", "drop table"), ("MIG002", "drop column"), ("MIG003", "change a column's type"),
    ("MIG004", "set NOT NULL"), ("MIG005", "add a CHECK or foreign key without NOT VALID"),
    ("MIG006", "create an index without CONCURRENTLY"), ("MIG007", "rename a table or column"),
    ("MIG008", "add a column with a volatile default"), ("MIG009", "a lock-taking statement without lock_timeout"),
  ]

  /// Functions whose value changes per row: a column added with one as its default rewrites the whole table.
  static let volatileFunctions: Set<String> = [
    "random", "gen_random_uuid", "uuid_generate_v4", "uuid_generate_v1", "clock_timestamp", "timeofday", "nextval",
    "txid_current",
  ]

  /// The findings for one migration; a file that does not parse gets none (deploy reports the parse error).
  public static func lint(_ migration: Migration) -> [LintFinding] {
    guard let statements = try? SQLParser.statements(in: migration.script) else { return [] }
    let disabled = disabledRules(in: migration.script)
    var created: Set<String> = []
    var lockTimeoutSet = false
    var findings: [LintFinding] = []
    for statement in statements {
      func report(_ rule: String, _ message: String, _ safer: String) {
        guard !disabled.contains(rule), !disabled.contains("all") else { return }
        findings.append(
          LintFinding(
            rule: rule, file: migration.path, line: statement.line, column: statement.column, message: message,
            saferAlternative: safer))
      }
      let node = statement.node
      var takesLock = false
      switch statement.kind {
      case "VariableSetStmt":
        if node["name"].string == "lock_timeout" { lockTimeoutSet = true }
      case "CreateStmt":
        if let name = node["relation"]["relname"].string { created.insert(name) }
      case "DropStmt" where node["removeType"].string == "OBJECT_TABLE":
        report(
          "MIG001", "DROP TABLE deletes the table and its data for good",
          "stop using the table first, back it up, and drop it in a later release")
        takesLock = true
      case "AlterTableStmt":
        let table = node["relation"]["relname"].string ?? ""
        let isNew = created.contains(table)
        takesLock = !isNew
        for command in node["cmds"].array.map({ $0["AlterTableCmd"] }) {
          let column = command["name"].string ?? ""
          switch command["subtype"].string {
          case "AT_DropColumn":
            report(
              "MIG002", "dropping column \(column) of \(table) breaks every running version that still reads it",
              "stop reading the column in the application first, then drop it in a later release")
          case "AT_AlterColumnType" where !isNew:
            report(
              "MIG003", "changing the type of \(table).\(column) rewrites the table under an ACCESS EXCLUSIVE lock",
              "add a new column, backfill it in batches, switch the application, then drop the old one")
          case "AT_SetNotNull" where !isNew:
            report(
              "MIG004", "SET NOT NULL on \(table).\(column) scans the whole table under an ACCESS EXCLUSIVE lock",
              "add CHECK (\(column) IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL (PostgreSQL 12+ "
                + "uses the valid check and skips the scan)")
          case "AT_AddConstraint" where !isNew:
            let constraint = command["def"]["Constraint"]
            let type = constraint["contype"].string
            if type == "CONSTR_CHECK" || type == "CONSTR_FOREIGN", !constraint["skip_validation"].bool {
              report(
                "MIG005",
                "adding a \(type == "CONSTR_CHECK" ? "CHECK" : "foreign key") constraint to \(table) "
                  + "without NOT VALID checks every row while holding a lock",
                "add it NOT VALID, then ALTER TABLE … VALIDATE CONSTRAINT in a separate step (a lighter lock)")
            }
          case "AT_AddColumn" where !isNew:
            let definition = command["def"]["ColumnDef"]
            for constraint in definition["constraints"].array.map({ $0["Constraint"] })
            where constraint["contype"].string == "CONSTR_DEFAULT" {
              let calls = constraint["raw_expr"].descendants().filter { $0.kind == "FuncCall" }
              let names = calls.compactMap { $0.node["funcname"].array.last?["String"]["sval"].string }
              if let volatile = names.first(where: volatileFunctions.contains) {
                report(
                  "MIG008",
                  "adding \(definition["colname"].string ?? "a column") to \(table) with the volatile default "
                    + "\(volatile)() rewrites the whole table under an ACCESS EXCLUSIVE lock",
                  "add the column without a default (or with a constant one), set the default, then backfill in batches"
                )
              }
            }
          default: break
          }
        }
      case "IndexStmt":
        let table = node["relation"]["relname"].string ?? ""
        if !node["concurrent"].bool, !created.contains(table) {
          report(
            "MIG006", "CREATE INDEX on \(table) blocks every write to it until the index is built",
            "CREATE INDEX CONCURRENTLY (in a migration of its own: it cannot run in a transaction)")
          takesLock = true
        }
      case "RenameStmt":
        let type = node["renameType"].string
        if type == "OBJECT_TABLE" || type == "OBJECT_COLUMN" {
          let table = node["relation"]["relname"].string ?? ""
          if !created.contains(table) {
            report(
              "MIG007",
              "renaming \(type == "OBJECT_TABLE" ? "table" : "a column of") \(table) breaks every running "
                + "version that uses the old name",
              "add the new name next to the old one (a view, or a new column kept in sync), move the application, "
                + "then remove the old one")
            takesLock = true
          }
        }
      default: break
      }
      if takesLock && !lockTimeoutSet {
        report(
          "MIG009",
          "this statement takes a lock with no lock_timeout: behind a long query it waits, and every "
            + "query on the table queues behind it",
          "start the migration with SET lock_timeout = '5s' (and retry the deploy if it times out)")
      }
    }
    return findings
  }

  /// The rules a file switches off with `-- cleave-lint: disable=RULE,RULE` (a comment, so read as text).
  static func disabledRules(in script: String) -> Set<String> {
    var rules: Set<String> = []
    for line in script.split(separator: "\n") {
      let text = line.trimmingCharacters(in: .whitespaces)
      guard text.hasPrefix("--"), let marker = text.range(of: "cleave-lint: disable=") else { continue }
      for rule in text[marker.upperBound...].split(separator: ",") {
        rules.insert(rule.trimmingCharacters(in: .whitespaces))
      }
    }
    return rules
  }
}
