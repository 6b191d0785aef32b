import Plan
import PostgresDriver
import Provision

/// A service on its way through the copy: its plan, its provisioned database, what it gets of the schema, and
/// what earlier runs finished.
struct ServiceState: Sendable {
  var plan: ServicePlan
  var target: ProvisionedService
  var selection: SchemaSelection
  var admin: SerialConnection
  var finished: [String: ProgressStore.Step]
}
