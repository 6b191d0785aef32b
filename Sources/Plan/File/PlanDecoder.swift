import CleaveCore
import Foundation
import Yams

/// Reads a `cleave.yml` into a `PlanFile` and checks its shape.
///
/// It checks known keys only, the right types, required keys present, environment variables set. Names of tables and columns are checked later, against the source
/// (`PlanResolver`).
public enum PlanDecoder {
  static let topLevelKeys = ["version", "name", "source", "targets", "services"]
  static let serviceKeys = [
    "target", "database", "schema", "tables", "schemas", "transforms", "owner_password", "app_password",
    "pool_size", "min_idle", "replicas", "migrations", "switch",
  ]
  static let transformKeys = ["where", "rename_to", "columns", "on_orphan"]
  static let columnKeys = ["drop", "rename_to", "add", "type", "rekey"]
  static let rekeyKeys = ["via", "match", "take", "on_missing"]

  /// Reads and decodes the plan at `path`.
  ///
  /// - Throws: `CleaveError` with a `cleave.yml:line:column` location for every problem.
  public static func load(
    path: String, environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws(CleaveError) -> PlanFile {
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
      throw CleaveError(
        .planUnreadable, "cannot read the plan file \(path): \(error.localizedDescription)",
        hint: "pass the plan with -f PATH, or write one with `cleave init SOURCE_URL > cleave.yml`")
    }
    return try decode(yaml: text, path: path, environment: environment)
  }

  /// Decodes a plan from its YAML text; `path` is only used in error locations.
  public static func decode(yaml: String, path: String, environment: [String: String] = [:]) throws(CleaveError)
    -> PlanFile
  {
    let root: Node
    do {
      guard let node = try Yams.compose(yaml: yaml) else {
        throw CleaveError(
          .planMissingKey, "the plan is empty", hint: "a plan needs `source:`, `targets:` and `services:`",
          at: SourceLocation(file: path, line: 1, column: 1))
      }
      root = node
    } catch let error as CleaveError {
      throw error
    } catch let error as YamlError {
      throw syntaxError(error, path: path)
    } catch {
      throw CleaveError(
        .planSyntax, "the plan is not valid YAML: \(error)", at: SourceLocation(file: path, line: 1, column: 1))
    }
    let expander = EnvironmentExpander(environment: environment)
    let top = try YAMLReader(root, file: path, context: "the plan")
    try top.rejectUnknownKeys(allowed: topLevelKeys)
    if let version = try top.string("version"), version.value != "1" {
      throw CleaveError(
        .planWrongType, "plan version \(version.value) is not supported", hint: "this Cleave reads `version: 1`",
        at: version.location)
    }

    // A plan used only for migrations may leave the source out: its services' databases and folders are enough.
    let source =
      top.node("source") == nil && migrationsOnly(top)
      ? Endpoint(url: "", location: top.location)
      : try endpoint(top, key: "source", expander: expander, hint: "source:\n    url: postgres://user@host:5432/db")
    guard let targetsNode = top.node("targets") else {
      throw CleaveError(
        .planMissingKey, "the plan has no `targets`",
        hint: "add `targets:` with at least one server, e.g. `main: { url: postgres://admin@host/postgres }`",
        at: top.location)
    }
    let targetsReader = try YAMLReader(targetsNode, file: path, context: "`targets`")
    var targets: [TargetServer] = []
    for (name, _) in targetsReader.entries {
      let server = try endpoint(targetsReader, key: name.value, expander: expander, hint: "")
      targets.append(TargetServer(name: name.value, endpoint: server))
    }
    guard !targets.isEmpty else {
      throw CleaveError(
        .planMissingKey, "`targets` is empty", hint: "name at least one target server", at: targetsReader.location)
    }

    guard let servicesNode = top.node("services") else {
      throw CleaveError(
        .planMissingKey, "the plan has no `services`", hint: "add `services:` naming each service and its tables",
        at: top.location)
    }
    let servicesReader = try YAMLReader(servicesNode, file: path, context: "`services`")
    var services: [Service] = []
    for (name, node) in servicesReader.entries {
      services.append(try service(name: name, node: node, file: path, expander: expander))
    }
    var name: String?
    if let given = try top.string("name") {
      guard !given.value.isEmpty, !given.value.contains(";"), given.value.utf8.count <= 200 else {
        throw CleaveError(
          .planInvalidName, "the plan's `name` must be 1 to 200 characters without `;`",
          hint: "name the plan after what it splits, e.g. `name: shop-split`", at: given.location)
      }
      name = given.value
    }
    return PlanFile(path: path, name: name, source: source, targets: targets, services: services)
  }

  /// Whether every service names a `migrations:` folder (and the plan can do without a source).
  private static func migrationsOnly(_ top: YAMLReader) -> Bool {
    guard let servicesNode = top.node("services"), let services = servicesNode.mapping, !services.isEmpty else {
      return false
    }
    return services.allSatisfy { $0.value.mapping?["migrations"] != nil }
  }

  /// `key: URL` or `key: { url: URL }`.
  private static func endpoint(_ reader: YAMLReader, key: String, expander: EnvironmentExpander, hint: String)
    throws(CleaveError) -> Endpoint
  {
    guard let node = reader.node(key) else {
      throw CleaveError(.planMissingKey, "\(reader.context) has no `\(key)`", hint: hint, at: reader.location)
    }
    let url: Located<String>
    if case .scalar = node {
      url = try YAMLReader.scalar(node, file: reader.file, what: "`\(key)`")
    } else {
      let inner = try YAMLReader(node, file: reader.file, context: "`\(key)`")
      try inner.rejectUnknownKeys(allowed: ["url"])
      url = try inner.requiredString("url", hint: "a libpq URL or conninfo string, e.g. postgres://user@host:5432/db")
    }
    return Endpoint(url: try expander.expand(url), location: url.location)
  }

  private static func service(name: Located<String>, node: Node, file: String, expander: EnvironmentExpander)
    throws(CleaveError) -> Service
  {
    let reader = try YAMLReader(node, file: file, context: "service \"\(name.value)\"")
    try reader.rejectUnknownKeys(allowed: serviceKeys)
    try checkServiceName(name)
    let target = try reader.string("target")
    guard let database = try reader.string("database") else {
      throw CleaveError(
        .planMissingKey, "service \"\(name.value)\" has no `database`",
        hint: "add `database: \(name.value)_db` (the database it gets on its target server)", at: name.location)
    }
    guard !database.value.isEmpty else {
      throw CleaveError(.planInvalidName, "service \"\(name.value)\" has an empty `database`", at: database.location)
    }
    try checkServerName(database, what: "database", service: name.value)
    let schema = try reader.string("schema")
    if let schema {
      try checkServerName(schema, what: "schema", service: name.value)
      guard schema.value == schema.value.lowercased() else {
        throw CleaveError(
          .planInvalidName, "service \"\(name.value)\" has `schema: \(schema.value)` in mixed case",
          hint: "write it in lower case (`\(schema.value.lowercased())`), as PostgreSQL folds unquoted names; "
            + "Cleave does not create mixed-case schemas", at: schema.location)
      }
    }
    var transforms: [TableTransform] = []
    if let transformsNode = reader.node("transforms") {
      let transformsReader = try YAMLReader(transformsNode, file: file, context: "`transforms` of \"\(name.value)\"")
      for (table, value) in transformsReader.entries {
        transforms.append(try transform(table: table, node: value, file: file))
      }
    }
    var passwords: [String?] = []
    for key in ["owner_password", "app_password"] {
      guard let value = try reader.string(key) else {
        passwords.append(nil)
        continue
      }
      passwords.append(try expander.expand(value))
    }
    var service = Service(
      name: name.value, location: name.location, target: target?.value, targetLocation: target?.location,
      database: database.value, schema: schema?.value, tables: try reader.list("tables"),
      schemas: try reader.list("schemas"), transforms: transforms, ownerPassword: passwords[0],
      appPassword: passwords[1], migrations: try reader.string("migrations")?.value,
      pool: ConnectionPool(
        size: try reader.int("pool_size", minimum: 1)?.value,
        minimumIdle: try reader.int("min_idle", minimum: 0)?.value,
        replicas: try reader.int("replicas", minimum: 1)?.value))
    if let node = reader.node("switch") {
      service.connectionSwitch = try connectionSwitch(node, service: name.value, file: file, expander: expander)
    }
    return service
  }

  /// A service's `switch:`: a `pgbouncer:` entry (`admin`, `config`, `database`) or a `command:`, not both.
  private static func connectionSwitch(
    _ node: Node, service: String, file: String, expander: EnvironmentExpander
  ) throws(CleaveError) -> ConnectionSwitch {
    let reader = try YAMLReader(node, file: file, context: "`switch` of \"\(service)\"")
    try reader.rejectUnknownKeys(allowed: ["pgbouncer", "command"])
    let example =
      "switch:\n      pgbouncer:\n        admin: postgresql://pgbouncer@127.0.0.1:6432/pgbouncer\n"
      + "        config: /etc/pgbouncer/databases.ini\n        database: \(service)"
    if let pgbouncer = reader.node("pgbouncer") {
      if let command = reader.keyLocation("command") {
        throw CleaveError(
          .planInvalidTransform, "`switch` of \"\(service)\" has both `pgbouncer` and `command`",
          hint: "keep one: Cleave switches the connections one way", at: command)
      }
      let entry = try YAMLReader(pgbouncer, file: file, context: "`switch.pgbouncer` of \"\(service)\"")
      try entry.rejectUnknownKeys(allowed: ["admin", "config", "database"])
      return .pgbouncer(
        PgBouncerEntry(
          admin: try expander.expand(entry.requiredString("admin", hint: "the admin console's URL; " + example)),
          config: try expander.expand(
            entry.requiredString("config", hint: "the [databases] file PgBouncer includes; " + example)),
          database: try expander.expand(
            entry.requiredString("database", hint: "the entry the application connects through; " + example))))
    }
    guard let command = try reader.string("command") else {
      throw CleaveError(
        .planMissingKey, "`switch` of \"\(service)\" names neither `pgbouncer` nor `command`",
        hint: example, at: reader.location)
    }
    return .command(try expander.expand(command))
  }

  /// A service's name names files and folders (configuration, work files) and environment variables: letters,
  /// digits, `_`, `-` and `.`, not starting with `.` or `-`, so it can never reach outside its folder.
  private static func checkServiceName(_ name: Located<String>) throws(CleaveError) {
    let allowed = name.value.allSatisfy { $0.isLetter || $0.isNumber || "_-.".contains($0) }
    guard !name.value.isEmpty, allowed, !name.value.hasPrefix("."), !name.value.hasPrefix("-") else {
      throw CleaveError(
        .planInvalidName,
        "the service name \"\(name.value)\" may only hold letters, digits, `_`, `-` and `.`, "
          + "and may not start with `.` or `-`",
        hint: "it names files, folders and environment variables; call it e.g. `"
          + PlanProposer.serviceName(name.value) + "`", at: name.location)
    }
  }

  /// A database or schema name PostgreSQL keeps whole: at most 63 bytes (a longer one would be cut, and two
  /// cut names could become one), and not starting with `pg_`, which it reserves.
  private static func checkServerName(_ name: Located<String>, what: String, service: String) throws(CleaveError) {
    // PostgreSQL reserves `pg_` for its own schemas and roles, and the roles are named after the database.
    guard !name.value.hasPrefix("pg_") else {
      throw CleaveError(
        .planInvalidName,
        "service \"\(service)\" has a `\(what)` name starting with `pg_`, which PostgreSQL reserves for "
          + (what == "schema" ? "its own schemas" : "its own roles (Cleave names the service's roles after it)"),
        hint: "choose a name that does not start with `pg_`", at: name.location)
    }
    guard name.value.utf8.count <= PostgresIdentifier.maximumBytes else {
      throw CleaveError(
        .planInvalidName,
        "service \"\(service)\" has a `\(what)` name of \(name.value.utf8.count) bytes; PostgreSQL keeps at most "
          + "\(PostgresIdentifier.maximumBytes)",
        hint: "shorten it: PostgreSQL would cut it, and two names cut alike would be one \(what)", at: name.location)
    }
  }

  private static func transform(table: Located<String>, node: Node, file: String) throws(CleaveError) -> TableTransform
  {
    let reader = try YAMLReader(node, file: file, context: "the transform of \(table.value)")
    try reader.rejectUnknownKeys(allowed: transformKeys)
    var columns: [ColumnTransform] = []
    if let columnsNode = reader.node("columns") {
      let columnsReader = try YAMLReader(columnsNode, file: file, context: "`columns` of \(table.value)")
      for (column, value) in columnsReader.entries {
        columns.append(try columnTransform(column: column, node: value, file: file))
      }
    }
    var onOrphan: Located<TableTransform.OnOrphan>?
    if let value = try reader.string("on_orphan") {
      guard let rule = TableTransform.OnOrphan(rawValue: value.value) else {
        throw CleaveError(
          .planWrongType, "`on_orphan` must be one of: drop, keep-as-soft-reference", at: value.location)
      }
      onOrphan = Located(rule, at: value.location)
    }
    return TableTransform(
      table: table, rowFilter: try reader.string("where"), renameTo: try reader.string("rename_to"), columns: columns,
      onOrphan: onOrphan)
  }

  private static func columnTransform(column: Located<String>, node: Node, file: String) throws(CleaveError)
    -> ColumnTransform
  {
    let location = YAMLReader.location(of: node, in: file)
    if case .scalar(let scalar) = node {
      guard scalar.string == "drop" else {
        throw CleaveError(
          .planInvalidTransform, "`\(scalar.string)` is not a column action",
          hint: "write `drop`, or a mapping with one of: rename_to, add (with type), rekey", at: location)
      }
      return ColumnTransform(column: column, action: .drop, location: location)
    }
    let reader = try YAMLReader(node, file: file, context: "the transform of column \(column.value)")
    try reader.rejectUnknownKeys(allowed: columnKeys)
    let drop = try reader.string("drop")
    let rename = try reader.string("rename_to")
    let add = try reader.string("add")
    let rekeyNode = reader.node("rekey")
    let actions = [drop != nil, add != nil, rekeyNode != nil, rename != nil && rekeyNode == nil].filter { $0 }.count
    guard actions == 1 else {
      throw CleaveError(
        .planInvalidTransform,
        actions == 0
          ? "column \(column.value) has no action" : "column \(column.value) has more than one action",
        hint: "use exactly one of: drop, rename_to, add (with type), rekey (rename_to may go with rekey)",
        at: location)
    }
    if let drop {
      guard drop.value == "true" else {
        throw CleaveError(.planWrongType, "`drop` takes `true`", at: drop.location)
      }
      return ColumnTransform(column: column, action: .drop, location: location)
    }
    if let add {
      let type = try reader.requiredString(
        "type", hint: "say the new column's SQL type, e.g. `type: text`")
      return ColumnTransform(column: column, action: .add(expression: add.value, type: type.value), location: location)
    }
    if let rekeyNode {
      let rekeyReader = try YAMLReader(rekeyNode, file: file, context: "the rekey of column \(column.value)")
      try rekeyReader.rejectUnknownKeys(allowed: rekeyKeys)
      let hint = "rekey needs via (lookup table), match (its column equal to this one) and take (its column to use)"
      var onMissing = Rekey.OnMissing.error
      if let value = try rekeyReader.string("on_missing") {
        guard let policy = Rekey.OnMissing(rawValue: value.value) else {
          throw CleaveError(
            .planWrongType, "`on_missing` must be one of: error, null, keep", at: value.location)
        }
        onMissing = policy
      }
      let rekey = Rekey(
        via: try rekeyReader.requiredString("via", hint: hint),
        match: try rekeyReader.requiredString("match", hint: hint),
        take: try rekeyReader.requiredString("take", hint: hint), renameTo: rename?.value, onMissing: onMissing)
      return ColumnTransform(column: column, action: .rekey(rekey), location: location)
    }
    return ColumnTransform(column: column, action: .rename(rename?.value ?? ""), location: location)
  }

  static func syntaxError(_ error: YamlError, path: String) -> CleaveError {
    switch error {
    case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
      .composer(let context, let problem, let mark, _):
      let detail = context.map { "\(problem) \($0.text)" } ?? problem
      return CleaveError(
        .planSyntax, "the plan is not valid YAML: \(detail)",
        hint: "check the indentation and the quoting on this line; strings holding `: ` or `#` need quotes",
        at: SourceLocation(file: path, line: mark.line, column: mark.column))
    case .reader(let problem, let offset, let value, let yaml):
      // A character YAML does not read (a control character, a byte that is not UTF-8): placed where it is.
      var line = 1
      var column = 1
      for character in yaml.prefix(offset ?? 0) {
        if character == "\n" { (line, column) = (line + 1, 1) } else { column += 1 }
      }
      return CleaveError(
        .planSyntax, "the plan is not valid YAML: \(problem) (U+\(String(format: "%04X", value)))",
        hint: "remove the character, or write it as an escape inside a double-quoted string (\"\\u0000\")",
        at: SourceLocation(file: path, line: line, column: column))
    case .duplicatedKeysInMapping(let duplicates, let context):
      return CleaveError(
        .planSyntax, "the same key is written twice: \(duplicates.sorted().joined(separator: ", "))",
        hint: "merge the two entries",
        at: SourceLocation(file: path, line: context.mark.line, column: context.mark.column))
    default:
      return CleaveError(
        .planSyntax, "the plan is not valid YAML: \(error)", at: SourceLocation(file: path, line: 1, column: 1))
    }
  }
}
