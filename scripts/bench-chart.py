#!/usr/bin/env python3
"""Throughput by model size as a small SVG bar chart (for BENCHMARKS.md).

  bench-chart.py OUT.svg ROWS.tsv [MORE.tsv ...]

Each row: model<TAB>size MB<TAB>tool<TAB>MB/s (scripts/bench --tsv writes
them for quantlens, numpy, mlx and the read floor; add the page's rows from
scripts/bench-browser by hand). One group of bars per model, smallest first;
log-scaled throughput, since the tools differ by orders of magnitude.
"""
import math
import sys

COLOURS = {"quantlens": "#1f77b4", "page": "#17becf", "floor": "#7f7f7f",
           "page floor": "#c7c7c7", "numpy": "#ff7f0e", "mlx": "#2ca02c"}


def main(out, paths):
    rows = []
    for p in paths:
        for line in open(p):
            if line.strip() and not line.startswith("#"):
                m, mb, tool, rate = line.rstrip("\n").split("\t")
                rows.append((m, float(mb), tool, float(rate)))
    models = sorted({(mb, m) for m, mb, _, _ in rows})
    tools = [t for t in COLOURS if any(r[2] == t for r in rows)]
    tools += sorted({r[2] for r in rows} - set(tools))
    w, h, left, bottom, top = 640, 300, 60, 50, 20
    lo, hi = 10.0, 10 ** math.ceil(math.log10(max(r[3] for r in rows)))
    y = lambda v: top + (h - top - bottom) * (1 - (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)))
    group = (w - left - 10) / len(models)
    bar = group * 0.8 / len(tools)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h + 20 * ((len(tools) + 3) // 4)}" font-family="sans-serif" font-size="11">']
    v = lo
    while v <= hi:
        svg.append(f'<line x1="{left}" x2="{w - 10}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        svg.append(f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
        v *= 10
    svg.append(f'<text x="12" y="{(h - bottom + top) / 2}" transform="rotate(-90 12 {(h - bottom + top) / 2})" text-anchor="middle">MB/s (log)</text>')
    for gi, (mb, m) in enumerate(models):
        x0 = left + gi * group + group * 0.1
        for ti, t in enumerate(tools):
            r = [r for r in rows if r[0] == m and r[2] == t]
            if r:
                rate = r[0][3]
                svg.append(f'<rect x="{x0 + ti * bar:.1f}" y="{y(rate):.1f}" width="{bar - 1:.1f}" height="{h - bottom - y(rate):.1f}" fill="{COLOURS.get(t, "#9467bd")}"><title>{t} {m}: {rate:.0f} MB/s</title></rect>')
        svg.append(f'<text x="{x0 + group * 0.4:.1f}" y="{h - bottom + 16}" text-anchor="middle">{m} ({mb:,.0f} MB)</text>')
    for ti, t in enumerate(tools):
        lx, ly = left + (ti % 4) * 140, h + 20 * (ti // 4)
        svg.append(f'<rect x="{lx}" y="{ly - 10}" width="10" height="10" fill="{COLOURS.get(t, "#9467bd")}"/><text x="{lx + 14}" y="{ly}">{t}</text>')
    svg.append("</svg>")
    open(out, "w").write("\n".join(svg) + "\n")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
