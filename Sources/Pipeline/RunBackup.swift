import Backup
import CleaveCore
import Foundation
import Logging
import Plan

/// The backup `cleave run` (and its rehearsal) makes before anything else: one per plan file, in
/// `.cleave/<plan>/backup` next to the plan, and trusted only while it checks out against its manifest, was made
/// for this plan and source, and holds the data of every table the plan moves now.
public enum RunBackup {
  /// `.cleave/<plan file name without extension>/backup` in the plan's folder.
  public static func directory(forPlan planPath: String) -> String {
    let url = URL(fileURLWithPath: planPath)
    return url.deletingLastPathComponent().path + "/.cleave/" + url.deletingPathExtension().lastPathComponent
      + "/backup"
  }

  /// The folder of a backup that can be trusted for `plan` as it is now; nil when there is none.
  public static func current(for plan: SplitPlan) async -> String? {
    let directory = directory(forPlan: plan.file.path)
    guard let manifest = try? await BackupCheck.run(directory: directory),
      manifest.plan == plan.identity.description
    else { return nil }
    let held = Set(manifest.moved ?? [])
    let moved = plan.services.flatMap(\.tables).map(\.description)
    return moved.allSatisfy(held.contains) ? directory : nil
  }

  /// Makes the backup into its folder.
  ///
  /// - Returns: the folder.
  public static func make(for plan: SplitPlan, logger: Logger = .silent) async throws -> String {
    let directory = directory(forPlan: plan.file.path)
    var maker = BackupMaker(plan: plan, directory: directory, all: false)
    maker.logger = logger
    _ = try await maker.run()
    return directory
  }
}
