import Testing

/// Starts one PostgreSQL cluster for a suite and stops it afterwards, also when a test fails.
///
/// Tests reach it as `PostgresSandbox.current`. A cluster that cannot start fails the suite; it is never skipped.
public struct PostgresSandboxTrait: SuiteTrait, TestScoping {
  public var isRecursive: Bool { false }

  public func provideScope(
    for test: Test, testCase: Test.Case?, performing body: @Sendable () async throws -> Void
  ) async throws {
    let sandbox = try await PostgresSandbox.start()
    do {
      try await PostgresSandbox.$current.withValue(sandbox) { try await body() }
    } catch {
      try? await sandbox.stop()
      throw error
    }
    try await sandbox.stop()
  }
}

extension Trait where Self == PostgresSandboxTrait {
  /// One real PostgreSQL cluster for the whole suite.
  public static var postgres: Self { .init() }
}

extension Tag {
  /// Tests that talk to a real PostgreSQL server.
  @Tag public static var integration: Self
}
