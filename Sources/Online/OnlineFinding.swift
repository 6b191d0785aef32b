import Catalog

/// One thing `cleave online check` found about a service: a refusal (the service cannot be streamed as planned)
/// or a note (it can, and this is worth knowing), with where and a hint.
public struct OnlineFinding: Sendable, Codable, Equatable {
  public var service: String
  /// The table it is about; nil for the source as a whole.
  public var table: QualifiedName?
  public var refusal: Bool
  public var message: String
  public var hint: String

  public init(service: String, table: QualifiedName?, refusal: Bool, message: String, hint: String) {
    self.service = service
    self.table = table
    self.refusal = refusal
    self.message = message
    self.hint = hint
  }
}
