/// A function or procedure defined in the source, with its body for the plan to parse.
public struct Function: Sendable, Codable, Hashable {
  public var name: QualifiedName
  /// The argument list as `pg_get_function_identity_arguments` writes it.
  public var arguments: String
  public var language: String
  /// `function`, `procedure`, `aggregate` or `window`.
  public var kind: String
  /// Tables the catalog records a dependency on (only SQL-standard `BEGIN ATOMIC` bodies have them).
  public var dependsOn: [QualifiedName]
  /// The source text of the body (`prosrc`), for `sql` and `plpgsql` functions.
  public var body: String?
  /// The whole `CREATE FUNCTION` statement (`pg_get_functiondef`), for `sql` and `plpgsql` functions and procedures.
  public var definition: String?
  /// Its OID in the source, which ties it to `pg_depend` and to the schema dump's entries.
  public var oid: Int? = nil

  /// `schema.name(arguments)`, how people refer to an overloaded function.
  public var signature: String { "\(name)(\(arguments))" }
}
