"""The report's plots, as self-contained SVG (no plotting library): latency against accuracy of
every configuration, and the cost of each function beside its rival per format."""
import itertools
import math

from hw.spec.functions import FUNCTIONS, Family, lookup

__all__ = ["latency_accuracy_svg", "cost_svg", "cost_order"]

# Marker colours of the functions in registry order (matplotlib's tab10, repeated), the FMA in black.
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
OURS, RIVAL, FLOOR = "#1f77b4", "#ff7f0e", "#7f7f7f"


def latency_accuracy_svg(rows):
    """Latency (ns) against max ulp error (log scale) for every configuration: the SVG text."""
    import math
    width, height, margin = 720, 440, 60
    points = [(r["latency_ns"], max(r["max_ulp"], 1e-3), r) for r in rows if r["fits"]]
    if not points:
        return
    xs = [p[0] for p in points]
    ys = [math.log10(p[1]) for p in points]
    x0, x1 = 0, max(xs) * 1.1
    y0, y1 = min(ys) - 0.2, max(ys) + 0.2
    sx = lambda v: margin + (v - x0) / (x1 - x0) * (width - 2 * margin)
    sy = lambda v: height - margin - (v - y0) / (y1 - y0) * (height - 2 * margin)
    palette = itertools.cycle(PALETTE)
    colours = {name: "#000" if lookup(name).family is Family.FMA else next(palette)
               for name in FUNCTIONS if any(r["unit"] == name for _, _, r in points)}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<line x1="{margin}" y1="{height - margin}" x2="{width - margin}" y2="{height - margin}" stroke="black"/>',
           f'<line x1="{margin}" y1="{margin}" x2="{margin}" y2="{height - margin}" stroke="black"/>',
           f'<text x="{width / 2}" y="{height - 15}" text-anchor="middle">latency (ns) at the clock target</text>',
           f'<text x="15" y="{height / 2}" transform="rotate(-90 15 {height / 2})" text-anchor="middle">max error (ulp, log10)</text>']
    for tick in range(math.floor(y0), math.ceil(y1) + 1):
        out.append(f'<text x="{margin - 8}" y="{sy(tick) + 4}" text-anchor="end" font-size="11">1e{tick}</text>')
    frontier = []
    best = float("inf")
    for x, y, r in sorted(points, key=lambda p: (p[0], p[1])):
        if y < best:
            frontier.append((x, y))
            best = y
    out.append('<polyline fill="none" stroke="#888" stroke-dasharray="4 3" points="'
               + " ".join(f"{sx(x):.1f},{sy(math.log10(y)):.1f}" for x, y in frontier) + '"/>')
    for x, y, r in points:
        colour = colours[r["unit"]]
        out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(math.log10(y)):.1f}" r="4" fill="{colour}">'
                   f'<title>{r["name"]}: {r["latency_cycles"]} cycles, {r["max_ulp"]:.3g} ulp</title></circle>')
    for i, (unit, colour) in enumerate(colours.items()):
        out.append(f'<circle cx="{width - 150}" cy="{margin + 16 * i}" r="4" fill="{colour}"/>'
                   f'<text x="{width - 140}" y="{margin + 16 * i + 4}" font-size="12">{unit}</text>')
    out.append("</svg>")
    return "\n".join(out)


def cost_order(names):
    """The functions ``names`` in the cost table's order: each with a rival beside it, then the
    rest (ReLU, the floor) first."""
    rivals = {lookup(n).rival for n in names if lookup(n).rival}
    order = [n for n in names if lookup(n).family is Family.SELECT]
    for name in FUNCTIONS:
        entry = lookup(name)
        if name in names and entry.rival and name not in order:
            order.append(name)
            if entry.rival in names and entry.rival not in order:
                order.append(entry.rival)
    return order + [n for n in names if n not in order and n not in rivals]


def cost_svg(rows):
    """LUT4 of each function's default unit, one panel per format, each of ours beside its rival
    (blue: ours, orange: the rival, grey: ReLU); the label over each bar gives its SB_MAC16, BRAM
    and latency; a unit that does not fit is an outlined bar at its LUT4 count. The SVG text, or
    None without a default unit."""
    formats = sorted({r["format"] for r in rows if r["default"]})
    if not formats:
        return None
    names = cost_order([n for n in FUNCTIONS if any(r["unit"] == n and r["default"] for r in rows)])
    rivals = {lookup(n).rival for n in names}
    bar, gap, left, panel, top = 34, 10, 70, 230, 40
    width = left + len(names) * (bar + gap) + 20
    height = top + len(formats) * panel + 30
    peak = max((r["lut4"] or 0) for r in rows if r["default"]) or 1
    scale = 10 ** math.floor(math.log10(peak))
    ceiling = math.ceil(peak / scale) * scale
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">LUT4 per unit on the '
           f'iCE40UP5K (label: SB_MAC16 / BRAM / cycles)</text>']
    for p, fmt in enumerate(formats):
        base = top + (p + 1) * panel - 40
        span = panel - 70
        pick = {r["unit"]: r for r in rows if r["format"] == fmt and r["default"]}
        clock = next(iter(pick.values()))["clock_target_mhz"]
        out.append(f'<text x="10" y="{base - span - 8}" font-size="13" font-weight="bold">{fmt} at {clock:g} MHz</text>')
        out.append(f'<line x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}" stroke="black"/>')
        for tick in (0, ceiling / 2, ceiling):
            y = base - tick / ceiling * span
            out.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" font-size="10">{tick:g}</text>'
                       f'<line x1="{left}" y1="{y}" x2="{width - 10}" y2="{y}" stroke="#ddd"/>')
        for i, name in enumerate(names):
            x = left + gap / 2 + i * (bar + gap)
            out.append(f'<text x="{x + bar / 2}" y="{base + 12}" text-anchor="end" font-size="10" '
                       f'transform="rotate(-30 {x + bar / 2} {base + 12})">{name}</text>')
            r = pick.get(name)
            if not r or r["lut4"] is None:
                continue
            h = r["lut4"] / ceiling * span
            colour = FLOOR if lookup(name).family is Family.SELECT else RIVAL if name in rivals else OURS
            fill = colour if r["fits"] and r["meets_target"] else "none"
            out.append(f'<rect x="{x}" y="{base - h:.1f}" width="{bar}" height="{h:.1f}" fill="{fill}" '
                       f'stroke="{colour}" stroke-width="2"><title>{r["name"]}: {r["lut4"]} LUT4, '
                       f'{r["dsp"]} SB_MAC16, {r["bram"]} BRAM, {r["latency_cycles"]} cycles, '
                       f'{r["fmax_mhz"]} MHz</title></rect>')
            label = f'{r["dsp"]}/{r["bram"]}/{r["latency_cycles"]}'
            if not r["fits"]:
                label += " no fit"
            elif not r["meets_target"]:
                label += " slow"
            out.append(f'<text x="{x + bar / 2}" y="{base - h - 4:.1f}" text-anchor="middle" font-size="9">{label}</text>')
    out.append(f'<text x="10" y="{height - 8}" font-size="10">filled: fits and meets the clock; outlined: '
               f'does not fit or misses the clock</text>')
    out.append("</svg>")
    return "\n".join(out)
