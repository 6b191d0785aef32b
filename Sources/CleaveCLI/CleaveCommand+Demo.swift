import ArgumentParser

extension CleaveCommand {
  /// Parses and runs one `cleave` command line in this process, as the demo does; exits on failure as `cleave`
  /// would.
  public static func runForDemo(_ arguments: [String]) async throws {
    do {
      var command = try parseAsRoot(arguments)
      if var asyncCommand = command as? any AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch {
      exit(withError: error)
    }
  }
}
