import ArgumentParser
import CleaveCore
import Foundation
import PostgresDriver

/// Runs a command's body and turns any failure into a message on standard error and a documented exit status.
///
/// A `CleaveError` prints as `file:line:column: error[CODE]: message` plus its hint; anything else is reported as
/// an internal error (CLV9999, exit 70), except a server error that ended the session (CLV2004): that is not a bug but
/// something done to the server, and the same command can run again. No stack trace is ever printed.
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
      .internalFailure, "unexpected failure", hint: "this is a bug in Cleave; please report it", cause: error)
    FileHandle.standardError.write(Data((wrapped.description + "\n").utf8))
    throw ExitCode(wrapped.exitStatus.rawValue)
  }
}
