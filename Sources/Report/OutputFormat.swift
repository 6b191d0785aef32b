/// How a command prints its result: readable text, or JSON whose shape is documented in `docs/`.
public enum OutputFormat: String, Sendable, CaseIterable {
  case text, json
}
