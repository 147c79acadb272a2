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

# Rough logic delays of each step on the iCE40UP5K, in ns (a multiplier in an SB_MAC16 with its
# routing; carry chains; a leading-zero count and shifter).
DELAY_NS = {"unpack": 6, "seed": 5, "multiply": 14, "subtract": 5, "add_normalize": 10,
            "align": 10, "add": 8, "round": 12}


@dataclass(frozen=True)
class Cut:
    name: str
    before_ns: float       # estimated delay of the logic between the previous cut and this one
    mandatory: bool = False


def _newton(index):
    return [Cut(f"newton{index}_square", DELAY_NS["multiply"]),
            Cut(f"newton{index}_h", DELAY_NS["multiply"] + DELAY_NS["subtract"]),
            Cut(f"newton{index}_r", DELAY_NS["multiply"])]


def unit_cuts(config):
    """The cuts of ``config``'s unit, input to output."""
    if config.function == "fma":
        return (Cut("unpack", DELAY_NS["unpack"]), Cut("multiply", DELAY_NS["multiply"]),
                Cut("align", DELAY_NS["align"]), Cut("add", DELAY_NS["add"]),
                Cut("out", DELAY_NS["round"], mandatory=True))
    cuts = [Cut("unpack", DELAY_NS["unpack"])]
    if config.is_activation:
        cuts += [Cut("square", DELAY_NS["multiply"]), Cut("alpha", DELAY_NS["multiply"]),
                 Cut("add", DELAY_NS["add_normalize"])]
    cuts.append(Cut("seed", DELAY_NS["seed"], mandatory=config.seed == "lut"))
    for index in range(config.newton):
        cuts += _newton(index)
    if config.is_backward:
        cuts += [Cut("r2", DELAY_NS["multiply"]), Cut("r3", DELAY_NS["multiply"])]
    if config.is_activation:
        cuts.append(Cut("product", DELAY_NS["multiply"]))
    cuts.append(Cut("out", DELAY_NS["round"], mandatory=True))
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
