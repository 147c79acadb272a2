"""The special-value behaviour an exported core states: named operand cases and their results.

:func:`special_values` lists, for a configuration, the cases its registry entry names
(:attr:`hw.spec.functions.Function.float_cases`, ``fixed_cases``: signed zeros, infinities, NaNs,
subnormals, negative inputs, out-of-domain or extreme fixed-point values, IEEE corner cases of a
fused multiply-add), each with its operands' raw bits and the result the core returns, computed
by the golden model (bit-exact with the RTL) and decoded.
"""
import numpy as np

from golden.eval import evaluate

__all__ = ["special_values", "float_symbols", "fixed_symbols"]


def float_symbols(fmt):
    """Raw bits of every operand value the registry's float cases name
    (:data:`hw.spec.functions.FLOAT_SYMBOLS`) in ``fmt``."""
    sign, inf, one = fmt.sign_bit, fmt.inf, fmt.bias << fmt.man_bits
    two, half = (fmt.bias + 1) << fmt.man_bits, (fmt.bias - 1) << fmt.man_bits
    return {"+0": 0, "-0": sign, "+inf": inf, "-inf": inf | sign, "quiet NaN": fmt.quiet_nan,
            "signalling NaN": inf | 1, "smallest subnormal": 1, "smallest normal": 1 << fmt.man_bits,
            "largest finite": fmt.max_finite, "+1": one, "-1": one | sign, "+2": two, "-2": two | sign,
            "0.5": half}


def fixed_symbols(fmt):
    """Raw bits of every operand value the registry's fixed-point cases name
    (:data:`hw.spec.functions.FIXED_SYMBOLS`) in ``fmt``."""
    mask = (1 << fmt.width) - 1
    one = min(1 << fmt.frac_bits, fmt.max_int)
    return {"0": 0, "+1 LSB": 1, "-1 LSB": mask, "+1": one, "-1": -one & mask, "largest": fmt.max_int,
            "most negative": 1 << (fmt.width - 1)}


# A runtime alpha: every case with alpha = +1, then x = -1 with the edges of alpha.
_ALPHA_EDGES = {"float": ("+0", "-1", "+inf", "quiet NaN"), "fixed": ("0", "-1")}


def _cases(config):
    """``[(label, {operand: raw bits})]``: the registry's special cases of the function for the
    kind of format, with a runtime alpha's cases after them."""
    entry, kind = config.entry, "float" if config.is_float else "fixed"
    symbols = float_symbols(config.format) if config.is_float else fixed_symbols(config.format)
    cases = entry.float_cases if config.is_float else entry.fixed_cases
    if config.runtime_alpha:
        extra = {"grad": "+1"} if config.is_backward else {}
        cases = ([(f"{case}, alpha = +1", {**ops, "alpha": "+1"}) for case, ops in cases]
                 + [(f"x = -1, alpha = {alpha}", {"x": "-1", "alpha": alpha, **extra})
                    for alpha in _ALPHA_EDGES[kind]])
    return [(case, {name: symbols[symbol] for name, symbol in ops.items()}) for case, ops in cases]


def _describe_float(fmt, bits):
    from golden.fma import decode
    if bits == fmt.quiet_nan:
        return "canonical quiet NaN"
    value = float(decode(fmt, np.array([bits], dtype=np.uint64))[0])
    if np.isnan(value):
        return "NaN"
    if value == 0:
        return "-0" if bits & fmt.sign_bit else "+0"
    if np.isinf(value):
        return "-inf" if value < 0 else "+inf"
    kind = " (subnormal)" if (bits & ~fmt.sign_bit) < 1 << fmt.man_bits else ""
    return f"{value!r}{kind}"


def _describe_fixed(fmt, bits, flag):
    signed = bits - (1 << fmt.width) if bits >> (fmt.width - 1) else bits
    return f"{signed / 2 ** fmt.frac_bits!r}" + (" with flag" if flag else "")


def special_values(config):
    """``[{"case", "operands": {name: hex}, "result": {"y": hex[, "flag": 0|1]}, "meaning"}]``
    for ``config`` (the cases of the function and format, results from the golden model)."""
    cases = _cases(config)
    names = config.operands
    arrays = {name: np.array([ops[name] for _, ops in cases], dtype=np.uint64) for name in names}
    y, flag = evaluate(config, **arrays)
    in_digits, out_digits = (config.in_width + 3) // 4, (config.out_width + 3) // 4
    out = []
    for i, (case, ops) in enumerate(cases):
        result = {"y": f"{int(y[i]):#0{out_digits + 2}x}"}
        if flag is not None:
            result["flag"] = int(flag[i])
            meaning = _describe_fixed(config.out_format, int(y[i]), flag[i])
        else:
            meaning = _describe_float(config.format, int(y[i]))
        out.append({"case": case,
                    "operands": {n: f"{ops[n]:#0{in_digits + 2}x}" for n in names},
                    "result": result, "meaning": meaning})
    return out
