import Testing

/// Starts one PostgreSQL cluster for a suite and stops it afterwards, also when a test fails.
///
/// Tests reach it as `PostgresSandbox.current`. A cluster that cannot start fails the suite; it is never skipped.
public struct PostgresSandboxTrait: SuiteTrait, TestScoping {
  public var isRecursive: Bool { false }

  public func provideScope(
    for test: Test, testCase: Test.Case?, performing body: @Sendable () async throws -> Void
  ) async throws {
    try await PostgresSandbox.withCluster { sandbox in
      try await PostgresSandbox.$current.withValue(sandbox) { try await body() }
    }
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
