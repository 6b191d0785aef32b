import ArgumentParser

/// The `cleave` command: its subcommands, one per step of the runbook.
public struct CleaveCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "cleave",
    abstract: "Split one shared PostgreSQL database into one database per service.",
    discussion: "Exit statuses and error codes: docs/exit-codes.md and docs/errors.md.",
    version: "0.1.0",
    subcommands: [
      InspectCommand.self, PlanCommand.self, InitCommand.self, ProvisionCommand.self, CopyCommand.self,
      SnapshotCommand.self, VerifyCommand.self, BackupCommand.self, FreezeCommand.self, UnfreezeCommand.self,
      RollbackCommand.self, ConfigCommand.self, RunCommand.self, StatusCommand.self, MigrateCommand.self,
      OnlineCommand.self,
    ])

  public init() {}
}
