"""Run the golden model on raw bit patterns.

``python -m golden.eval [config flags] --x X.npy [--grad G.npy] [--alpha-bits A.npy] --out Y.npy``
reads unsigned (or, for fixed point, two's-complement signed) integers of the input format's width
and writes the raw results as unsigned integers of the output width. ``--grad`` (the backward
functions) and ``--alpha-bits`` (``--runtime-alpha``: alpha per element, raw bits in the unit's
format) must have the shape of ``X``. Fixed point also writes the saturation/invalid flags to
``Y.flag.npy`` (the output path with ``.flag`` before its suffix).
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

from hw.config import add_config_arguments, config_from_arguments
from .activation import activation
from .rsqrt import rsqrt

__all__ = ["evaluate", "flag_path", "out_dtype", "main"]


def out_dtype(width):
    """Smallest unsigned NumPy dtype holding ``width`` bits."""
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if np.iinfo(dtype).bits >= width:
            return dtype
    raise ValueError(f"output width {width} exceeds 64 bits")


def flag_path(out):
    out = Path(out)
    return out.with_name(out.stem + ".flag" + (out.suffix or ".npy"))


def _operand(name, value, shape):
    value = np.asarray(value)
    if value.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integer bit patterns, not dtype {value.dtype}")
    if value.shape != shape:
        raise ValueError(f"{name} has shape {value.shape}, but x has shape {shape}")
    return value


def evaluate(config, x, grad=None, alpha=None):
    """Golden results for raw inputs: ``(y, flag)``; ``flag`` is None for float formats.

    ``grad`` is required by the backward functions and ``alpha`` (raw bits) by ``runtime_alpha``;
    both must have the shape of ``x``, and are rejected where the configuration has no use for them.
    """
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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m golden.eval", description=__doc__.splitlines()[0])
    add_config_arguments(parser)
    parser.add_argument("--x", required=True, help="input .npy of raw bit patterns")
    parser.add_argument("--grad", help="backward functions: .npy of raw grad_out bit patterns")
    parser.add_argument("--alpha-bits", help="--runtime-alpha: .npy of raw alpha bit patterns")
    parser.add_argument("--out", required=True, help="output .npy of raw result bits")
    args = parser.parse_args(argv)
    config = config_from_arguments(args, parser)
    try:
        x = np.load(args.x)
        grad = np.load(args.grad) if args.grad else None
        alpha = np.load(args.alpha_bits) if args.alpha_bits else None
        start = time.perf_counter()
        y, flag = evaluate(config, x, grad, alpha)
    except (OSError, ValueError) as error:
        parser.error(str(error))
    np.save(args.out, y)
    message = f"{config.name}: {x.size} inputs -> {args.out}"
    if flag is not None:
        np.save(flag_path(args.out), flag.astype(np.uint8))
        message += f" (flags: {flag_path(args.out)})"
    print(f"{message} in {time.perf_counter() - start:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
