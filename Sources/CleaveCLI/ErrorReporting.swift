import ArgumentParser
import CleaveCore
import Foundation

/// Runs a command's body and turns any failure into a message on standard error and a documented exit status.
///
/// A `CleaveError` prints as `file:line:column: error[CODE]: message` plus its hint; anything else is reported as
/// an internal error (CLV9999, exit 70). No stack trace is ever printed.
func reportingErrors(_ body: () async throws -> Void) async throws {
  do {
    try await body()
  } catch let error as CleaveError {
    FileHandle.standardError.write(Data((error.description + "\n").utf8))
    throw ExitCode(error.exitStatus.rawValue)
  } catch let error as ExitCode {
    throw error
  } catch {
    let wrapped = CleaveError(
      .internalFailure, "unexpected failure: \(error)", hint: "this is a bug in Cleave; please report it")
    FileHandle.standardError.write(Data((wrapped.description + "\n").utf8))
    throw ExitCode(wrapped.exitStatus.rawValue)
  }
}
