import Foundation

/// Writes a file whole or not at all (a temporary file, synced, then renamed over it), created with the mode it
/// needs from the start: a file that holds a password is never readable by others, not even for a moment.
public enum PrivateFile {
  /// Writes `text` to `path` with `mode` (0600 for secrets).
  ///
  /// - Throws: `CleaveError` (`fileWriteFailed`) naming `what` when the file cannot be written.
  public static func write(_ text: String, to path: String, mode: mode_t, what: String) throws(CleaveError) {
    let temporary = path + ".tmp-\(getpid())"
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode)
    guard descriptor >= 0 else { throw CleaveError(.fileWriteFailed, "cannot write \(what) \(path): errno \(errno)") }
    fchmod(descriptor, mode)
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
    fsync(descriptor)
    close(descriptor)
    guard written == bytes.count, rename(temporary, path) == 0 else {
      unlink(temporary)
      throw CleaveError(.fileWriteFailed, "cannot write \(what) \(path)")
    }
  }
}
