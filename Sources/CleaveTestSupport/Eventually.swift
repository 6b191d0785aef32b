/// Polls `condition` every 50 ms until it holds or `seconds` pass, for a test waiting on what another process
/// does to a server (a session waiting on a lock, a session gone).
///
/// It is not a sleep standing in for synchronisation: it returns as soon as the condition holds and reports
/// whether it ever did, so the caller asserts on it.
///
/// - Returns: whether the condition held before the deadline.
public func eventually(within seconds: Int, _ condition: () async throws -> Bool) async throws -> Bool {
  let deadline = ContinuousClock.now + .seconds(seconds)
  while ContinuousClock.now < deadline {
    if try await condition() { return true }
    try await Task.sleep(for: .milliseconds(50))
  }
  return try await condition()
}
