import Foundation
import Provision

/// Warns on standard error when the secrets file is inside a git work tree and not ignored.
enum SecretsWarning {
  static func check(_ path: String) {
    guard FileManager.default.fileExists(atPath: path), let warning = SecretsLocation.gitExposure(of: path) else {
      return
    }
    FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
  }
}
