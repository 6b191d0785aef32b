import Catalog
import CleaveCore
import CleaveTestSupport
import Foundation
import Plan
import PostgresDriver
import Testing

/// One projection per table: the SELECT the bulk copy streams and the same projection applied to one row at a
/// time (as the online stream will apply it to each change) give the same rows, filter, drop, rename, added
/// column and re-key included.
@Suite(.postgres, .tags(.integration)) struct TableProjectionTests {
  @Test func theBulkSelectAndTheRowByRowProjectionAgree() async throws {
    let split = try await #require(PostgresSandbox.current).split(
      "projection",
      sourceSQL: """
        CREATE TABLE users (id int PRIMARY KEY, firebase_uid text UNIQUE NOT NULL);
        CREATE TABLE posts (id int PRIMARY KEY, user_id int, title text NOT NULL, secret text,
          deleted_at timestamptz);
        INSERT INTO users SELECT i, 'fb-' || md5(i::text) FROM generate_series(1, 20) i;
        INSERT INTO posts SELECT i, 1 + i % 20, 'Title ' || i, 'hidden ' || i,
          CASE WHEN i % 7 = 0 THEN now() END FROM generate_series(1, 200) i;
        """
    ) { suffix in
      """
      content:
        database: content_\(suffix)
        tables: [posts, users]
        transforms:
          posts:
            where: "deleted_at IS NULL"
            rename_to: articles
            columns:
              secret: drop
              title: { rename_to: headline }
              slug: { add: "lower(replace(title, ' ', '-'))", type: text }
              user_id: { rekey: { via: users, match: id, take: firebase_uid }, rename_to: author_uid }
      """
    }
    defer { split.folder.remove() }
    let (source, path) = (split.source, split.plan)
    let connection = try await SerialConnection.connect(source)
    let plan = try await PlanLoader.resolve(path: path, environment: [:])
    let catalog = try await CatalogReader.read(source)
    let service = try #require(plan.services.first)
    let posts = try #require(catalog.table(QualifiedName("public", "posts")))
    let projection = TableProjection(table: posts, service: service, catalog: catalog)

    #expect(projection.target == QualifiedName("public", "articles"))
    #expect(projection.finalColumns == ["id", "author_uid", "headline", "deleted_at", "slug"])
    #expect(projection.dropped == ["secret"])

    let bulk = try await connection.query(projection.select(range: nil)).rows.map { $0.map { $0 ?? "NULL" } }
    var rowByRow: [[String]] = []
    let sourceRows = try await connection.query("SELECT row_to_json(p)::text FROM ONLY posts p").rows
    for row in sourceRows {
      let projected = try await connection.query(
        projection.select(rowsFrom: "jsonb_populate_record(NULL::public.posts, $1::jsonb)"), [row[0]])
      rowByRow += projected.rows.map { $0.map { $0 ?? "NULL" } }
    }
    #expect(sourceRows.count == 200)
    #expect(bulk.count == 200 - 200 / 7, "the filter keeps the rows not deleted")
    #expect(bulk.sorted { $0.lexicographicallyPrecedes($1) } == rowByRow.sorted { $0.lexicographicallyPrecedes($1) })
    let uid = try await connection.query("SELECT firebase_uid FROM users WHERE id = 2").scalar
    #expect(bulk.first { $0[0] == "1" }?[1] == uid, "post 1 belongs to user 2, re-keyed to its firebase_uid")
    #expect(bulk.first { $0[0] == "1" }?[4] == "title-1")
    await connection.close()
  }
}
