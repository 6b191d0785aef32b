import ArgumentParser
import Logging
import Report

extension OutputFormat: ExpressibleByArgument {}

/// Options every command takes: the output format and how much to log.
struct GlobalOptions: ParsableArguments {
  @Option(name: .long, help: "Output format: text or json.")
  var format: OutputFormat = .text

  @OptionGroup var logging: LoggingOptions

  /// A logger on standard error; see `LoggingOptions`.
  func makeLogger() -> Logger { logging.makeLogger() }
}

/// `--verbose`, which every command takes (those whose `--format` means something else take it alone).
struct LoggingOptions: ParsableArguments {
  @Flag(
    name: .shortAndLong,
    help: "Log each step and SQL phase with its duration to standard error (never a password).")
  var verbose = false

  /// A logger on standard error: steps at info and details at debug with --verbose, warnings only without;
  /// only this target bootstraps logging.
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
