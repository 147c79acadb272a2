"""The report's plots, drawn with matplotlib (imported inside the functions) and returned as SVG
text: latency against accuracy of every configuration, the cost of each function beside its
rival per format, and each unit's latency relative to the FMA's. The SVG is the same on every run
for the same rows and matplotlib version (fixed hash salt, no date); text stays text."""
import io
import math

from hw.spec.functions import FUNCTIONS, Family, lookup

__all__ = ["latency_accuracy_svg", "cost_svg", "parity_svg", "cost_order"]

# Colours of the functions in registry order (matplotlib's tab10 and tab20's darker half), the
# FMA in black; ours, rivals and the floor in the cost chart.
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")
OURS, RIVAL, FLOOR, YARDSTICK = "#1f77b4", "#ff7f0e", "#7f7f7f", "#333333"
MARKERS = {"bf16": "o", "fp16": "s", "fp32": "^"}
OTHER_MARKERS = ("D", "v", "P", "*", "h")
SPREAD = 0.009          # markers closer than this share of the latency axis are spread sideways
ZERO_ULP = 0.1          # where an exact unit (0 ulp) is drawn on the logarithmic accuracy axis
STYLE = {"svg.hashsalt": "isrlu-ip", "svg.fonttype": "none", "font.family": "sans-serif",
         "font.size": 10, "axes.titlesize": 11, "legend.fontsize": 9, "axes.grid": True,
         "grid.alpha": 0.3, "axes.axisbelow": True}


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _svg(fig):
    """``fig`` as SVG text without a date (closes it)."""
    plt = _pyplot()
    buffer = io.StringIO()
    with plt.rc_context(STYLE):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue()


def _colours(units):
    """A colour per function of ``units``, in registry order; the FMA black."""
    palette = iter(PALETTE * 2)
    return {name: "#000000" if lookup(name).family is Family.FMA else next(palette)
            for name in FUNCTIONS if name in units}


def _markers(formats):
    extra = iter(OTHER_MARKERS * 4)
    return {fmt: MARKERS.get(fmt) or next(extra) for fmt in formats}


def _state(row):
    return "no fit" if not row["fits"] else "slow" if not row.get("meets_target", True) else ""


def _spread(placed, x, y, step):
    """``x`` moved by the fewest steps of ``step`` (right, left, twice right, ...) that keep it
    clear of every ``(x, y)`` in ``placed`` (y in decades), which it joins."""
    for k in range(64):
        shift = (k + 1) // 2 * (1 if k % 2 else -1) * step
        if all(abs(x + shift - px) >= step or abs(y - py) >= 0.04 for px, py in placed):
            break
    placed.append((x + shift, y))
    return x + shift


def latency_accuracy_svg(rows):
    """Latency (ns) against max ulp error (log scale) of every configuration of ``rows``: one
    colour per function, one marker shape per format, hollow so that none hides another (points
    at the same place are also spread a little sideways); a design that does not fit is an ``x``
    at its estimated latency, one that misses the clock target a marker with a dot. The SVG text,
    or None without rows."""
    if not rows:
        return None
    plt = _pyplot()
    colours = _colours({r["unit"] for r in rows})
    formats = list(dict.fromkeys(r["format"] for r in rows))
    markers = _markers(formats)
    clocks = sorted({r["clock_target_mhz"] for r in rows})
    y = lambda r: max(r["max_ulp"], ZERO_ULP)
    span = max(r["latency_ns"] for r in rows) or 1.0
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(10, 5.8), layout="constrained")
        ax.set_yscale("log")
        placed = []
        for r in rows:
            x, colour = _spread(placed, r["latency_ns"], math.log10(y(r)), SPREAD * span), colours[r["unit"]]
            if not r["fits"]:
                ax.plot(x, y(r), marker="x", color=colour, markersize=8, markeredgewidth=1.8,
                        linestyle="none")
                continue
            ax.plot(x, y(r), marker=markers[r["format"]], markerfacecolor="none", markeredgecolor=colour,
                    markersize=8, markeredgewidth=1.5, linestyle="none")
            if not r.get("meets_target", True):
                ax.plot(x, y(r), marker=".", color=colour, markersize=4, linestyle="none")
        ax.axhline(0.5, color="#bbbbbb", linewidth=0.8, zorder=0)
        ax.set_xlim(0, span * 1.06)
        ax.set_xlabel("latency (ns) at the clock target (at the reached Fmax where missed)")
        ax.set_ylabel("max error (ulp, log scale)")
        note = "grey line: 0.5 ulp; markers at one place are spread sideways a little"
        if any(r["max_ulp"] < ZERO_ULP for r in rows):
            note = f"exact units (0 ulp) drawn at {ZERO_ULP:g} ulp; " + note
        ax.text(0.99, 0.99, note, transform=ax.transAxes, fontsize=8, color="#555555", ha="right", va="top")
        clock = ", ".join(f"{c:g}" for c in clocks)
        ax.set_title(f"Latency against accuracy on the iCE40UP5K at {clock} MHz")
        Line2D = plt.Line2D
        units = [Line2D([], [], color=c, marker="o", markerfacecolor="none", linestyle="none", label=u)
                 for u, c in colours.items()]
        shapes = [Line2D([], [], color="#333333", marker=markers[f], markerfacecolor="none",
                         linestyle="none") for f in formats]
        shapes.append(Line2D([], [], color="#333333", marker="x", linestyle="none"))
        shapes.append((Line2D([], [], color="#333333", marker="o", markerfacecolor="none", linestyle="none"),
                       Line2D([], [], color="#333333", marker=".", markersize=4, linestyle="none")))
        first = fig.legend(handles=units, loc="outside right upper", title="function", frameon=False)
        fig.legend(shapes, formats + ["does not fit", "misses the clock"], loc="outside right lower",
                   title="format", frameon=False)
        fig.add_artist(first)
    return _svg(fig)


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


def _positions(names):
    """x positions of the bars of ``names`` (:func:`cost_order`): a rival right beside its
    function, a gap between groups."""
    positions, x = [], 0.0
    for i, name in enumerate(names):
        if i and lookup(names[i - 1]).rival == name:
            x += 0.85
        elif i:
            x += 1.5
        positions.append(x)
    return positions


def cost_svg(rows):
    """LUT4 and latency (cycles) of each function's default unit, one row of panels per format,
    each of ours beside its rival (blue: ours, orange: the rival, grey: ReLU, the floor, dark: the
    FMA); a function without a row is marked not measured; the
    number over each bar is its value, a unit that does not fit or misses the clock is a hatched
    outline marked so. The SVG text, or None without a default unit."""
    defaults = [r for r in rows if r["default"]]
    formats = sorted({r["format"] for r in defaults})
    if not formats:
        return None
    plt = _pyplot()
    names = cost_order([n for n in FUNCTIONS if any(r["unit"] == n for r in defaults)])
    rivals = {lookup(n).rival for n in names}
    positions = _positions(names)
    metrics = (("lut4", "LUT4"), ("latency_cycles", "latency (cycles)"))
    clocks = sorted({r["clock_target_mhz"] for r in defaults})
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(len(formats), 2, figsize=(max(9.0, 0.55 * len(names) * 2 + 2), 3.6 * len(formats) + 0.8),
                                 layout="constrained", squeeze=False)
        for fmt, panels in zip(formats, axes):
            pick = {r["unit"]: r for r in defaults if r["format"] == fmt}
            for ax, (key, label) in zip(panels, metrics):
                peak = max((pick[n][key] or 0) for n in names if n in pick) or 1
                for name, x in zip(names, positions):
                    r = pick.get(name)
                    if not r or r[key] is None:
                        ax.text(x, 0.02 * peak, "not\nmeasured", ha="center", va="bottom", fontsize=6,
                                color="#888888")
                        continue
                    family = lookup(name).family
                    colour = (FLOOR if family is Family.SELECT else YARDSTICK if family is Family.FMA else
                              RIVAL if name in rivals else OURS)
                    state = _state(r)
                    ax.bar(x, r[key], width=0.8, color="none" if state else colour, edgecolor=colour,
                           hatch="///" if state else None, linewidth=1.5)
                    ax.text(x, r[key] + 0.02 * peak, f"{r[key]:g}" + (f"\n{state}" if state else ""),
                            ha="center", va="bottom", fontsize=7, color="#c00000" if state else "black")
                ax.set_xticks(positions, names, rotation=40, ha="right", fontsize=8)
                ax.set_xlim(positions[0] - 0.8, positions[-1] + 0.8)
                ax.set_ylim(0, peak * 1.3)
                ax.set_ylabel(label)
                ax.grid(axis="x", visible=False)
                clock = next(iter(pick.values()))["clock_target_mhz"] if pick else clocks[0]
                ax.set_title(f"{fmt}: {label} at {clock:g} MHz")
        handles = [plt.Rectangle((0, 0), 1, 1, color=OURS), plt.Rectangle((0, 0), 1, 1, color=RIVAL),
                   plt.Rectangle((0, 0), 1, 1, color=FLOOR), plt.Rectangle((0, 0), 1, 1, color=YARDSTICK),
                   plt.Rectangle((0, 0), 1, 1, facecolor="none", edgecolor="#555555", hatch="///")]
        fig.legend(handles, ["ours", "its rival", "ReLU (the floor)", "the FMA (the yardstick)",
                             "does not fit or misses the clock"],
                   loc="outside lower center", ncols=5, frameon=False)
        fig.suptitle("Each function beside its rival on the iCE40UP5K (default units, fewest registers "
                     "that meet the clock)")
    return _svg(fig)


def parity_svg(rows):
    """Each default unit's latency over the FMA's in the same format at the same clock, where both
    fit and meet it (1 = the FMA's latency); units without a comparison are listed with the
    reason. One panel per format. The SVG text, or None without an FMA row."""
    defaults = [r for r in rows if r["default"]]
    fmas = {r["format"]: r for r in defaults if lookup(r["unit"]).family is Family.FMA}
    formats = sorted(fmas)
    if not formats:
        return None
    plt = _pyplot()
    colours = _colours({r["unit"] for r in defaults})
    with plt.rc_context(STYLE):
        units = [n for n in FUNCTIONS if lookup(n).family is not Family.FMA
                 and any(r["unit"] == n and r["format"] in fmas for r in defaults)]
        ratio = {(r["format"], r["unit"]): r["latency_cycles"] / fmas[r["format"]]["latency_cycles"]
                 for r in defaults if r["format"] in fmas and r["unit"] in units
                 and not _state(r) and not _state(fmas[r["format"]])}
        right = max(list(ratio.values()) + [1.0]) * 1.45
        fig, axes = plt.subplots(1, len(formats), figsize=(4.6 * len(formats) + 0.6, 0.32 * len(units) + 1.8),
                                 layout="constrained", squeeze=False)
        for fmt, ax in zip(formats, axes[0]):
            fma = fmas[fmt]
            pick = {r["unit"]: r for r in defaults if r["format"] == fmt}
            for i, name in enumerate(units):
                r = pick.get(name)
                if r is None:
                    ax.text(0.05, i, "not measured", va="center", fontsize=7, color="#888888")
                    continue
                missing = [f"{x['unit']} {_state(x)}" for x in (r, fma) if _state(x)]
                if missing:
                    ax.text(0.05, i, "no comparison: " + ", ".join(missing), va="center", fontsize=7,
                            color="#c00000")
                    continue
                value = ratio[fmt, name]
                ax.barh(i, value, color=colours[name], height=0.7)
                ax.text(value, i, f" {value:.2f} ({r['latency_cycles']}/{fma['latency_cycles']})",
                        va="center", fontsize=7)
            ax.axvline(1.0, color="black", linewidth=1)
            ax.set_yticks(range(len(units)), units, fontsize=8)
            ax.set_ylim(len(units) - 0.5, -0.5)
            ax.set_xlim(0, right)
            ax.set_xlabel("latency / FMA latency (cycles)")
            ax.set_title(f"{fmt} at {fma['clock_target_mhz']:g} MHz (FMA: {fma['latency_cycles']} cycles)",
                         fontsize=10)
            ax.grid(axis="y", visible=False)
        fig.suptitle("Latency of each unit relative to the FMA's at the same clock (iCE40UP5K)")
    return _svg(fig)
