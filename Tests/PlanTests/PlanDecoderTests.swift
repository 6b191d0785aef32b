import CleaveCore
import Plan
import Testing

/// Plan files with one mistake each: the error must name the right code and point at the right line and column.
@Suite struct PlanDecoderTests {
  static let header = """
    source:
      url: postgres://app@127.0.0.1/shop
    targets:
      main: postgres://admin@127.0.0.1/postgres

    """

  struct Case: Sendable, CustomTestStringConvertible {
    var yaml: String
    var code: CleaveError.Code
    var line: Int
    var column: Int
    var hint: String? = nil
    var testDescription: String { "\(code) at \(line):\(column)" }
  }

  static let cases: [Case] = [
    // Issue 12: names that would write outside `.cleave/`, be cut by PostgreSQL, or fail the copy later.
    Case(
      yaml: header + "services:\n  ../../escape:\n    database: a\n", code: .planInvalidName, line: 6, column: 3,
      hint: "______escape"),
    Case(
      yaml: header + "services:\n  a:\n    database: \(String(repeating: "d", count: 64))\n", code: .planInvalidName,
      line: 7, column: 15, hint: "shorten"),
    Case(
      yaml: header + "services:\n  a:\n    database: shop\n    schema: Billing\n", code: .planInvalidName, line: 8,
      column: 13, hint: "billing"),
    // Found by PlanFuzzTests: `pg_` names that PostgreSQL reserves (the roles are named after the database), and
    // a character YAML does not read, placed where it is rather than at 1:1.
    Case(
      yaml: header + "services:\n  a:\n    database: pg_shop\n", code: .planInvalidName, line: 7, column: 15,
      hint: "pg_"),
    Case(
      yaml: header + "services:\n  a:\n    database: shop\n    schema: pg_billing\n", code: .planInvalidName,
      line: 8, column: 13, hint: "pg_"),
    Case(yaml: header + "services:\n  a:\n    database: sh\u{1}op\n", code: .planSyntax, line: 7, column: 17),
    Case(yaml: "source:\n  url: x\n targets: {}\n", code: .planSyntax, line: 3, column: 2),
    Case(yaml: header + "servics:\n  a: {database: a}\n", code: .planUnknownKey, line: 5, column: 1, hint: "services"),
    Case(
      yaml: header + "services:\n  catalog:\n    database: c\n    tabels: [public.film]\n", code: .planUnknownKey,
      line: 8, column: 5, hint: "tables"),
    Case(
      yaml: header + "services:\n  catalog:\n    tables: [public.film]\n", code: .planMissingKey, line: 6, column: 3),
    Case(
      yaml: "source:\n  url: ${NOT_SET_ANYWHERE_42}\ntargets:\n  main: x\nservices: {}\n",
      code: .planUndefinedVariable, line: 2, column: 8),
    Case(
      yaml: header + "services:\n  a:\n    database: a\n    transforms:\n      public.film:\n        columns:\n"
        + "          title: { drop: true, rename_to: name }\n",
      code: .planInvalidTransform, line: 11, column: 18),
    Case(
      yaml: header + "services:\n  a:\n    database: a\n    transforms:\n      public.payment:\n        columns:\n"
        + "          customer_id:\n            rekey: { via: public.customer, match: customer_id, take: email, "
        + "on_missing: ignore }\n",
      code: .planWrongType, line: 12, column: 89),
    Case(
      yaml: header + "services:\n  a:\n    database: a\n    tables: {film: yes}\n", code: .planWrongType, line: 8,
      column: 13),
    Case(
      yaml: header + "services:\n  a: {database: a}\n  a: {database: b}\n", code: .planSyntax, line: 6, column: 3,
      hint: "merge"),
    Case(
      yaml: "source: postgres://app@127.0.0.1/shop\nservices:\n  a: {database: a}\n", code: .planMissingKey, line: 1,
      column: 1, hint: "targets"),
  ]

  @Test(arguments: cases)
  func reportsTheMistakeWhereItIs(_ input: Case) {
    let error = #expect(throws: CleaveError.self) {
      try PlanDecoder.decode(yaml: input.yaml, path: "cleave.yml", environment: ["HOME": "/root"])
    }
    #expect(error?.code == input.code)
    #expect(error?.location?.file == "cleave.yml")
    #expect(error?.location?.line == input.line)
    #expect(error?.location?.column == input.column)
    if let hint = input.hint { #expect(error?.hint?.contains(hint) == true) }
    #expect(error?.description.hasPrefix("cleave.yml:\(input.line):\(input.column): error[\(input.code)]") == true)
  }

  @Test func decodesTheDocumentedShape() throws {
    let yaml = """
      source:
        url: postgres://app:${APP_PASSWORD}@127.0.0.1:5432/shop   # libpq URL or conninfo; ${ENV_VAR} expands
      targets:
        main:
          url: postgres://admin@127.0.0.1:5433/postgres
      services:
        catalog:
          target: main
          database: catalog_db
          tables: [public.products, public.categories, public.product_*]
        identity:
          database: identity_db
          app_password: ${IDENTITY_APP_PW}
          schema: auth_schema
          schemas: [auth_schema]
          transforms:
            auth_schema.users:
              where: deleted_at IS NULL
              rename_to: accounts
              columns:
                legacy_flag: drop
                id: { rekey: { via: auth_schema.firebase_map, match: user_id, take: firebase_uid }, rename_to: uid }
                display: { add: "first || ' ' || last", type: text }
      """
    let plan = try PlanDecoder.decode(
      yaml: yaml, path: "cleave.yml", environment: ["APP_PASSWORD": "pw", "IDENTITY_APP_PW": "from-env"])
    #expect(plan.services[1].appPassword == "from-env")
    #expect(plan.services[1].ownerPassword == nil)
    #expect(plan.source.url == "postgres://app:pw@127.0.0.1:5432/shop")
    #expect(plan.targets.map(\.name) == ["main"])
    #expect(plan.services.map(\.name) == ["catalog", "identity"])
    #expect(plan.services[0].tables.map(\.value) == ["public.products", "public.categories", "public.product_*"])
    #expect(plan.services[0].tables[1].location.line == 10)
    #expect(plan.services[1].target == nil)
    #expect(plan.services[1].schema == "auth_schema")
    let transform = try #require(plan.services[1].transforms.first)
    #expect(transform.rowFilter?.value == "deleted_at IS NULL")
    #expect(transform.renameTo?.value == "accounts")
    #expect(transform.columns.count == 3)
    guard case .rekey(let rekey) = transform.columns[1].action else {
      Issue.record("expected a rekey")
      return
    }
    #expect(rekey.take.value == "firebase_uid")
    #expect(rekey.renameTo == "uid")
    #expect(rekey.onMissing == .error)
  }

  @Test func variablesHaveDefaultsAndDollarEscapes() throws {
    let yaml = "source: ${SRC:-postgres://x/y}\ntargets:\n  main: 'host=h password=a$$b'\nservices: {}\n"
    let plan = try PlanDecoder.decode(yaml: yaml, path: "p.yml", environment: [:])
    #expect(plan.source.url == "postgres://x/y")
    #expect(plan.targets[0].endpoint.url == "host=h password=a$b")
  }

  /// Names Cleave makes from long database names keep their suffix and stay apart (issue 12: a 62-character
  /// service name once made the owner and the application role one role).
  @Test func longRoleNamesStayApartWithinPostgreSQLsLimit() {
    let base = String(repeating: "x", count: 62)
    let owner = PostgresIdentifier.fit(base, suffix: "_owner")
    let app = PostgresIdentifier.fit(base, suffix: "_app")
    #expect(owner != app && owner.hasSuffix("_owner") && app.hasSuffix("_app"))
    #expect(owner.utf8.count <= 63 && app.utf8.count <= 63)
    // Two names alike in their first 63 bytes stay different.
    #expect(
      PostgresIdentifier.fit(base + "_a", suffix: "_owner") != PostgresIdentifier.fit(base + "_b", suffix: "_owner"))
    // Multi-byte characters are never cut in half.
    let wide = PostgresIdentifier.fit(String(repeating: "é", count: 40), suffix: "_app")
    #expect(wide.utf8.count <= 63 && String(decoding: Array(wide.utf8), as: UTF8.self) == wide)
    #expect(PostgresIdentifier.fit("shop", suffix: "_owner") == "shop_owner")
  }
}
