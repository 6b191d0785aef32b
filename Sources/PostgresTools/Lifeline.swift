import CleaveCore
import Foundation

#if canImport(System)
  import System
#else
  import SystemPackage
#endif

/// Ties a child program's life to Cleave's: when Cleave ends, however it ends (`kill -9` included), the child is
/// stopped too, so no `pg_dump` or `pg_restore` goes on writing to a server after the run that started it.
///
/// Cleave holds the write end of a pipe and never writes to it (it is close-on-exec, so no other child inherits
/// it); the child's standard input is the read end. The kernel closes the write end when Cleave exits, so the
/// child's reader sees end-of-file at exactly that moment. The reader is a small `/bin/sh` wrapper
/// (`Lifeline.script`) that runs the program in the background, waits on the pipe, and sends the program
/// `SIGTERM` (then `SIGKILL` five seconds later) when the pipe closes before the program is done. `prctl`'s
/// `PR_SET_PDEATHSIG` would tie the child to the *thread* that started it, which Swift's executor may retire.
struct Lifeline {
  /// The read end, handed to the child as its standard input.
  let childEnd: FileDescriptor
  /// The write end, which only Cleave holds.
  private let parentEnd: Int32

  init() throws {
    var ends: [Int32] = [0, 0]
    guard pipe(&ends) == 0 else {
      throw CleaveError(.toolFailed, "cannot create a pipe for a child program: errno \(errno)")
    }
    // Close-on-exec on both ends; the spawn gives the child its read end as standard input all the same (and
    // closes every other descriptor in the child, so a child started meanwhile cannot hold this write end).
    _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
    childEnd = FileDescriptor(rawValue: ends[0])
    parentEnd = ends[1]
  }

  /// Closes Cleave's end once the child is done (or its start failed); call it exactly once.
  func cut() { close(parentEnd) }

  /// `sh -c SCRIPT cleave PROGRAM ARGS…`: runs the program with no standard input and stops it if the lifeline
  /// (standard input here) reaches end-of-file first; exits with the program's status.
  static let script = """
    exec 3<&0 0</dev/null
    "$@" &
    child=$!
    ( read -r _ <&3; kill -TERM "$child" 2>/dev/null; sleep 5; kill -KILL "$child" 2>/dev/null ) &
    watcher=$!
    exec 3<&-
    wait "$child"
    status=$?
    kill "$watcher" 2>/dev/null
    exit "$status"
    """
}
