import CleaveCore
import Foundation
import Plan
import Provision

/// Records, in each service's database, that its settings were written (where, in which form), so `cleave
/// status` and `cleave run` see a `cleave config --out` run on its own.
public enum ConfigRecord {
  /// The key a config outcome is recorded under: the plan and source, the folder and the form.
  public static func key(_ identity: PlanIdentity, directory: String, format: ConfigFormat) -> String {
    "\(identity)\nconfig \(format.rawValue) in \(URL(fileURLWithPath: directory).standardizedFileURL.path)"
  }

  /// Records the config step for every service of `plan`.
  ///
  /// - Returns: the services it could not record for (their database does not exist yet, or cannot be reached).
  @discardableResult
  public static func record(plan: SplitPlan, directory: String, format: ConfigFormat) async -> [String] {
    var missed: [String] = []
    let key = key(plan.identity, directory: directory, format: format)
    let detail = "\(format.rawValue) in \(URL(fileURLWithPath: directory).standardizedFileURL.path)"
    for service in plan.services {
      do { try await OutcomeStore.record("config", service: service, passed: true, detail: detail, key: key) } catch {
        missed.append(service.name)
      }
    }
    return missed
  }

  /// Records the config step for a plan file: resolved against its source, when it has one (a plan for
  /// migrations only has no split to record it in).
  ///
  /// - Returns: the services it could not record for.
  @discardableResult
  public static func record(planFile: PlanFile, directory: String, format: ConfigFormat) async -> [String] {
    guard !planFile.source.url.isEmpty,
      let plan = try? await PlanLoader.resolve(path: planFile.path, environment: [:], file: planFile)
    else { return planFile.services.map(\.name) }
    return await record(plan: plan, directory: directory, format: format)
  }
}
