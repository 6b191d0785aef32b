/// Why a throwaway PostgreSQL cluster could not be started, used or stopped.
public struct SandboxError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { "sandbox: \(message)" }
}
