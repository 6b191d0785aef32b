import CleaveCore
import Crypto
import Foundation

/// The size and sha256 of a file, read a mebibyte at a time (a backup can be far larger than memory).
enum FileDigest {
  static func of(_ path: String) throws(CleaveError) -> (bytes: Int64, sha256: String) {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw CleaveError(.backupCorrupt, "cannot read \(path)", hint: "is the backup folder complete?")
    }
    defer { try? handle.close() }
    var hasher = SHA256()
    var bytes: Int64 = 0
    do {
      while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
        hasher.update(data: chunk)
        bytes += Int64(chunk.count)
      }
    } catch {
      throw CleaveError(.backupCorrupt, "cannot read \(path): \(error.localizedDescription)")
    }
    return (bytes, hasher.finalize().map { String(format: "%02x", $0) }.joined())
  }
}
