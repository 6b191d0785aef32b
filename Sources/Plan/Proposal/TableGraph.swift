import Catalog

/// Tables as nodes, and how strongly they belong together as weighted edges.
///
/// An edge gets one per foreign key, plus one per recorded statement that uses both tables. Partitions are folded into their partitioned table.
struct TableGraph {
  /// Why two tables are tied, for the comments `cleave init` writes.
  struct Tie: Hashable {
    var reason: String
  }

  private(set) var nodes: [QualifiedName]
  private(set) var weights: [Pair: Double] = [:]
  private(set) var ties: [Pair: [Tie]] = [:]

  /// Two distinct tables, in name order.
  struct Pair: Hashable {
    let first: QualifiedName
    let second: QualifiedName
    init(_ a: QualifiedName, _ b: QualifiedName) {
      (first, second) = a < b ? (a, b) : (b, a)
    }
  }

  init(nodes: [QualifiedName]) { self.nodes = nodes }

  mutating func connect(_ a: QualifiedName, _ b: QualifiedName, weight: Double, because reason: String) {
    guard a != b else { return }
    let pair = Pair(a, b)
    weights[pair, default: 0] += weight
    if ties[pair, default: []].count < 3 { ties[pair, default: []].append(Tie(reason: reason)) }
  }

  func degree(_ node: QualifiedName) -> Double {
    weights.reduce(0) { $0 + (($1.key.first == node || $1.key.second == node) ? $1.value : 0) }
  }

  /// Groups the nodes into communities by greedy modularity maximisation (Clauset, Newman and Moore): start
  /// with every table alone and keep merging the two connected groups whose merge raises modularity the most.
  ///
  /// Modularity rewards edges inside groups beyond what chance would give, so the result keeps most foreign keys
  /// and co-used tables inside one service (few soft references, few broken queries) without collapsing the
  /// whole database into one service. Tables with no tie at all are returned as singletons.
  func communities() -> [[QualifiedName]] {
    let total = weights.values.reduce(0, +)
    guard total > 0 else { return nodes.map { [$0] } }
    var community = Dictionary(uniqueKeysWithValues: nodes.enumerated().map { ($1, $0) })
    var members = Dictionary(uniqueKeysWithValues: nodes.enumerated().map { ($0, [$1]) })
    var strength: [Int: Double] = [:]
    for node in nodes { strength[community[node] ?? 0] = degree(node) / (2 * total) }
    while true {
      var between: [Set<Int>: Double] = [:]
      for (pair, weight) in weights {
        guard let a = community[pair.first], let b = community[pair.second], a != b else { continue }
        between[[a, b], default: 0] += weight / (2 * total)
      }
      var best: (Set<Int>, Double)?
      for (key, shared) in between {
        let ids = key.sorted()
        let gain = 2 * (shared - (strength[ids[0]] ?? 0) * (strength[ids[1]] ?? 0))
        if gain > 1e-12,
          best.map({
            gain > $0.1 + 1e-12 || (abs(gain - $0.1) <= 1e-12 && ids.lexicographicallyPrecedes($0.0.sorted()))
          }) ?? true
        {
          best = (key, gain)
        }
      }
      guard let (key, _) = best else { break }
      let ids = key.sorted()
      let (keep, drop) = (ids[0], ids[1])
      for node in members[drop] ?? [] { community[node] = keep }
      members[keep, default: []] += members[drop] ?? []
      members[drop] = nil
      strength[keep, default: 0] += strength[drop] ?? 0
      strength[drop] = nil
    }
    return members.values.map { $0.sorted() }.sorted { $0[0] < $1[0] }
  }
}
