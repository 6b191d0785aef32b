import CleaveTestSupport
import Foundation
import Testing

/// The layers `docs/architecture.md` draws are the ones `Package.swift` declares and the sources import: the
/// graph in the doc is generated from the manifest and must match it, only the copy's own users depend on Copy,
/// and libpq and libpg_query are each imported by one library.
@Suite struct ArchitectureTests {
  /// The package's root folder (this file is `Tests/CLITests/ArchitectureTests.swift`).
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

  /// Each non-test target with its direct dependencies, as `swift package dump-package` reads the manifest (with
  /// a scratch path of its own, so it does not wait for the build folder's lock that `swift test` holds).
  static func manifestGraph() async throws -> [(target: String, dependencies: [String])] {
    let scratch = NSTemporaryDirectory() + "cleave-manifest-" + UUID().uuidString.prefix(8)
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let result = try await ToolRunner.run(
      "swift", ["package", "--package-path", root, "--scratch-path", scratch, "dump-package"])
    try #require(result.succeeded, "swift package dump-package: \(result.standardError)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
    let targets = try #require(json["targets"] as? [[String: Any]])
    return targets.filter { ($0["type"] as? String) != "test" }.map { target in
      let dependencies = (target["dependencies"] as? [[String: Any]] ?? []).compactMap { dependency -> String? in
        for kind in ["byName", "target", "product"] {
          if let entry = dependency[kind] as? [Any], let name = entry.first as? String { return name }
        }
        return nil
      }
      return (target["name"] as? String ?? "", dependencies)
    }
  }

  /// The graph as the doc shows it: one line per target, `Target -> A, B`.
  static func rendered(_ graph: [(target: String, dependencies: [String])]) -> String {
    let width = graph.map(\.target.count).max() ?? 0
    return graph.map { entry in
      entry.target.padding(toLength: width, withPad: " ", startingAt: 0) + " -> "
        + (entry.dependencies.isEmpty ? "(system library)" : entry.dependencies.joined(separator: ", "))
    }.joined(separator: "\n")
  }

  @Test func theDocumentedGraphIsTheManifests() async throws {
    let graph = try await Self.manifestGraph()
    let doc = try String(contentsOfFile: Self.root + "/docs/architecture.md", encoding: .utf8)
    let begin = try #require(doc.range(of: "```text dependency-graph\n"))
    let end = try #require(doc.range(of: "\n```", range: begin.upperBound..<doc.endIndex))
    let documented = String(doc[begin.upperBound..<end.lowerBound])
    let expected = Self.rendered(graph)
    #expect(documented == expected, "docs/architecture.md's graph is out of date; it should read:\n\(expected)")

    // Only the copy's own users depend on Copy (online seeds with the copier).
    let onCopy = Set(graph.filter { $0.dependencies.contains("Copy") }.map(\.target))
    #expect(onCopy.isSubset(of: ["CleaveCLI", "Report", "Pipeline", "Online"]), "\(onCopy)")
  }

  @Test func eachCLibraryIsImportedByOneLibraryAndCopyOnlyByItsUsers() throws {
    let sources = Self.root + "/Sources"
    var importers: [String: Set<String>] = [:]
    for target in try FileManager.default.contentsOfDirectory(atPath: sources) {
      guard let files = FileManager.default.enumerator(atPath: sources + "/" + target) else { continue }
      for case let file as String in files where file.hasSuffix(".swift") {
        let text = try String(contentsOfFile: sources + "/" + target + "/" + file, encoding: .utf8)
        for line in text.split(separator: "\n") where line.hasPrefix("import ") {
          importers[String(line.dropFirst("import ".count)), default: []].insert(target)
        }
      }
    }
    #expect(importers["CLibPQ"] == ["PostgresDriver"])
    #expect(importers["CPgQuery"] == ["SQLParser"])
    #expect(
      importers["Copy"]?.isSubset(of: ["CleaveCLI", "Report", "Pipeline", "Online"]) == true,
      "\(importers["Copy"] ?? [])")
    #expect(importers["ArgumentParser"] == ["CleaveCLI"], "no library knows the command line")
  }
}
