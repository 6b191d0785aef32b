import SQLParser
import Testing

@Suite struct SQLParserTests {
  @Test(arguments: [
    ("SELECT * FROM film", ["film"]),
    (
      "SELECT f.title FROM public.film f JOIN inventory i USING (film_id) WHERE i.store_id = $1",
      ["inventory", "public.film"]
    ),
    (
      "SELECT * FROM rental WHERE customer_id IN (SELECT customer_id FROM customer WHERE active)",
      ["customer", "rental"]
    ),
    ("WITH recent AS (SELECT * FROM payment) SELECT * FROM recent JOIN staff USING (staff_id)", ["payment", "staff"]),
    ("INSERT INTO audit.log (msg) SELECT title FROM film", ["audit.log", "film"]),
    ("UPDATE customer c SET active = 0 FROM rental r WHERE r.customer_id = c.customer_id", ["customer", "rental"]),
    ("DELETE FROM \"Sales Data\".\"Order Items\" WHERE id = $1", ["Sales Data.Order Items"]),
    ("SELECT 'FROM fake_table' AS s, 1 -- JOIN other_fake\n", []),
    ("SELECT 1; SELECT * FROM a; SELECT * FROM b.c", ["a", "b.c"]),
  ])
  func findsEveryTableAndNothingElse(sql: String, expected: [String]) throws {
    let found = try SQLParser.tableReferences(in: sql).map(\.description).sorted()
    #expect(found == expected.sorted())
  }

  @Test func rejectsInvalidSQLWithAPosition() {
    let error = #expect(throws: SQLParseError.self) { try SQLParser.tableReferences(in: "SELEC * FROM film") }
    #expect(error?.message.contains("syntax error") == true)
    #expect(error?.position == 1)
  }

  @Test func readsTheSQLInsidePLpgSQL() throws {
    let definition = """
      CREATE FUNCTION public.balance(p_customer int) RETURNS numeric LANGUAGE plpgsql AS $fn$
      DECLARE v numeric;
      BEGIN
        SELECT sum(amount) INTO v FROM payment WHERE customer_id = p_customer;
        v := v - (SELECT count(*) FROM rental r JOIN inventory i USING (inventory_id));
        IF EXISTS (SELECT 1 FROM customer WHERE customer_id = p_customer) THEN RETURN v; END IF;
        RETURN 0;
      END $fn$
      """
    let found = try SQLParser.tableReferences(inPLpgSQLFunction: definition).map(\.description).sorted()
    #expect(found == ["customer", "inventory", "payment", "rental"])
  }
}

@Suite struct ColumnReferenceTests {
  @Test func findsTheColumnsOfAnExpression() throws {
    let columns = try SQLParser.columnReferences(inExpression: "first_name || ' ' || c.last_name || upper(email)")
    #expect(columns == [["first_name"], ["c", "last_name"], ["email"]])
    #expect(try SQLParser.columnReferences(inExpression: "deleted_at IS NULL AND 'x' = $1") == [["deleted_at"]])
  }

  /// A subquery's columns are its own tables' (issue 13: they were resolved against the filtered table).
  @Test func leavesOutTheColumnsOfASubquery() throws {
    let columns = try SQLParser.columnReferences(
      inExpression: #""orderId" IN (SELECT id FROM public."Order" WHERE "deletedAt" IS NULL) AND qty > 0"#)
    #expect(columns == [["orderId"], ["qty"]])
  }

  @Test func reportsAPositionInsideTheExpression() {
    let error = #expect(throws: SQLParseError.self) {
      try SQLParser.columnReferences(inExpression: "amount >> > 5")
    }
    #expect(error?.position == 11)
  }
}

/// What an expression makes the server call, read from the parse tree: what `ProjectionCheck` checks against the
/// source's volatility marks.
@Suite struct ExpressionCallsTests {
  @Test func findsFunctionsOperatorsAndCastsWhereverTheyAreWritten() throws {
    let calls = try SQLParser.calls(
      inExpression: """
        lower(title) LIKE 'a%' AND id BETWEEN 1 AND 9 AND id OPERATOR(public.===>) 2
          AND id = ANY (SELECT pg_catalog.lo_create(0)) AND (id::mark).v IS NOT NULL AND note::int > 0
        """)
    #expect(calls.functions == [["lower"], ["pg_catalog", "lo_create"]])
    #expect(calls.operators.contains(["~~"]) && calls.operators.contains(["public", "===>"]))
    #expect(calls.operators.contains(["<="]) && calls.operators.contains(["="]) && calls.operators.contains([">"]))
    #expect(calls.types == [["mark"], ["pg_catalog", "int4"]])
  }

  @Test func aNameIsListedOnce() throws {
    let calls = try SQLParser.calls(inExpression: "a + b + c > lower(x) AND lower(y) > ''")
    #expect(calls.operators == [["+"], [">"]])
    #expect(calls.functions == [["lower"]])
  }
}

/// `online check`'s writer inventory reads `pg_stat_statements` through this (issue 14).
@Suite struct WrittenTablesTests {
  @Test(arguments: [
    ("INSERT INTO orders (a) VALUES ($1)", ["orders"]),
    ("UPDATE shop.items SET qty = $1 WHERE id IN (SELECT id FROM audit)", ["shop.items"]),
    ("DELETE FROM items USING orders WHERE items.order_id = orders.id", ["items"]),
    ("WITH o AS (INSERT INTO orders DEFAULT VALUES RETURNING id) SELECT * FROM o JOIN customers c ON true", ["orders"]),
    ("COPY items FROM STDIN", ["items"]),
    ("COPY items TO STDOUT", []),
    ("TRUNCATE a, public.b", ["a", "public.b"]),
    ("SELECT * FROM orders FOR UPDATE", []),
    ("MERGE INTO stock s USING deliveries d ON s.id = d.id WHEN MATCHED THEN UPDATE SET n = s.n + d.n", ["stock"]),
  ])
  func findsTheTablesAStatementWrites(sql: String, expected: [String]) throws {
    #expect(try SQLParser.writtenTables(in: sql).map(\.description).sorted() == expected)
  }
}
