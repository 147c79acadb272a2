"""Figures from the golden models: the paper's Figures 1 and 2 drawn by the hardware's bit-exact
twins, and the error in ulps of every unit over every input of the 16-bit formats.

``python -m golden.plots --out DIR [--figures LIST] [--curve-format F] [--formats LIST] [--functions LIST] [--quick]``

writes into the folder ``DIR`` (made if its parent exists), all files or none:

* ``figure1_isrlu_elu_relu.svg``: the paper's Figure 1, ISRLU (alpha 1 and 3), ELU (alpha 1) and
  ReLU, and their derivatives, for x in [-5, 3]: every curve is the golden twin of the default
  unit (``--curve-format``, default FP32) evaluated on a grid of inputs as raw bits, the derivatives
  by the backward units with ``grad_out = 1``; ReLU has no backward unit, its derivative is drawn
  as the exact step.
* ``figure2_isru_tanh_sigmoid.svg``: the paper's Figure 2, ISRU (alpha 1 and 3) against tanh, and
  the ISRU sigmoid against the logistic sigmoid, with their derivatives, for x in [-5, 5].
* ``error_ulps_FORMAT.svg`` per 16-bit float format of ``--formats`` (default ``bf16,fp16``): one
  panel per function (default: every default unit but the FMA and ReLU, which rounds nothing),
  the error in ulps of the exact value (:func:`golden.accuracy.errors`, as ``golden.accuracy``
  measures it) of every one of the 65,536 inputs, a dot each (an image inside the SVG), backward
  units with ``grad_out = 1``; the 0.5 ulp line is the bound of a correctly rounded result. The x
  axis is symmetric-logarithmic: its logarithmic part spans the decades of the inputs whose error
  exceeds 0.001 ulp, the smaller inputs sit in a grey linear band around zero. Special results
  (NaN, infinities, zeros, overflow) are compared bitwise and not drawn; a wrong one is marked.

``--quick`` evaluates few inputs (every 64th bit pattern, a coarse curve grid), for tests. The
files are the same for the same inputs and matplotlib version (fixed SVG hash salt, no date).
Exit status (:mod:`hw.spec.cli`): 0 done, 2 bad usage.
"""
import io
import sys
import time
from types import SimpleNamespace

import numpy as np

from hw.spec.cli import comma_names, command_line
from hw.spec.config import Config
from hw.spec.formats import FloatFormat, parse_format
from hw.spec.functions import FUNCTIONS, Family, functions, lookup
from .accuracy import errors, grad_one
from .eval import evaluate
from .files import check_output_dir, write_files
from .reference import decode_float, encode_float_value

__all__ = ["paper_functions", "derivative_of", "curve", "figure1", "figure2", "error_figure",
           "error_functions", "figure_svg", "FIGURES", "main"]

FIGURES = ("figure1", "figure2", "errors")
FIGURE1_FILE = "figure1_isrlu_elu_relu.svg"
FIGURE2_FILE = "figure2_isru_tanh_sigmoid.svg"
ERROR_FILE = "error_ulps_{}.svg"
ALPHAS = (1.0, 3.0)
FIGURE1_RANGE = (-5.0, 3.0)
FIGURE2_RANGE = (-5.0, 5.0)
CURVE_POINTS, QUICK_CURVE_POINTS = 1000, 64
QUICK_STRIDE = 64           # --quick: every 64th bit pattern of the error plots
ZOOM_ULP = 1e-3             # an error plot's panel spans the inputs with a larger error
SVG_DPI = 100               # the error plots' dots are an image of this resolution in the SVG
SVG_SALT = "isrlu-ip"       # svg.hashsalt: the same ids on every run
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#7f7f7f")


# ---------------------------------------------------------------------------------------------
# Which functions: read from the registry (no function name is spelled here)

def derivative_of(name):
    """The backward unit of forward function ``name`` (its derivative with ``grad_out = 1``):
    the registry's backward function of the same family and exact reference (not an alpha
    gradient), or None."""
    f = lookup(name)
    return next((n for n in functions(f.family, backward=True)
                 if lookup(n).reference == f.reference and not lookup(n).alpha_gradient
                 and lookup(n).identity_nonnegative == f.identity_nonnegative
                 and lookup(n).sigmoid_form == f.sigmoid_form), None)


def paper_functions():
    """The paper's functions by role, as the registry names them: ``isrlu`` (the activation that
    is the identity for x >= 0), ``isru``, ``isru_sigmoid`` (the sigmoid form), their rivals
    ``elu``, ``tanh``, ``sigmoid``, and ``relu`` (the selection)."""
    forward = [lookup(n) for n in functions(Family.ACTIVATION, backward=False)]
    isrlu = next(e for e in forward if e.identity_nonnegative and not e.sigmoid_form)
    isru = next(e for e in forward if not e.identity_nonnegative and not e.sigmoid_form)
    isru_sigmoid = next(e for e in forward if e.sigmoid_form)
    return SimpleNamespace(isrlu=isrlu.name, elu=isrlu.rival, relu=functions(Family.SELECT)[0],
                           isru=isru.name, tanh=isru.rival, isru_sigmoid=isru_sigmoid.name,
                           sigmoid=isru_sigmoid.rival)


def error_functions():
    """The default panels of the error plots: every function of one input (and ``grad``) that
    rounds, in registry order (not the FMA, not ReLU, which is exact by construction)."""
    return tuple(n for n in FUNCTIONS if lookup(n).family not in (Family.FMA, Family.SELECT))


# ---------------------------------------------------------------------------------------------
# Curves from the golden twins

def grid(fmt, low, high, points):
    """About ``points`` values from ``low`` to ``high`` in a power-of-two step, every one exactly
    representable in ``fmt`` (a ValueError if the format is too narrow for that step)."""
    step = 2.0 ** np.round(np.log2((high - low) / points))
    x = np.arange(low, high + step / 2, step)
    if np.max(np.abs(x)) / step >= 2.0 ** fmt.precision:
        raise ValueError(f"{fmt.name} cannot hold a grid of step {step:g} up to {np.max(np.abs(x)):g}")
    return x


def curve(name, fmt, x, alpha=1.0):
    """The default unit of ``name`` in ``fmt`` (with ``alpha`` where it has one) on the values
    ``x`` (exactly representable in ``fmt``): its golden twin on the raw bits, decoded; a
    backward unit with ``grad_out = 1``."""
    params = {"alpha": alpha} if lookup(name).has_alpha else {}
    config = Config(fmt.name, function=name, **params)
    bits = encode_float_value(fmt, np.asarray(x, dtype=np.float64))
    operands = {"x": bits}
    if config.is_backward:
        operands["grad"] = np.full(bits.shape, grad_one(fmt), dtype=np.uint64)
    y, _ = evaluate(config, **operands)
    return decode_float(fmt, y)


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


STYLE = {"svg.hashsalt": SVG_SALT, "svg.fonttype": "none", "font.family": "sans-serif",
         "font.size": 10, "axes.titlesize": 11, "legend.fontsize": 9, "axes.grid": True,
         "grid.alpha": 0.3, "axes.axisbelow": True}


def figure_svg(fig):
    """``fig`` as SVG text, the same on every run (fixed hash salt, no date); closes ``fig``."""
    plt = _pyplot()
    buffer = io.StringIO()
    with plt.rc_context(STYLE):
        fig.savefig(buffer, format="svg", dpi=SVG_DPI, metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue()


def _curve_panel(ax, x, lines, title, ylabel, legend="upper left"):
    for label, y, style in lines:
        ax.plot(x, y, label=label, **style)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_xlim(x[0], x[-1])
    ax.set_title(title)
    ax.set_xlabel("x")
    ax.set_ylabel(ylabel)
    ax.legend(loc=legend, framealpha=0.9)


def _step(x):
    return np.where(x > 0, 1.0, 0.0)


def figure1(fmt, points=CURVE_POINTS):
    """The paper's Figure 1 from the golden twins in ``fmt``: ISRLU (alpha 1 and 3), ELU
    (alpha 1), ReLU and their derivatives. A matplotlib figure."""
    plt, p = _pyplot(), paper_functions()
    x = grid(fmt, *FIGURE1_RANGE, points)
    with plt.rc_context(STYLE):
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
        styles = [dict(color=COLOURS[0]), dict(color=COLOURS[0], linestyle="--"),
                  dict(color=COLOURS[1]), dict(color=COLOURS[5], linestyle=":", linewidth=2)]
        labels = [f"ISRLU (α = {a:g})" for a in ALPHAS] + ["ELU (α = 1)", "ReLU"]
        forward = [curve(p.isrlu, fmt, x, a) for a in ALPHAS] + [curve(p.elu, fmt, x),
                                                                 curve(p.relu, fmt, x)]
        _curve_panel(left, x, list(zip(labels, forward, styles)), "Activation f(x)", "f(x)")
        grads = [curve(derivative_of(p.isrlu), fmt, x, a) for a in ALPHAS] + [
            curve(derivative_of(p.elu), fmt, x), _step(x)]
        labels = labels[:3] + ["ReLU (exact step; no backward unit)"]
        _curve_panel(right, x, list(zip(labels, grads, styles)),
                     "Derivative f′(x): backward units, grad_out = 1", "f′(x)")
        right.set_ylim(-0.05, 1.25)
        fig.suptitle(f"Figure 1 of Carlile et al. (2017) from the {fmt.name.upper()} golden models "
                     f"(bit-exact with the RTL)")
    return fig


def figure2(fmt, points=CURVE_POINTS):
    """The paper's Figure 2 from the golden twins in ``fmt``: ISRU (alpha 1 and 3) against tanh,
    the ISRU sigmoid (alpha 1 and 3) against the logistic sigmoid, and their derivatives."""
    plt, p = _pyplot(), paper_functions()
    x = grid(fmt, *FIGURE2_RANGE, points)
    styles = [dict(color=COLOURS[0]), dict(color=COLOURS[0], linestyle="--"), dict(color=COLOURS[1])]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(2, 2, figsize=(11, 8.4), layout="constrained")
        rows = ((p.isru, p.tanh, "ISRU", "tanh(x)", "ISRU against tanh"),
                (p.isru_sigmoid, p.sigmoid, "ISRU sigmoid", "σ(x) = 1/(1 + e⁻ˣ)",
                 "ISRU sigmoid (1 + ISRU(x/2))/2 against the logistic sigmoid"))
        for (ours, rival, name, rival_label, title), (left, right) in zip(rows, axes):
            labels = [f"{name} (α = {a:g})" for a in ALPHAS] + [rival_label]
            forward = [curve(ours, fmt, x, a) for a in ALPHAS] + [curve(rival, fmt, x)]
            _curve_panel(left, x, list(zip(labels, forward, styles)), title, "f(x)")
            grads = [curve(derivative_of(ours), fmt, x, a) for a in ALPHAS] + [
                curve(derivative_of(rival), fmt, x)]
            _curve_panel(right, x, list(zip(labels, grads, styles)),
                         "Derivative: backward units, grad_out = 1", "f′(x)")
            top = max(np.nanmax(g) for g in grads)
            right.set_ylim(-0.05 * top, 1.45 * top)        # room for the legend above the bell
        fig.suptitle(f"Figure 2 of Carlile et al. (2017) from the {fmt.name.upper()} golden models, "
                     f"with the sigmoid forms")
    return fig


# ---------------------------------------------------------------------------------------------
# Error in ulps over every input

def _decade_label(k):
    return f"{10.0 ** k:g}" if -3 <= k <= 3 else f"1e{k}"


def _axis(value, shown, numeric):
    """A panel's symmetric-log x axis: ``(linthresh, left, right, ticks, labels)``. The
    logarithmic part spans the decades of the magnitudes ``shown`` (every numeric one if none is),
    the linear band around zero holds the smaller ones; a side without numeric results ends at
    the band."""
    magnitude = np.abs(value[shown if shown.any() else numeric])
    low = int(np.floor(np.log10(magnitude[magnitude > 0].min())))
    high = int(np.ceil(np.log10(magnitude.max())))
    left = -10.0 ** high if (numeric & (value < 0)).any() else -10.0 ** low
    right = 10.0 ** high if (numeric & (value > 0)).any() else 10.0 ** low
    step = max(1, -(-(high - low) // 4))
    decades = list(range(high, low - 1, -step))[::-1]
    ticks, labels = [0.0], ["0"]
    for k in decades[1:] if len(decades) > 1 else decades:    # not the band's edge, beside 0
        if 10.0 ** k <= right:
            ticks.append(10.0 ** k)
            labels.append(_decade_label(k))
        if -10.0 ** k >= left:
            ticks.insert(0, -10.0 ** k)
            labels.insert(0, "\u2212" + _decade_label(k))
    return 10.0 ** low, left, right, ticks, labels


def error_figure(fmt, names, stride=1):
    """The error in ulps of the default unit of each function of ``names`` in ``fmt``, one panel
    each, over every ``stride``-th input (all 2**width by default): a dot per input, the x axis in
    bit-pattern order spanning the inputs whose error exceeds :data:`ZOOM_ULP`. A matplotlib
    figure."""
    plt = _pyplot()
    x = np.arange(0, 1 << fmt.width, stride, dtype=np.uint64)
    value = decode_float(fmt, x)
    columns = min(4, len(names) + 1)
    rows = -(-(len(names) + 1) // columns)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, columns, figsize=(3.9 * columns + 0.6, 2.8 * rows + 0.9),
                                 layout="constrained", squeeze=False)
        axes = axes.reshape(-1)
        for ax, name in zip(axes, names):
            config = Config(fmt.name, function=name)
            e = errors(config, x)
            numeric, err = e["numeric"], e["ulp"]
            top = max(0.5, float(err[numeric].max()) if numeric.any() else 0.0)
            linthresh, left, right, ticks, labels = _axis(value, numeric & (err > ZOOM_ULP), numeric)
            ax.set_xscale("symlog", linthresh=linthresh, linscale=0.25)
            ax.axvspan(-linthresh, linthresh, color="#eeeeee", linewidth=0)
            ax.scatter(value[numeric], err[numeric], s=2, marker=".", linewidths=0,
                       color=COLOURS[0], antialiased=False, rasterized=True)
            ax.axhline(0.5, color=COLOURS[3], linestyle="--", linewidth=1)
            wrong_special = e["wrong"] & ~numeric
            if wrong_special.any():
                where = np.clip(np.nan_to_num(value[wrong_special], nan=0.0), left, right)
                ax.plot(where, np.full(wrong_special.sum(), top * 1.15), "x", color=COLOURS[3],
                        markersize=5)
            ax.set_xlim(left, right)
            ax.set_ylim(0, top * 1.4)
            ax.set_xticks(ticks, labels, fontsize=7.5)
            ax.minorticks_off()
            ax.tick_params(axis="y", labelsize=8)
            ax.set_title(f"{name}  ({config.name})", fontsize=9)
            ax.set_xlabel("input x (symmetric log scale)", fontsize=8)
            ax.set_ylabel("error (ulp)", fontsize=8)
            wrong = int(e["wrong"].sum())
            summary = (f"max {err[numeric].max() if numeric.any() else 0:.4f} ulp, "
                       + ("all correctly rounded" if not wrong else f"{wrong:,} not correctly rounded")
                       + f"\n{int((~numeric).sum()):,} special results compared bitwise"
                       + (f", {int(wrong_special.sum())} wrong (x)" if wrong_special.any() else ""))
            ax.text(0.02, 0.97, summary, transform=ax.transAxes, va="top", fontsize=7.5,
                    bbox=dict(facecolor="white", edgecolor="none", alpha=0.8, pad=1))
        key = axes[len(names)]
        key.axis("off")
        handles = [plt.Line2D([], [], color=COLOURS[0], marker=".", linestyle="none"),
                   plt.Line2D([], [], color=COLOURS[3], linestyle="--"),
                   plt.Line2D([], [], color=COLOURS[3], marker="x", linestyle="none")]
        key.legend(handles, ["one input (a numeric result)", "0.5 ulp: the correct-rounding bound",
                             "a special result that is wrong"], loc="upper left", frameon=False)
        sweep = "every input" if stride == 1 else f"every {stride}th input"
        key.text(0.0, 0.62, f"{fmt.name.upper()}, {sweep} ({len(x):,}); the default unit of\n"
                 "each function, backward units with grad_out = 1.\n"
                 "Error: |y \u2212 exact| in ulps of the exact value\n(golden.accuracy.errors). "
                 "Each panel's log scale\nspans the decades of the inputs whose error\nexceeds "
                 f"{ZOOM_ULP:g} ulp; smaller inputs are in the grey\nlinear band around 0. Special "
                 "results (NaN,\ninfinities, zeros, overflow) are compared\nbitwise, not drawn.",
                 transform=key.transAxes, va="top", fontsize=8.5)
        for ax in axes[len(names) + 1:]:
            ax.axis("off")
        fig.suptitle(f"Error of the {fmt.name.upper()} golden models (bit-exact with the RTL) "
                     f"against the exact value")
    return fig


# ---------------------------------------------------------------------------------------------
# Command line

def _error_format(parser, text):
    try:
        fmt = parse_format(text)
    except ValueError as error:
        parser.error(f"--formats {text}: {error}")
    if not isinstance(fmt, FloatFormat) or fmt.width > 16:
        parser.error(f"--formats {text}: the error plots sweep every input of a float format of "
                     f"at most 16 bits")
    return fmt


def main(argv=None):
    parser = command_line("golden.plots", __doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder of the SVG files (made if its parent exists)")
    parser.add_argument("--figures", default=",".join(FIGURES),
                        help=f"comma-separated, among {', '.join(FIGURES)} (default: all)")
    parser.add_argument("--curve-format", default="fp32",
                        help="float format of Figures 1 and 2's golden models (default fp32)")
    parser.add_argument("--formats", default="bf16,fp16",
                        help="formats of the error plots, float formats of at most 16 bits (default bf16,fp16)")
    measurable = [n for n in FUNCTIONS if lookup(n).family is not Family.FMA]
    parser.add_argument("--functions", default=",".join(error_functions()),
                        help=f"panels of the error plots (default: {','.join(error_functions())})")
    parser.add_argument("--quick", action="store_true",
                        help=f"every {QUICK_STRIDE}th input and a coarse curve grid (for tests)")
    args = parser.parse_args(argv)
    figures = comma_names(parser, "--figures", args.figures, FIGURES)
    names = comma_names(parser, "--functions", args.functions, measurable)
    formats = [_error_format(parser, f) for f in dict.fromkeys(args.formats.split(",")) if f.strip()]
    if not formats:
        parser.error("--formats names no format")
    try:
        curve_format = parse_format(args.curve_format)
    except ValueError as error:
        parser.error(f"--curve-format {args.curve_format}: {error}")
    if not isinstance(curve_format, FloatFormat):
        parser.error(f"--curve-format {args.curve_format}: a float format")
    points = QUICK_CURVE_POINTS if args.quick else CURVE_POINTS
    for low, high in (FIGURE1_RANGE, FIGURE2_RANGE):
        try:
            grid(curve_format, low, high, points)
        except ValueError as error:
            parser.error(f"--curve-format {args.curve_format}: {error}")
    out = check_output_dir(parser, "--out", args.out)
    start = time.perf_counter()
    svgs = {}
    if "figure1" in figures:
        svgs[out / FIGURE1_FILE] = figure_svg(figure1(curve_format, points))
    if "figure2" in figures:
        svgs[out / FIGURE2_FILE] = figure_svg(figure2(curve_format, points))
    if "errors" in figures:
        for fmt in formats:
            svgs[out / ERROR_FILE.format(fmt.name)] = figure_svg(
                error_figure(fmt, names, QUICK_STRIDE if args.quick else 1))
    out.mkdir(exist_ok=True)
    write_files({path: (lambda tmp, text=text: _write_text(tmp, text)) for path, text in svgs.items()})
    for path in svgs:
        print(path)
    print(f"{len(svgs)} figures in {time.perf_counter() - start:.1f} s")
    return 0


def _write_text(path, text):
    with open(path, "w") as file:
        file.write(text)


if __name__ == "__main__":
    sys.exit(main())
