import CleaveCore
import CleaveTestSupport
import Foundation
import PostgresDriver
import PostgresTools
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
    ("postgres://host/db?sslpassword=hunter2", "postgres://host/db?sslpassword=********"),
    ("postgres://host/db", "postgres://host/db"),
    ("host=db user=app password=hunter2 dbname=shop", "host=db user=app password=******** dbname=shop"),
    ("host=db password = 'two words\\' here' dbname=shop", "host=db password = ******** dbname=shop"),
    ("host=db sslpassword='key pass' dbname=shop", "host=db sslpassword=******** dbname=shop"),
    ("PASSWORD=x host=db", "PASSWORD=******** host=db"),
  ])
  func masksPasswords(input: String, expected: String) {
    #expect(Redaction.redact(input) == expected)
    #expect(ConnInfo(input).description == expected)
  }

  @Test func libpqSaysWhichKeysAreSecret() {
    #expect(Redaction.secretKeys.isSuperset(of: ["password", "sslpassword"]))
    #expect(!Redaction.isSecret("host") && !Redaction.isSecret("sslmode"))
  }

  @Test func overridesAreShownButNeverThePassword() {
    let info = ConnInfo("postgres://app:topsecret@h/db").withDatabase("other").with("password", "also-secret")
    #expect(info.redacted.contains("dbname=other"))
    #expect(!info.redacted.contains("topsecret"))
    #expect(!info.redacted.contains("also-secret"))
  }

  @Test func childProgramsGetNoSecretOnTheirCommandLine() throws {
    let info = ConnInfo("host=db user=app password=zqxapw sslpassword='zqxa ssl' dbname=shop")
    let tool = try PostgresTool("pg_dump", connectingTo: info, arguments: ["--schema-only"])
    #expect(!tool.arguments.joined(separator: " ").contains("zqxa"))
    #expect(tool.environment["PGPASSWORD"] == "zqxapw")
    #expect(tool.hidden == ["sslpassword": "zqxa ssl"])
  }
}

/// Malformed URLs and conninfo strings with secrets in them.
///
/// What a user types when a password holds `/`, `?`,
/// `@`, `#`, `%` or a space. No piece of a secret may show in the redacted form, in the error of a connection
/// attempt against a real server, or on a child program's command line.
@Suite(.postgres, .tags(.integration)) struct RedactionCorpusTests {
  @Test func noPieceOfASecretShows() async throws {
    let sandbox = try #require(PostgresSandbox.current)
    for text in SecretCorpus.strings(port: sandbox.port) {
      let info = ConnInfo(text)
      #expect(!SecretCorpus.leaks(info.redacted), "redacted: \(info.redacted)")
      do {
        _ = try await SerialConnection.connect(info)
        Issue.record("connected with \(info.redacted)")
      } catch {
        let shown = "\(error) \(error.message) \(error.server)"
        #expect(!SecretCorpus.leaks(shown), "error for \(info.redacted): \(shown)")
      }
      if let tool = try? PostgresTool("pg_dump", connectingTo: info, arguments: []) {
        #expect(!SecretCorpus.leaks(tool.arguments.joined(separator: " ")), "command line for \(info.redacted)")
      }
    }
  }
}
