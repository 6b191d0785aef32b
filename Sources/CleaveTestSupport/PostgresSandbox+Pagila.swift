import PostgresDriver

extension PostgresSandbox {
  /// The name of a database in this cluster holding pagila, loaded on first use and never changed, so tests can
  /// copy it with `CREATE DATABASE … TEMPLATE`.
  public func pagilaTemplate() async throws -> String {
    try await templates.pagila(for: self)
  }
}

/// Loads each template database once per cluster, even when many tests ask at the same time.
actor TemplateCache {
  private var pagilaLoad: Task<String, any Error>?

  func pagila(for sandbox: PostgresSandbox) async throws -> String {
    if let pagilaLoad { return try await pagilaLoad.value }
    let load = Task {
      let info = sandbox.connInfo(database: "pagila_template")
      let admin = try await SerialConnection.connect(sandbox.connInfo())
      try await admin.execute("CREATE DATABASE pagila_template")
      try await Fixtures.loadPagila(into: info, sandbox: sandbox)
      return "pagila_template"
    }
    pagilaLoad = load
    return try await load.value
  }
}
