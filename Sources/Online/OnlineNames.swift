import Plan

/// The names of what `cleave online` creates for one service: its publication and slot on the source, its
/// subscription on the target, and the reverse ones made at cutover.
///
/// Slot names allow only lower-case letters, digits and underscores, up to 63 bytes, so the service's name is
/// folded into that alphabet, followed by eight hex digits of the plan's identity (slots are per server, so two
/// source databases of one server, or two plans, each splitting an `orders` service never share one). Every
/// object carries the same name, so `cancel` and a resumed step find them all.
public struct OnlineNames: Sendable, Equatable {
  /// The forward publication, slot and subscription: `cleave_<service>_<plan>`.
  public let forward: String
  /// The reverse publication (on the target), slot and subscription (on the source): `cleave_<service>_<plan>_back`.
  public let reverse: String

  public init(service: String, identity: PlanIdentity) {
    let folded = String(
      service.lowercased().unicodeScalars.map { scalar -> Character in
        ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) ? Character(scalar) : "_"
      })
    // FNV-1a, 32 bits: stable across runs and machines (Swift's own hash is seeded per process).
    var hash: UInt32 = 2_166_136_261
    for byte in identity.description.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
    let digits = String(hash, radix: 16)
    let base = "cleave_" + folded.prefix(40) + "_" + String(repeating: "0", count: 8 - digits.count) + digits
    forward = base
    reverse = base + "_back"
  }
}
