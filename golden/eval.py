"""Run the golden model on raw bit patterns.

``python -m golden.eval [config flags] --x X.npy --out Y.npy`` reads unsigned (or, for fixed point,
two's-complement signed) integers of the input format's width and writes the raw results as
unsigned integers of the output width. Fixed point also writes the saturation/invalid flags to
``Y.flag.npy`` (the output path with ``.flag`` before its suffix).
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

from hw.config import add_config_arguments, config_from_arguments
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


def evaluate(config, x):
    """Golden results for raw inputs: ``(y, flag)``; ``flag`` is None for float formats."""
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise ValueError(f"inputs must be integer bit patterns, not dtype {x.dtype}")
    result = rsqrt(config, x)
    y, flag = result if not config.is_float else (result, None)
    return y.astype(out_dtype(config.out_width)), flag


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m golden.eval", description=__doc__.splitlines()[0])
    add_config_arguments(parser)
    parser.add_argument("--x", required=True, help="input .npy of raw bit patterns")
    parser.add_argument("--out", required=True, help="output .npy of raw result bits")
    args = parser.parse_args(argv)
    config = config_from_arguments(args, parser)
    try:
        x = np.load(args.x)
        start = time.perf_counter()
        y, flag = evaluate(config, x)
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
