"""Where each unit may put pipeline registers, and which of them a configuration enables.

Every unit is a chain of combinational steps separated by *cuts*. Some cuts always hold a
register (the table ROM's synchronous read, the output register); the others are optional.
``Config.pipeline`` is the knob shared by every unit: the number of optional cuts that get a
register (default: all of them, the shortest clock period). :func:`enabled_cuts` places that many
so that the largest estimated logic delay between two registers is as small as possible; the
estimates (``DELAY_NS``, rough iCE40UP5K figures) only rank the placements, the report measures
the result. The latency of a unit is the number of enabled cuts.
"""
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Cut", "unit_cuts", "enabled_cuts", "optional_cuts"]

# Rough logic delays of each step on the iCE40UP5K, in ns, from the critical paths of our builds:
# a product on one SB_MAC16 between fabric registers (~9 ns in the DSP plus ~8 ns of routing to and
# from the die edge), a wider product (several SB_MAC16 and the adders summing their tiles), carry
# chains (~5 ns plus 0.28 ns per bit), leading-one detection with the shifters around it.
DELAY_NS = {"unpack": 15, "seed": 6, "multiply": 18, "wide_multiply": 32, "subtract": 10,
            "align": 18, "add": 14, "normalize": 14, "shift": 14, "round": 10}
DSP_WIDTH = 16


def _multiply_ns(*widths):
    """A product of operands this wide: one SB_MAC16 up to 16x16, else several and their sums."""
    return DELAY_NS["multiply"] if max(widths) <= DSP_WIDTH else DELAY_NS["wide_multiply"]


@dataclass(frozen=True)
class Cut:
    name: str
    before_ns: float       # estimated delay of the logic between the previous cut and this one
    mandatory: bool = False


def _newton(index, r_bits, work_bits):
    return [Cut(f"newton{index}_square", _multiply_ns(r_bits + 1)),
            Cut(f"newton{index}_h", _multiply_ns(work_bits + 2) + DELAY_NS["subtract"]),
            Cut(f"newton{index}_r", _multiply_ns(r_bits + 1, work_bits + 2))]


def unit_cuts(config):
    """The cuts of ``config``'s unit, input to output."""
    if config.function == "fma":
        p = config.format.precision
        return (Cut("unpack", DELAY_NS["unpack"]), Cut("multiply", _multiply_ns(p)),
                Cut("align", DELAY_NS["align"]), Cut("add", DELAY_NS["add"]),
                Cut("normalize", DELAY_NS["normalize"]), Cut("shift", DELAY_NS["shift"]),
                Cut("out", DELAY_NS["round"], mandatory=True))
    from .datapath import datapath
    dp = datapath(config)
    w, p = dp.work_bits, dp.x_frac_bits + 1
    cuts = [Cut("unpack", DELAY_NS["unpack"])]
    if config.is_activation:
        # The square table's read is the "square" register; a constant power-of-two alpha is a shift.
        alpha_shift = not config.runtime_alpha and dp.alpha_sig & (dp.alpha_sig - 1) == 0
        cuts += [Cut("square", DELAY_NS["seed"] if dp.square_rom else _multiply_ns(p), mandatory=dp.square_rom),
                 Cut("alpha", 0 if alpha_shift else _multiply_ns(w + 2)),
                 Cut("sum", DELAY_NS["add"]), Cut("add", DELAY_NS["normalize"])]
    cuts.append(Cut("seed", DELAY_NS["seed"], mandatory=config.seed in ("lut", "pwl")))
    if config.seed == "pwl":            # the line c0 - c1*u after the table read
        cuts.append(Cut("seed_linear", _multiply_ns(dp.pwl_slope_width, dp.pwl_u_bits) + DELAY_NS["subtract"]))
    r_bits = dp.seed_bits
    for index in range(config.newton):
        cuts += _newton(index, r_bits, w)
        r_bits = w
    if config.is_backward:
        cuts += [Cut("r2", _multiply_ns(w + 1)), Cut("r3", _multiply_ns(w + 1))]
    if config.is_activation:
        cuts.append(Cut("product", _multiply_ns(p, w + 1)))
    cuts += [Cut("normalize", DELAY_NS["normalize"]), Cut("shift", DELAY_NS["shift"]),
             Cut("out", DELAY_NS["round"], mandatory=True)]
    return tuple(cuts)


def optional_cuts(config):
    return sum(not cut.mandatory for cut in unit_cuts(config))


@lru_cache(maxsize=None)
def _place(cuts, level):
    """Enable every mandatory cut and exactly ``level`` optional ones, minimising the largest sum of
    delays between consecutive enabled cuts (dynamic programming over the chain)."""
    n = len(cuts)
    inf = float("inf")
    # best[i][j]: (largest segment, enabled cuts) for the prefix ending with cut i enabled, j optional used.
    best = [[None] * (level + 1) for _ in range(n)]
    for i in range(n):
        used = 0 if cuts[i].mandatory else 1
        for j in range(used, level + 1):
            candidates = []
            span = 0.0
            for p in range(i - 1, -2, -1):
                span += cuts[p + 1].before_ns
                if p == -1:
                    if j == used:
                        candidates.append((span, (i,)))
                    break
                previous = best[p][j - used]
                if previous is not None:
                    candidates.append((max(previous[0], span), previous[1] + (i,)))
                if cuts[p].mandatory:
                    break
            if candidates:
                best[i][j] = min(candidates, key=lambda c: (c[0], c[1]))
    result = best[n - 1][level]
    if result is None or result[0] == inf:
        raise ValueError(f"cannot enable {level} optional cuts")
    return frozenset(cuts[i].name for i in result[1])


def enabled_cuts(config):
    """Names of the cuts that hold a register in ``config``'s unit."""
    cuts = unit_cuts(config)
    level = optional_cuts(config) if config.pipeline is None else config.pipeline
    return _place(cuts, level)
