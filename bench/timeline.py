#!/usr/bin/env python3
"""Draws a `cleave copy --format json` run's timeline as an SVG: one lane per worker, a bar per task.

    bench/timeline.py copy.json timeline.svg [title]

Each bar is one task (a table's rows or one key range, an index, a key, a foreign key, a trigger, ANALYZE),
coloured by its kind and labelled with its table and what it is; the phases before and after the overlapped work
(snapshot, schema, sequences, finish) are drawn on a lane of their own. A gap in a worker's lane is a worker
idle; several lanes busy at once is the overlap.
"""
import html
import json
import sys

COLOURS = {
    "copy": "#4e79a7", "index": "#f28e2b", "constraint": "#e15759", "foreign key": "#b07aa1",
    "trigger": "#76b7b2", "attach": "#9c755f", "other": "#bab0ac", "analyze": "#59a14f", "phase": "#d3d3d3",
}


def main():
    source, target = sys.argv[1], sys.argv[2]
    title = sys.argv[3] if len(sys.argv) > 3 else "cleave copy: timeline"
    summary = json.load(open(source))
    events = summary.get("timeline", [])
    if not events:
        sys.exit("no timeline in " + source)
    workers = sorted({e["worker"] for e in events if e["worker"] >= 0})
    lanes = [-1] + workers
    end = max(e["end"] for e in events)
    left, right, top, lane_height, gap = 110, 30, 50, 46, 8
    width = 1100
    scale = (width - left - right) / end if end > 0 else 1
    height = top + len(lanes) * (lane_height + gap) + 70
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="15" font-weight="bold">{html.escape(title)}</text>']
    for index, lane in enumerate(lanes):
        y = top + index * (lane_height + gap)
        name = "phases" if lane < 0 else f"worker {lane + 1}"
        out.append(f'<text x="{left - 8}" y="{y + lane_height / 2 + 4}" text-anchor="end">{name}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{width - left - right}" height="{lane_height}" fill="#f7f7f7"/>')
        for e in (e for e in events if e["worker"] == lane):
            x = left + e["start"] * scale
            w = max(1.0, (e["end"] - e["start"]) * scale)
            label = e["label"] if e["kind"] == "phase" else f'{e["table"].split(".")[-1]}: {e["label"]}'
            tip = f'{label} ({e["start"]:.2f}s to {e["end"]:.2f}s)'
            out.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{lane_height - 6}" '
                       f'fill="{COLOURS.get(e["kind"], "#999")}" stroke="white"><title>{html.escape(tip)}</title></rect>')
            # A label where it fits: the bar's width at about 6 px a character.
            if w > 6 * min(len(label), 8):
                shown = label if w > 6 * len(label) else label[: int(w / 6) - 1] + "…"
                out.append(f'<text x="{x + 3:.1f}" y="{y + lane_height / 2 + 4}" fill="white">{html.escape(shown)}</text>')
    axis = top + len(lanes) * (lane_height + gap)
    step = next(s for s in (1, 2, 5, 10, 20, 30, 60, 120, 300) if end / s <= 12)
    tick = 0
    while tick <= end:
        x = left + tick * scale
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis}" stroke="#ccc" stroke-width="0.5"/>')
        out.append(f'<text x="{x:.1f}" y="{axis + 14}" text-anchor="middle">{tick}s</text>')
        tick += step
    x = left
    for kind, colour in COLOURS.items():
        out.append(f'<rect x="{x}" y="{axis + 30}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 16}" y="{axis + 40}">{kind}</text>')
        x += 30 + 7 * len(kind)
    out.append("</svg>")
    open(target, "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
