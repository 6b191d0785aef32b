import Crypto
import Foundation

/// One migration file of a service, in Prisma's or Flyway's layout, with the checksum its format records.
public struct Migration: Sendable, Equatable {
  /// How Flyway runs a script: once, in version order, or again whenever its checksum changes.
  public enum Kind: String, Sendable {
    case versioned
    case repeatable
  }

  /// Prisma: the folder's name (`20240101120000_init`); Flyway: the file's name (`V1.2__add_orders.sql`).
  public var name: String
  /// Flyway's version (`1.2`); nil for Prisma and for repeatable scripts.
  public var version: String?
  /// Flyway's description (`add orders`); the name after the timestamp for Prisma.
  public var description: String
  public var kind: Kind
  public var path: String
  public var script: String
  /// Prisma: sha256 of the file, hex; Flyway: its CRC32, as a signed 32-bit number.
  public var checksum: String

  public init(
    name: String, version: String?, description: String, kind: Kind, path: String, script: String, checksum: String
  ) {
    self.name = name
    self.version = version
    self.description = description
    self.kind = kind
    self.path = path
    self.script = script
    self.checksum = checksum
  }
}

/// The checksums the two formats record.
public enum MigrationChecksum {
  /// Prisma's: the SHA-256 of the script's bytes, in lower-case hex.
  public static func prisma(_ bytes: Data) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
  }

  /// Flyway's: CRC-32 (IEEE) over the script read line by line as Java's `BufferedReader.readLine` does (line
  /// ends `\n`, `\r\n` or `\r` left out, a leading byte-order mark dropped), each line's UTF-8 bytes in turn,
  /// stored as a signed 32-bit integer.
  public static func flyway(_ text: String) -> Int32 {
    var body = Substring(text)
    if body.hasPrefix("\u{FEFF}") { body = body.dropFirst() }
    var crc: UInt32 = 0xFFFF_FFFF
    var previousWasCR = false
    for byte in body.utf8 {
      if byte == 0x0A {
        previousWasCR = false
        continue
      }
      previousWasCR = byte == 0x0D
      if previousWasCR { continue }
      crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
    }
    return Int32(bitPattern: crc ^ 0xFFFF_FFFF)
  }

  private static let crcTable: [UInt32] = (0..<256).map { index in
    var value = UInt32(index)
    for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
    return value
  }
}
