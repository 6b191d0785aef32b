/// Finds the closest known name to a misspelt one, for "did you mean …" hints.
public enum Spelling {
  /// The candidate nearest to `name` by edit distance, if it is near enough to be a plausible typo.
  public static func closest<S: Swift.Sequence<String>>(to name: String, in candidates: S) -> String? {
    let lowered = name.lowercased()
    var best: (String, Int)?
    for candidate in candidates {
      let distance = editDistance(lowered, candidate.lowercased())
      if best.map({ distance < $0.1 }) ?? true { best = (candidate, distance) }
    }
    guard let best else { return nil }
    let limit = max(2, min(lowered.count, best.0.count) / 3)
    return best.1 <= limit ? best.0 : nil
  }

  /// The Levenshtein distance between two strings, in characters.
  public static func editDistance(_ left: String, _ right: String) -> Int {
    let a = Array(left)
    let b = Array(right)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
      current[0] = i
      for j in 1...b.count {
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
      }
      swap(&previous, &current)
    }
    return previous[b.count]
  }
}
