import ArgumentParser
import Catalog
import CleaveCore
import PostgresDriver
import Report

/// `cleave inspect SOURCE_URL`: what is in a database, read from its system catalogs.
struct InspectCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Show the schemas, tables, keys, sequences, types, views and functions of a database.")

  @Argument(help: "libpq URL or conninfo of the database (PG* variables, .pgpass and service files apply).")
  var source: String

  @OptionGroup var global: GlobalOptions

  func run() async throws {
    try await reportingErrors {
      let logger = global.makeLogger()
      logger.debug("reading catalog", metadata: ["source": "\(ConnInfo(source))"])
      let catalog = try await CatalogReader.read(ConnInfo(source))
      print(CatalogReport(catalog).rendered(as: global.format))
    }
  }
}
