import CleaveCore
import PostgresDriver
import Testing

@Suite struct RedactionTests {
  @Test(arguments: [
    ("postgres://app:s3cr%40t@db.example:5432/shop", "postgres://app:********@db.example:5432/shop"),
    (
      "postgresql://app:pw@h1:5432,h2:5433/shop?sslmode=require",
      "postgresql://app:********@h1:5432,h2:5433/shop?sslmode=require"
    ),
    (
      "postgres://app@host/db?password=hunter2&sslmode=verify-full",
      "postgres://app@host/db?password=********&sslmode=verify-full"
    ),
    ("postgres://host/db", "postgres://host/db"),
    ("host=db user=app password=hunter2 dbname=shop", "host=db user=app password=******** dbname=shop"),
    ("host=db password = 'two words\\' here' dbname=shop", "host=db password = ******** dbname=shop"),
    ("PASSWORD=x host=db", "PASSWORD=******** host=db"),
  ])
  func masksPasswords(input: String, expected: String) {
    #expect(Redaction.redactConnectionString(input) == expected)
    #expect(ConnInfo(input).description == expected)
  }

  @Test func overridesAreShownButNeverThePassword() {
    let info = ConnInfo("postgres://app:topsecret@h/db").withDatabase("other").with("password", "also-secret")
    #expect(info.redacted.contains("dbname=other"))
    #expect(!info.redacted.contains("topsecret"))
    #expect(!info.redacted.contains("also-secret"))
  }
}
