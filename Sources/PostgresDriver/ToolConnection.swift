/// A connection string split for a child program: what may go on its command line, and the secrets that may not.
public struct ToolConnection: Sendable, Equatable {
  /// Every setting but the secrets, as key=value; safe to show in `ps`.
  public var conninfo: String
  /// The password, for `PGPASSWORD`.
  public var password: String?
  /// Other secrets (`sslpassword`), for a private service file named by `PGSERVICEFILE`.
  public var hidden: [String: String]

  public init(conninfo: String, password: String?, hidden: [String: String]) {
    self.conninfo = conninfo
    self.password = password
    self.hidden = hidden
  }

  /// The lines of a `pg_service.conf` holding the hidden settings under `[service]`.
  public func serviceFile(service: String) -> String {
    "[\(service)]\n" + hidden.keys.sorted().map { "\($0)=\(hidden[$0] ?? "")\n" }.joined()
  }
}
