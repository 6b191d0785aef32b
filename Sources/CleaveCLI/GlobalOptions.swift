import ArgumentParser
import Logging
import Report

extension OutputFormat: ExpressibleByArgument {}

/// Options every command takes: the output format and how much to log.
struct GlobalOptions: ParsableArguments {
  @Option(name: .long, help: "Output format: text or json.")
  var format: OutputFormat = .text

  @Flag(name: .shortAndLong, help: "Log each step to standard error (connection strings are shown without passwords).")
  var verbose = false

  /// A logger on standard error; only this target bootstraps logging.
  func makeLogger() -> Logger {
    LoggingBootstrap.once
    var logger = Logger(label: "cleave")
    logger.logLevel = verbose ? .debug : .warning
    return logger
  }
}

/// Bootstraps swift-log once per process.
enum LoggingBootstrap {
  static let once: Void = LoggingSystem.bootstrap(StreamLogHandler.standardError)
}
