import Logging

extension Logger {
  /// A logger that drops everything: what a library uses when its caller gives none.
  public static var silent: Logger { Logger(label: "cleave", factory: { _ in SwiftLogNoOpLogHandler() }) }

  /// Runs `body` as a named step, logging its start and how long it took (or how long until it failed), at
  /// `info`: `cleave --verbose` shows every step of every command this way.
  ///
  /// Only names and redacted connection strings go into `step` and `metadata`, never a password.
  public func step<T>(
    _ step: String, metadata: Logger.Metadata = [:], _ body: () async throws -> T
  ) async rethrows -> T {
    let clock = ContinuousClock()
    let start = clock.now
    info("\(step) ...", metadata: metadata)
    do {
      let result = try await body()
      info("\(step): done in \(Self.seconds(clock.now - start))", metadata: metadata)
      return result
    } catch {
      warning("\(step): failed after \(Self.seconds(clock.now - start))", metadata: metadata)
      throw error
    }
  }

  /// A duration as seconds with three decimals: `1.234 s`.
  public static func seconds(_ duration: Duration) -> String {
    let value = duration.inSeconds
    return "\((value * 1000).rounded() / 1000) s"
  }
}
