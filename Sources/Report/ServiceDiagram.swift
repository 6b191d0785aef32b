import Foundation
import Verify

/// The services of a verify report as boxes on a circle, and the soft references between them as arrows, drawn
/// as inline SVG (no script, no network): green when every value has its target, red when some are orphaned.
struct ServiceDiagram {
  let services: [String]
  let references: [VerifySummary.ReferenceResult]

  func svg() -> String {
    let width = 720.0
    let height = services.count <= 2 ? 260.0 : 520.0
    let center = (x: width / 2, y: height / 2)
    let radius = services.count <= 1 ? 0 : min(width, height) / 2 - 60
    var position: [String: (x: Double, y: Double)] = [:]
    for (index, service) in services.enumerated() {
      let angle = Double(index) / Double(max(services.count, 1)) * 2 * Double.pi - Double.pi / 2
      position[service] = (center.x + radius * cos(angle), center.y + radius * sin(angle))
    }
    var parts = [
      "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"diagram\" role=\"img\" viewBox=\"0 0 \(Int(width)) \(Int(height))\""
        + " width=\"\(Int(width))\" height=\"\(Int(height))\">",
      "<title>Services and the soft references between them</title>",
      "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\""
        + " orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#555\"/></marker></defs>",
    ]
    // One arrow per pair of services, labelled with its references and their orphans.
    var pairs: [String: (from: String, to: String, count: Int, orphans: Int)] = [:]
    for reference in references {
      let key = reference.fromService + "\u{0}" + reference.toService
      var pair = pairs[key] ?? (reference.fromService, reference.toService, 0, 0)
      pair.count += 1
      pair.orphans += reference.orphans
      pairs[key] = pair
    }
    for pair in pairs.values.sorted(by: { ($0.from, $0.to) < ($1.from, $1.to) }) {
      guard let from = position[pair.from], let to = position[pair.to] else { continue }
      let length = max(((to.x - from.x) * (to.x - from.x) + (to.y - from.y) * (to.y - from.y)).squareRoot(), 1)
      let (dx, dy) = ((to.x - from.x) / length, (to.y - from.y) / length)
      let start = (from.x + dx * 70, from.y + dy * 30)
      let end = (to.x - dx * 70, to.y - dy * 30)
      let colour = pair.orphans == 0 ? "#2e7d32" : "#c62828"
      let label =
        "\(pair.count) ref\(pair.count == 1 ? "" : "s")" + (pair.orphans == 0 ? "" : ", \(pair.orphans) orphans")
      parts.append(
        "<g class=\"reference\" data-from=\"\(HTML.escape(pair.from))\" data-to=\"\(HTML.escape(pair.to))\">"
          + "<line x1=\"\(Int(start.0))\" y1=\"\(Int(start.1))\" x2=\"\(Int(end.0))\" y2=\"\(Int(end.1))\""
          + " stroke=\"\(colour)\" stroke-width=\"2\" marker-end=\"url(#arrow)\"/>"
          + "<text x=\"\(Int((start.0 + end.0) / 2))\" y=\"\(Int((start.1 + end.1) / 2) - 6)\" fill=\"\(colour)\""
          + " font-size=\"12\" text-anchor=\"middle\">\(HTML.escape(label))</text></g>")
    }
    for service in services {
      guard let point = position[service] else { continue }
      parts.append(
        "<g class=\"service\" data-service=\"\(HTML.escape(service))\">"
          + "<rect x=\"\(Int(point.x) - 70)\" y=\"\(Int(point.y) - 22)\" width=\"140\" height=\"44\" rx=\"8\""
          + " fill=\"#eef3fb\" stroke=\"#3b5b92\"/>"
          + "<text x=\"\(Int(point.x))\" y=\"\(Int(point.y) + 5)\" font-size=\"14\" text-anchor=\"middle\">"
          + "\(HTML.escape(service))</text></g>")
    }
    parts.append("</svg>")
    return parts.joined(separator: "\n")
  }
}
