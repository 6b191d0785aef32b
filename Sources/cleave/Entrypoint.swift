import CleaveCLI

@main struct Entrypoint {
  static func main() async { await CleaveCommand.main() }
}
