"""Run raw input bit patterns through the exported Verilog in a simulator and check the results
against the golden model.

    python -m sim.run --format fp16 --seed magic --x X.npy --out Y.npy [--simulator icarus]
                      [--stall P] [--sim-seed N]
    python -m sim.run --format bf16 --function isru-grad --alpha 3 --x X.npy --grad G.npy --out Y.npy
    python -m sim.run --format bf16 --function isru --runtime-alpha --x X.npy --alpha-bits A.npy --out Y.npy
    python -m sim.run --format fp32 --function fma --a A.npy --b B.npy --c C.npy --out Y.npy

``X.npy`` holds raw input bit patterns (any integer dtype and shape; a float array whose item size
is the input width is taken bit for bit); so do ``G.npy`` (``grad_out``, required by the backward
functions ``isrlu-grad``/``isru-grad``) and ``A.npy`` (alpha per element in the unit's format,
required by ``--runtime-alpha``), both shaped like ``X``. The fused multiply-add (``--function fma``)
takes ``--a``, ``--b``, ``--c`` instead (raw bits, one shape; result ``a*b + c``). A missing or
superfluous operand is a usage error. The results are saved as unsigned integers of the
output width (the smallest of uint8/16/32/64 that holds them) in ``Y.npy``, shaped like the input;
fixed-point units also save their flags as a bool array next to it, ``Y.flag.npy`` (``--out
Y.npy`` -> ``Y.flag.npy``). One payload (``--lanes`` inputs) enters per clock unless ``--stall``
gives a probability of random source gaps and sink stalls.

Prints the cycles, the time, and whether the results match the golden model; exits 1 on a
mismatch, 2 on a usage error, 3 if the simulator is unavailable, 4 if the build or simulation
fails. Works from any directory (``python /path/to/sim/run.py`` too).
"""
import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from hw.config import add_config_arguments, config_from_arguments  # noqa: E402
from sim.toolchain import SIMULATORS, SimulatorUnavailable  # noqa: E402


def uint_dtype(width):
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if width <= np.dtype(dtype).itemsize * 8:
            return dtype
    raise ValueError(f"no unsigned dtype holds {width} bits")


def load_bits(path, width):
    x = np.load(path, allow_pickle=False)
    if x.dtype.kind == "f":
        if x.dtype.itemsize * 8 != width:
            raise ValueError(f"{path}: float array of {x.dtype} cannot hold {width}-bit inputs "
                             f"bit for bit; pass raw bit patterns as integers")
        x = x.view(uint_dtype(width))
    elif x.dtype.kind not in "iu":
        raise ValueError(f"{path}: expected integer bit patterns, got dtype {x.dtype}")
    return x


def npy_path(out):
    """``np.save``'s file name for ``out`` (it appends ``.npy`` if missing)."""
    out = Path(out).resolve()
    return out if out.name.endswith(".npy") else out.with_name(out.name + ".npy")


def flag_path(out):
    """``Y.npy`` -> ``Y.flag.npy``."""
    out = npy_path(out)
    return out.with_name(out.name[:-len(".npy")] + ".flag.npy")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sim.run", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    add_config_arguments(parser)
    sim = parser.add_argument_group("simulation")
    sim.add_argument("--x", default=None,
                     help="input npy file of raw bit patterns (every function but fma)")
    sim.add_argument("--grad", default=None,
                     help="backward functions: npy file of raw grad_out bit patterns (shape of X)")
    sim.add_argument("--alpha-bits", default=None,
                     help="--runtime-alpha: npy file of raw alpha bit patterns (shape of X)")
    for name in ("a", "b", "c"):
        sim.add_argument(f"--{name}", default=None,
                         help=f"--function fma: npy file of raw bit patterns of {name} in a*b + c")
    sim.add_argument("--out", required=True, help="result npy file (flags: OUT.flag.npy)")
    sim.add_argument("--simulator", choices=SIMULATORS, default="verilator")
    sim.add_argument("--stall", type=float, default=None, metavar="P",
                     help="probability of a source gap and of a sink stall in each cycle "
                          "(default: none, one payload per clock)")
    sim.add_argument("--sim-seed", type=int, default=0, help="seed of the stall pattern")
    sim.add_argument("--verbose", action="store_true",
                     help="show the build commands (their output goes to build.log; a "
                          "simulation's to sim.log, kept on failure)")
    args = parser.parse_args(argv)
    config = config_from_arguments(args, parser)
    if args.stall is not None and not 0.0 <= args.stall < 1.0:
        parser.error("--stall must be in [0, 1)")
    from golden.eval import check_operand_flags
    names = tuple(config.operands)
    paths = {"x": args.x, "grad": args.grad, "alpha": args.alpha_bits,
             "a": args.a, "b": args.b, "c": args.c}
    check_operand_flags(config, paths, parser, names)
    out_path = npy_path(args.out)
    operands = {}
    try:
        for name in names:
            operands[name] = load_bits(Path(paths[name]).resolve(), config.in_width)
            first = names[0]
            if operands[name].shape != operands[first].shape:
                raise ValueError(f"{paths[name]}: shape {operands[name].shape} differs from the "
                                 f"shape {operands[first].shape} of {paths[first]}")
    except (OSError, ValueError) as error:
        parser.error(str(error))
    shape = operands[names[0]].shape
    size = operands[names[0]].size

    from sim.checks import mismatches
    from sim.runner import SimulationError, prepare, run_stream

    if args.verbose:
        import logging
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

    try:
        t0 = time.perf_counter()
        design = prepare(config, args.simulator, quiet=not args.verbose)
        prep = time.perf_counter() - t0
        stall = args.stall or 0.0
        result = run_stream(design, **operands, in_gap=stall, out_stall=stall,
                            seed=args.sim_seed)
    except SimulatorUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    except SimulationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 4

    y = result.y.astype(uint_dtype(config.out_width)).reshape(shape)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    np.save(out_path, y)
    saved = [str(out_path)]
    if not config.is_float:
        flag = result.flag.reshape(shape)
        np.save(flag_path(out_path), flag)
        saved.append(str(flag_path(out_path)))

    built = f"built in {design.build_seconds:.1f} s" if design.build_seconds else "cached build"
    print(f"{config.name} on {args.simulator} ({built}, export+build {prep:.1f} s): "
          f"{size} inputs, {result.cycles} cycles in {result.seconds:.2f} s "
          f"({result.cycles_per_second:,.0f} cycles/s; simulator process {result.wall:.2f} s)")
    print("saved " + ", ".join(saved))

    flat = lambda bits, width: (np.asarray(bits).reshape(-1).astype(np.int64).astype(np.uint64)
                                & np.uint64((1 << width) - 1))
    flat_ops = {name: flat(v, config.in_width) for name, v in operands.items()}
    count, lines = mismatches(config, flat_ops.pop("x", None), result.y, result.flag, limit=10,
                              **flat_ops)
    if count == 0:
        print(f"golden model: all {size} results match")
        return 0
    print(f"golden model: {count} of {size} results DIFFER; first ones:")
    for line in lines:
        print(line)
    return 1


if __name__ == "__main__":
    sys.exit(main())
