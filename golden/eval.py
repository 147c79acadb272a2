"""Run the golden model on raw bit patterns.

``python -m golden.eval [config flags] --x X.npy [--grad G.npy] [--alpha-bits A.npy] --out Y.npy``
``python -m golden.eval --function fma --format F --a A.npy --b B.npy --c C.npy --out Y.npy``

reads 1-D operand files, raw bit patterns or values of the format's own float dtype
(:mod:`hw.spec.operands`), and writes the raw results as unsigned integers of the output width to
exactly the ``--out`` path. The operands are those of
the unit (:attr:`hw.spec.config.Config.operands`): ``--x``, plus ``--grad`` (the backward functions) and
``--alpha-bits`` (``--runtime-alpha``: alpha per element, raw bits in the unit's format); or, for
the fused multiply-add (``--function fma``, result ``a*b + c`` correctly rounded), ``--a``,
``--b`` and ``--c``. Every operand the function takes is required, every other one rejected, and
all must have the same length. Fixed point also writes the saturation/invalid flags to
``Y.flag.npy`` (the output path with ``.flag`` before its suffix). Exit status (:mod:`hw.spec.cli`):
0 done, 2 bad usage or input.
"""
import sys
import time
from importlib import import_module
from pathlib import Path

import numpy as np

from hw.spec.cli import command_line
from hw.spec.flags import add_config_arguments, config_from_arguments
from hw.spec.functions import FUNCTIONS, lookup
from hw.spec.operands import HELP as OPERANDS_HELP, OperandError, load_operand
from .blocked import blocked
from .files import check_output, save_npy

__all__ = ["evaluate", "twin", "reference_of", "check_operand_flags", "load_operands", "FLAGS",
           "flag_path", "out_dtype", "main"]

# Command-line flag of each operand.
FLAGS = {"x": "--x", "grad": "--grad", "alpha": "--alpha-bits", "a": "--a", "b": "--b", "c": "--c"}


def reference_of(config):
    """The exact reference of ``config``'s function, as its registry entry names it
    (:attr:`hw.spec.functions.Function.reference`, ``module:function`` in :mod:`golden`)."""
    module, name = config.entry.reference.split(":")
    return getattr(import_module(f"golden.{module}"), name)


def twin(config):
    """The golden model of ``config``'s function: the twin its registry entry names
    (:attr:`hw.spec.functions.Function.twin`, ``module:function`` in :mod:`golden`), called as
    ``twin(config, **operands)``."""
    module, name = config.entry.twin.split(":")
    return getattr(import_module(f"golden.{module}"), name)


def out_dtype(width):
    """Smallest unsigned NumPy dtype holding ``width`` bits."""
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if np.iinfo(dtype).bits >= width:
            return dtype
    raise ValueError(f"output width {width} exceeds 64 bits")


def flag_path(out):
    """Where the flags of results saved at ``out`` go: ``Y.npy`` -> ``Y.flag.npy``."""
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


def evaluate(config, x=None, grad=None, alpha=None, *, a=None, b=None, c=None, workers=1):
    """Golden results for raw inputs: ``(y, flag)``; ``flag`` is None for float formats.

    The operands are those of :attr:`~hw.spec.config.Config.operands`: ``x`` for every function but the FMA, plus
    ``grad`` for the backward functions and ``alpha`` (raw bits) for ``runtime_alpha``; ``a``,
    ``b``, ``c`` (keyword only) for ``function="fma"``, which returns the raw bits of ``a*b + c``
    correctly rounded. Every operand must have the shape of the first; operands the
    configuration has no use for are rejected. ``evaluate(config, **operands)`` takes a mapping
    of operand names to arrays. Large arrays are computed in cache-sized blocks
    (:func:`golden.blocked.blocked`), on ``workers`` threads.
    """
    given = {"x": x, "grad": grad, "alpha": alpha, "a": a, "b": b, "c": c}
    entry = config.entry
    if "x" not in entry.operands:           # operands of its own, none optional (the FMA)
        unused = [name for name in ("x", "grad", "alpha") if given[name] is not None]
        if unused:
            raise ValueError(f"function {config.function!r} takes operands {_join(entry.operands)}, "
                             f"not {_join(unused)}")
        missing = [name for name in entry.operands if given[name] is None]
        if missing:
            raise ValueError(f"operands {_join(entry.operands)} are required for function "
                             f"{config.function!r} (missing: {_join(missing)})")
    else:
        unused = [name for name in ("a", "b", "c") if given[name] is not None]
        if unused:
            users = [f"{user!r}" for user in FUNCTIONS if set(unused) & set(lookup(user).operands)]
            raise ValueError(f"{_join(unused)} {'is' if len(unused) == 1 else 'are'} only used with "
                             f"function {_join(users)}, not with {config.function!r}")
        if x is None:
            raise ValueError(f"x is required for function {config.function!r}")
        if config.is_backward != (grad is not None):
            raise ValueError(f"grad is {'required' if config.is_backward else 'not used'} "
                             f"for function {config.function!r}")
        if config.runtime_alpha != (alpha is not None):
            raise ValueError("alpha bits are required with runtime_alpha" if config.runtime_alpha
                             else "alpha bits are only used with runtime_alpha")
    first = config.operands[0]
    shape = np.shape(given[first])
    operands = {name: _operand(name, given[name], shape, first) for name in config.operands}
    function = twin(config)
    names = list(operands)

    def run(*arrays):
        result = function(config, **dict(zip(names, arrays)))
        return result if isinstance(result, tuple) else (result, None)

    y, flag = blocked(run, list(operands.values()), workers=workers)
    return y.astype(out_dtype(config.out_width)), flag


def check_operand_flags(config, given, parser, wanted=None):
    """Exit through ``parser.error`` unless exactly the operand flags the function takes (names
    ``wanted``, default :attr:`~hw.spec.config.Config.operands`) are set in ``given`` (operand name -> value)."""
    wanted = config.operands if wanted is None else tuple(wanted)
    what = f"--function {config.function}" + (" --runtime-alpha" if config.runtime_alpha else "")
    unused = [FLAGS[name] for name in FLAGS if name not in wanted and given.get(name)]
    if unused:
        parser.error(f"{_join(unused)} {'is' if len(unused) == 1 else 'are'} not used with "
                     f"{what} (it takes {_join(FLAGS[name] for name in wanted)})")
    missing = [FLAGS[name] for name in wanted if not given.get(name)]
    if missing:
        parser.error(f"{what} requires {_join(FLAGS[name] for name in wanted)} "
                     f"(missing: {_join(missing)})")


def load_operands(config, paths, parser, flags=FLAGS):
    """The operand files ``paths`` (operand name -> path) of ``config`` as raw bits
    (:func:`hw.spec.operands.load_operand`), all of one length; else a usage error naming the
    flag (``flags``: operand name -> flag) and the file."""
    arrays = {}
    try:
        for name in config.operands:
            arrays[name] = load_operand(paths[name], config.format)
    except OperandError as error:
        parser.error(f"{flags[name]} {error}")
    first = config.operands[0]
    for name, array in arrays.items():
        if array.size != arrays[first].size:
            parser.error(f"{flags[name]} {paths[name]}: {array.size} elements, but {flags[first]} "
                         f"{paths[first]} has {arrays[first].size}")
    return arrays


def main(argv=None):
    parser = command_line("golden.eval", __doc__.splitlines()[0])
    add_config_arguments(parser)
    operands = parser.add_argument_group("operands", OPERANDS_HELP)
    operands.add_argument("--x", help="input (every function but fma)")
    operands.add_argument("--grad", help="backward functions: raw grad_out bit patterns")
    operands.add_argument("--alpha-bits", help="--runtime-alpha: raw alpha bit patterns")
    for name in ("a", "b", "c"):
        users = ", ".join(user for user in FUNCTIONS if name in lookup(user).operands)
        operands.add_argument(f"--{name}", help=f"--function {users}: operand {name}")
    parser.add_argument("--out", required=True,
                        help="output .npy of raw result bits, written at exactly this path")
    args = parser.parse_args(argv)
    config = config_from_arguments(args, parser)
    paths = {"x": args.x, "grad": args.grad, "alpha": args.alpha_bits,
             "a": args.a, "b": args.b, "c": args.c}
    check_operand_flags(config, paths, parser)
    out = check_output(parser, "--out", args.out)
    arrays = load_operands(config, paths, parser)
    start = time.perf_counter()
    y, flag = evaluate(config, **arrays)
    outputs = {out: y}
    message = f"{config.name}: {y.size} inputs -> {out}"
    if flag is not None:
        outputs[flag_path(out)] = flag.astype(np.uint8)
        message += f" (flags: {flag_path(out)})"
    save_npy(outputs)
    print(f"{message} in {time.perf_counter() - start:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
