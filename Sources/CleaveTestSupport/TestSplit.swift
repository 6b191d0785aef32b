import PostgresDriver

/// What most integration tests start from: a source database of the test's own made with some SQL, a folder of
/// its own, and a plan there moving tables of that source to services on the sandbox.
public struct TestSplit: Sendable {
  /// The source database, as the superuser.
  public var source: ConnInfo
  /// The folder holding the plan; `remove()` it when the test ends.
  public var folder: TemporaryFolder
  /// The plan file's path.
  public var plan: String

  /// The folder's suffix, which the services' database names carry.
  public var suffix: String { folder.suffix }
}

extension PostgresSandbox {
  /// Makes a source database (named after `name`) with `sql`, a folder, and a plan whose `services:` section is
  /// what `services` returns for the folder's suffix, with this sandbox as the one target `main`.
  public func split(_ name: String, sourceSQL sql: String, services: (String) -> String) async throws -> TestSplit {
    let source = try await makeDatabase(name + "_src")
    let setup = try await SerialConnection.connect(source)
    try await setup.execute(sql)
    await setup.close()
    let folder = try TemporaryFolder(name)
    let plan = try folder.writePlan(
      source: source.flattened, target: connInfo().rawValue, services: services(folder.suffix))
    return TestSplit(source: source, folder: folder, plan: plan)
  }
}
