"""The special-value behaviour an exported core states: named operand cases and their results.

:func:`special_values` lists, for a configuration, the cases that matter at the edges of its
function (signed zeros, infinities, NaNs, subnormals, negative inputs, out-of-domain or extreme
fixed-point values, IEEE ``fma`` corner cases), each with its operands' raw bits and the result
the core returns, computed by the golden model (bit-exact with the RTL) and decoded.
"""
import numpy as np

from golden.eval import evaluate, operand_names

__all__ = ["special_values"]


def _float_cases(config):
    fmt = config.format
    sign, inf, one = fmt.sign_bit, fmt.inf, fmt.bias << fmt.man_bits
    common = [("+0", 0), ("-0", sign), ("+inf", inf), ("-inf", inf | sign),
              ("quiet NaN", fmt.quiet_nan), ("signalling NaN", inf | 1),
              ("smallest subnormal", 1), ("largest finite", fmt.max_finite), ("+1", one),
              ("-1", one | sign)]
    if config.function == "fma":
        two, half = (fmt.bias + 1) << fmt.man_bits, (fmt.bias - 1) << fmt.man_bits
        return [
            ("inf * 0 + 1", dict(a=inf, b=0, c=one)),
            ("inf * 1 - inf", dict(a=inf, b=one, c=inf | sign)),
            ("NaN * 0 + 1", dict(a=fmt.quiet_nan, b=0, c=one)),
            ("inf * -2 + 1", dict(a=inf, b=two | sign, c=one)),
            ("1 * 1 - 1 (exact zero)", dict(a=one, b=one, c=one | sign)),
            ("-0 * 1 + -0", dict(a=sign, b=one, c=sign)),
            ("+0 * -1 + +0", dict(a=0, b=one | sign, c=0)),
            ("largest finite * 2 + 0 (overflow)", dict(a=fmt.max_finite, b=two, c=0)),
            ("smallest normal * 0.5 + 0 (subnormal result)",
             dict(a=1 << fmt.man_bits, b=half, c=0)),
            ("1 * 1 + inf", dict(a=one, b=one, c=inf)),
        ]
    cases = [(f"x = {name}", dict(x=x)) for name, x in common]
    if config.is_backward:
        cases = [(f"{name}, grad = +1", dict(ops, grad=one)) for name, ops in cases]
        pairs = (("+1", one, "+0", 0), ("-1", one | sign, "-0", sign), ("+1", one, "+inf", inf),
                 ("+inf", inf, "+inf", inf), ("-inf", inf | sign, "+inf", inf),
                 ("+1", one, "quiet NaN", fmt.quiet_nan))
        cases += [(f"x = {x_name}, grad = {g_name}", dict(x=x, grad=g))
                  for x_name, x, g_name, g in pairs]
    if config.runtime_alpha:
        cases = [(f"{name}, alpha = +1", dict(ops, alpha=one)) for name, ops in cases]
        extra = dict(grad=one) if config.is_backward else {}
        cases += [(f"x = -1, alpha = {name}", dict(x=one | sign, alpha=a, **extra)) for name, a in (
            ("+0", 0), ("-1", one | sign), ("+inf", inf), ("quiet NaN", fmt.quiet_nan))]
    return cases


def _fixed_cases(config):
    fmt = config.format
    mask = (1 << fmt.width) - 1
    one = min(1 << fmt.frac_bits, fmt.max_int)
    xs = [("0", 0), ("+1 LSB", 1), ("-1 LSB", mask), ("+1", one), ("largest", fmt.max_int),
          ("most negative", 1 << (fmt.width - 1))]
    cases = [(f"x = {name}", dict(x=x)) for name, x in xs]
    if config.is_backward:
        cases = [(f"{name}, grad = +1", dict(ops, grad=one)) for name, ops in cases]
        cases += [("x = +1, grad = 0", dict(x=one, grad=0)),
                  ("x = -1, grad = largest", dict(x=-one & mask, grad=fmt.max_int))]
    if config.runtime_alpha:
        cases = [(f"{name}, alpha = +1", dict(ops, alpha=one)) for name, ops in cases]
        extra = dict(grad=one) if config.is_backward else {}
        cases += [(f"x = -1, alpha = {name}", dict(x=-one & mask, alpha=a, **extra))
                  for name, a in (("0", 0), ("-1", -one & mask))]
    return cases


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
    cases = _float_cases(config) if config.is_float else _fixed_cases(config)
    names = operand_names(config)
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
