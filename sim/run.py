"""Run raw input bit patterns through the exported Verilog in a simulator and check the results
against the golden model.

    python -m sim.run --format fp16 --seed magic --x X.npy --out Y.npy [--simulator icarus]
                      [--stall P] [--sim-seed N]
    python -m sim.run --format bf16 --function isru-grad --alpha 3 --x X.npy --grad G.npy --out Y.npy
    python -m sim.run --format bf16 --function isru --runtime-alpha --x X.npy --alpha-bits A.npy --out Y.npy
    python -m sim.run --format fp32 --function fma --a A.npy --b B.npy --c C.npy --out Y.npy

``X.npy`` holds the inputs, a 1-D array of raw bit patterns or of values of the format's own
float dtype (:mod:`hw.spec.operands`: ``ml_dtypes.bfloat16``, ``np.float16``, ``np.float32``); so
do ``G.npy`` (``grad_out``, required by the backward functions) and ``A.npy`` (alpha per element in
the unit's format, required by ``--runtime-alpha``), both as long as ``X``. The fused multiply-add
(``--function fma``) takes ``--a``, ``--b``, ``--c`` instead (one length; result ``a*b + c``). A
missing or superfluous operand, a file that is not such an array and an ``--out`` in a missing
folder are usage errors, reported before the build. The results are saved as unsigned integers of
the output width (the smallest of uint8/16/32/64 that holds them) at exactly the ``--out`` path;
fixed-point units also save their flags as a bool array next to it, ``Y.flag.npy`` (``--out
Y.npy`` -> ``Y.flag.npy``). One payload (``--lanes`` inputs) enters per clock unless ``--stall``
gives a probability of random source gaps and sink stalls.

Prints the cycles, the time, and whether the results match the golden model. Exit status
(:mod:`hw.spec.cli`): 0 all match, 1 a mismatch, 2 bad usage or input, 3 the simulator is
unavailable or the build or simulation fails. Works from any directory (``python
/path/to/sim/run.py`` too).
"""
import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from golden.eval import check_operand_flags, flag_path, load_operands  # noqa: E402
from golden.files import check_output, save_npy  # noqa: E402
from hw.config import add_config_arguments, config_from_arguments  # noqa: E402
from hw.spec.cli import EXIT_EXTERNAL, EXIT_MISMATCH, command_line, fail  # noqa: E402
from hw.spec.operands import HELP as OPERANDS_HELP, bits_dtype  # noqa: E402
from sim.toolchain import SIMULATORS, SimulatorUnavailable  # noqa: E402


def main(argv=None):
    parser = command_line("sim.run", __doc__.splitlines()[0],
                          formatter_class=argparse.RawDescriptionHelpFormatter,
                          epilog="\n".join(__doc__.splitlines()[2:]))
    add_config_arguments(parser)
    operands = parser.add_argument_group("operands", OPERANDS_HELP)
    operands.add_argument("--x", default=None, help="input (every function but fma)")
    operands.add_argument("--grad", default=None, help="backward functions: grad_out")
    operands.add_argument("--alpha-bits", default=None, help="--runtime-alpha: alpha per element")
    for name in ("a", "b", "c"):
        operands.add_argument(f"--{name}", default=None, help=f"--function fma: {name} in a*b + c")
    sim = parser.add_argument_group("simulation")
    sim.add_argument("--out", required=True,
                     help="result .npy, written at exactly this path (flags: OUT.flag.npy)")
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
    paths = {"x": args.x, "grad": args.grad, "alpha": args.alpha_bits,
             "a": args.a, "b": args.b, "c": args.c}
    check_operand_flags(config, paths, parser)
    out_path = check_output(parser, "--out", args.out)
    operands = load_operands(config, paths, parser)
    size = operands[config.operands[0]].size

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
    except (SimulatorUnavailable, SimulationError) as error:
        return fail(parser, error, EXIT_EXTERNAL)

    outputs = {out_path: result.y.astype(bits_dtype(config.out_width))}
    if not config.is_float:
        outputs[flag_path(out_path)] = result.flag
    save_npy(outputs)
    saved = [str(path) for path in outputs]

    built = f"built in {design.build_seconds:.1f} s" if design.build_seconds else "cached build"
    print(f"{config.name} on {args.simulator} ({built}, export+build {prep:.1f} s): "
          f"{size} inputs, {result.cycles} cycles in {result.seconds:.2f} s "
          f"({result.cycles_per_second:,.0f} cycles/s; simulator process {result.wall:.2f} s)")
    print("saved " + ", ".join(saved))

    wide = {name: bits.astype(np.uint64) for name, bits in operands.items()}
    count, lines = mismatches(config, wide.pop("x", None), result.y, result.flag, limit=10, **wide)
    if count == 0:
        print(f"golden model: all {size} results match")
        return 0
    print(f"golden model: {count} of {size} results DIFFER; first ones:")
    for line in lines:
        print(line)
    return EXIT_MISMATCH


if __name__ == "__main__":
    sys.exit(main())
