"""Run the golden model on raw bit patterns.

``python -m golden.eval [config flags] --x X.npy [--grad G.npy] [--alpha-bits A.npy] --out Y.npy``
``python -m golden.eval --function fma --format F --a A.npy --b B.npy --c C.npy --out Y.npy``

reads unsigned (or, for fixed point, two's-complement signed) integers of the input format's width
and writes the raw results as unsigned integers of the output width. The operands are those of
the unit (:func:`operand_names`): ``--x``, plus ``--grad`` (the backward functions) and
``--alpha-bits`` (``--runtime-alpha``: alpha per element, raw bits in the unit's format); or, for
the fused multiply-add (``--function fma``, result ``a*b + c`` correctly rounded), ``--a``,
``--b`` and ``--c``. Every operand the function takes is required, every other one rejected, and
all must have the same shape. Fixed point also writes the saturation/invalid flags to
``Y.flag.npy`` (the output path with ``.flag`` before its suffix).
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

from hw.config import add_config_arguments, config_from_arguments
from .activation import activation
from .fma import fma
from .rsqrt import rsqrt

__all__ = ["evaluate", "operand_names", "check_operand_flags", "FLAGS", "flag_path", "out_dtype",
           "main"]

FMA_OPERANDS = ("a", "b", "c")
# Command-line flag of each operand.
FLAGS = {"x": "--x", "grad": "--grad", "alpha": "--alpha-bits", "a": "--a", "b": "--b", "c": "--c"}


def operand_names(config):
    """Input operands of ``config``'s function, in the unit's port order: ``a, b, c`` (FMA), or
    ``x`` then ``grad`` (backward functions) and ``alpha`` (runtime alpha). The same as
    :func:`hw.export.input_operands`, without importing the RTL."""
    if config.function == "fma":
        return FMA_OPERANDS
    return (("x",) + (("grad",) if config.is_backward else ())
            + (("alpha",) if config.runtime_alpha else ()))


def out_dtype(width):
    """Smallest unsigned NumPy dtype holding ``width`` bits."""
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if np.iinfo(dtype).bits >= width:
            return dtype
    raise ValueError(f"output width {width} exceeds 64 bits")


def flag_path(out):
    out = Path(out)
    return out.with_name(out.stem + ".flag" + (out.suffix or ".npy"))


def _operand(name, value, shape, first="x"):
    value = np.asarray(value)
    if value.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integer bit patterns, not dtype {value.dtype}")
    if value.shape != shape:
        raise ValueError(f"{name} has shape {value.shape}, but {first} has shape {shape}")
    return value


def _join(names):
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def evaluate(config, x=None, grad=None, alpha=None, *, a=None, b=None, c=None):
    """Golden results for raw inputs: ``(y, flag)``; ``flag`` is None for float formats.

    The operands are those of :func:`operand_names`: ``x`` for every function but the FMA, plus
    ``grad`` for the backward functions and ``alpha`` (raw bits) for ``runtime_alpha``; ``a``,
    ``b``, ``c`` (keyword only) for ``function="fma"``, which returns the raw bits of ``a*b + c``
    correctly rounded. Every operand must have the shape of the first; operands the
    configuration has no use for are rejected. ``evaluate(config, **operands)`` takes a mapping
    of operand names to arrays.
    """
    if config.function == "fma":
        given = {"x": x, "grad": grad, "alpha": alpha}
        unused = [name for name, value in given.items() if value is not None]
        if unused:
            raise ValueError(f"function 'fma' takes operands a, b and c, not {_join(unused)}")
        operands = {"a": a, "b": b, "c": c}
        missing = [name for name, value in operands.items() if value is None]
        if missing:
            raise ValueError(f"operands a, b and c are required for function 'fma' "
                             f"(missing: {_join(missing)})")
        a = _operand("a", a, np.shape(a), "a")
        b = _operand("b", b, a.shape, "a")
        c = _operand("c", c, a.shape, "a")
        return fma(config, a, b, c).astype(out_dtype(config.out_width)), None
    unused = [name for name, value in (("a", a), ("b", b), ("c", c)) if value is not None]
    if unused:
        raise ValueError(f"{_join(unused)} {'is' if len(unused) == 1 else 'are'} only used with "
                         f"function 'fma', not with {config.function!r}")
    if x is None:
        raise ValueError(f"x is required for function {config.function!r}")
    x = _operand("x", x, np.shape(x))
    if config.is_backward != (grad is not None):
        raise ValueError(f"grad is {'required' if config.is_backward else 'not used'} "
                         f"for function {config.function!r}")
    if config.runtime_alpha != (alpha is not None):
        raise ValueError("alpha bits are required with runtime_alpha" if config.runtime_alpha
                         else "alpha bits are only used with runtime_alpha")
    if config.is_activation:
        if grad is not None:
            grad = _operand("grad", grad, x.shape)
        if alpha is not None:
            alpha = _operand("alpha", alpha, x.shape)
        result = activation(config, x, grad=grad, alpha=alpha)
    else:
        result = rsqrt(config, x)
    y, flag = result if not config.is_float else (result, None)
    return y.astype(out_dtype(config.out_width)), flag


def check_operand_flags(config, given, parser, wanted=None):
    """Exit through ``parser.error`` unless exactly the operand flags the function takes (names
    ``wanted``, default :func:`operand_names`) are set in ``given`` (operand name -> value)."""
    wanted = operand_names(config) if wanted is None else tuple(wanted)
    what = f"--function {config.function}" + (" --runtime-alpha" if config.runtime_alpha else "")
    unused = [FLAGS[name] for name in FLAGS if name not in wanted and given.get(name)]
    if unused:
        parser.error(f"{_join(unused)} {'is' if len(unused) == 1 else 'are'} not used with "
                     f"{what} (it takes {_join(FLAGS[name] for name in wanted)})")
    missing = [FLAGS[name] for name in wanted if not given.get(name)]
    if missing:
        parser.error(f"{what} requires {_join(FLAGS[name] for name in wanted)} "
                     f"(missing: {_join(missing)})")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m golden.eval", description=__doc__.splitlines()[0])
    add_config_arguments(parser)
    operands = parser.add_argument_group("operands (.npy files of raw bit patterns, same shape)")
    operands.add_argument("--x", help="input (every function but fma)")
    operands.add_argument("--grad", help="backward functions: raw grad_out bit patterns")
    operands.add_argument("--alpha-bits", help="--runtime-alpha: raw alpha bit patterns")
    for name in FMA_OPERANDS:
        operands.add_argument(f"--{name}", help=f"--function fma: operand {name} of a*b + c")
    parser.add_argument("--out", required=True, help="output .npy of raw result bits")
    args = parser.parse_args(argv)
    config = config_from_arguments(args, parser)
    paths = {"x": args.x, "grad": args.grad, "alpha": args.alpha_bits,
             "a": args.a, "b": args.b, "c": args.c}
    check_operand_flags(config, paths, parser)
    try:
        arrays = {name: np.load(paths[name]) for name in operand_names(config)}
        start = time.perf_counter()
        y, flag = evaluate(config, **arrays)
    except (OSError, ValueError) as error:
        parser.error(str(error))
    np.save(args.out, y)
    message = f"{config.name}: {y.size} inputs -> {args.out}"
    if flag is not None:
        np.save(flag_path(args.out), flag.astype(np.uint8))
        message += f" (flags: {flag_path(args.out)})"
    print(f"{message} in {time.perf_counter() - start:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
