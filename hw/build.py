"""Build a board bitstream of one configuration: the unit in the board top of :mod:`fpga` (UART
protocol, exhaustive self-test), synthesized with Yosys and placed and routed with nextpnr, all
from the YoWASP packages.

``python -m hw.build --board icebreaker [config flags] [--clock MHz] [--placement-seed N] [--out DIR]``

Without ``--clock`` the build runs at the highest clock of the board's PLL that the whole board
top meets, found by a short search from the board's floor clock (at most
:data:`~fpga.clock_search.MAX_BUILDS` builds, each Fmax naming the next candidate) and cached in
the build directory, so the next build goes straight to it (:mod:`fpga.clock_search`).

``--seed`` is the unit's seed type, as in every CLI (``lut``, ``pwl``, ``quad``, ``magic``);
``--placement-seed N`` is nextpnr's placement seed (default 1; the build is deterministic for a
given one).

Prints the configuration, its latency, the resources used and available, the clock constraint,
the achieved Fmax with the SB_MAC16's own delays included (nextpnr-ice40 does not time paths
through a DSP; its own figure is shown beside) and where the bitstream is. Exit status
(:mod:`hw.spec.cli`): 0 built and checked; 1 when timing is not met by the corrected figure, when
Yosys reports a "Driver-driver conflict" (the sign of a multiplier it deleted) or when the netlist
has fewer SB_MAC16 than the unit needs; 2 bad usage (checked before the build); 3 when a tool is
missing or stops with an error (for example a design that does not fit the device: the tools'
error lines and the resources over capacity are printed). ``--board list`` lists the boards.
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")

from golden.files import check_output, check_output_dir, json_on_stdout, write_json  # noqa: E402
from hw.config import Config, add_config_arguments, config_from_arguments  # noqa: E402
from hw.spec.cli import EXIT_EXTERNAL, EXIT_MISMATCH, EXIT_USAGE, command_line, fail  # noqa: E402
from fpga.clock_search import search_clock  # noqa: E402
from fpga.flow import BOARDS, ToolFailure, build_board, format_summary, tool_failure  # noqa: E402, F401

__all__ = ["main"]


def _list_boards():
    lines = ["boards:"]
    for board in BOARDS.values():
        config = Config(**board.default_config)
        lines.append(f"  {board.name:<11} {board.description}; default {config.name} at the "
                     f"highest clock it meets from {board.default_clock_mhz:g} MHz up ({board.why})")
    return "\n".join(lines)


def main(argv=None):
    parser = command_line("hw.build", __doc__.splitlines()[0])
    parser.add_argument("--board", default="icebreaker",
                        help=f"one of {', '.join(BOARDS)}, or 'list' (default icebreaker)")
    before = vars(parser.parse_args([]))
    add_config_arguments(parser)
    config_defaults = {dest: value for dest, value in vars(parser.parse_args([])).items()
                       if dest not in before}
    parser.set_defaults(**dict.fromkeys(config_defaults))   # None: not given on the command line
    parser.add_argument("--clock", type=float, default=None,
                        help="clock in MHz (the PLL's closest); default: the highest PLL clock the "
                             "board top meets, searched from the board's floor clock and cached")
    parser.add_argument("--placement-seed", type=int, default=1, metavar="N",
                        help="nextpnr placement seed (default 1; --seed is the unit's seed type)")
    parser.add_argument("--baud", type=int, default=115200, help="UART baud rate (default 115200)")
    parser.add_argument("--out", default=None, help="build directory (default build/BOARD/CONFIG)")
    parser.add_argument("--json", metavar="FILE", help="also write the summary as JSON (- for stdout)")
    args = parser.parse_args(argv)
    if args.seed is not None and args.seed.isdigit():
        parser.error(f"--seed {args.seed}: --seed is the unit's seed type (lut, pwl, quad or magic); "
                     f"the placement seed is --placement-seed {args.seed}")
    if args.board == "list":
        print(_list_boards())
        return 0
    if args.board not in BOARDS:
        parser.error(f"--board must be one of {', '.join(BOARDS)} or list, not {args.board!r}")
    board = BOARDS[args.board]
    # No configuration flag: the board's default configuration; else the flags' own defaults.
    given = [dest for dest in config_defaults if getattr(args, dest) is not None]
    defaults = {**config_defaults, **({} if given else board.default_config)}
    for dest, value in defaults.items():
        if getattr(args, dest) is None:
            setattr(args, dest, value)
    config = config_from_arguments(args, parser)
    if config.lanes != 1:
        parser.error(f"--lanes must be 1 on a board top, not {config.lanes}")
    if args.clock is not None and args.clock <= 0:
        parser.error(f"--clock must be positive, not {args.clock:g}")
    if args.baud <= 0:
        parser.error(f"--baud must be positive, not {args.baud}")
    if args.out is not None:
        check_output_dir(parser, "--out", args.out)
    out = Path(args.out or Path("build") / board.name / config.name)
    json_path = check_output(parser, "--json", args.json, stdout=True)
    at = (f"at {args.clock:g} MHz" if args.clock is not None else
          f"at the highest clock it meets from {board.default_clock_mhz:g} MHz up")
    print(f"building {config.name} for {board.name} {at} (placement seed {args.placement_seed}) ...",
          file=sys.stderr, flush=True)

    def build(clock):
        return build_board(config, board, clock, args.placement_seed, out, args.baud)

    with json_on_stdout(json_path):
        try:
            if args.clock is not None:
                summary = build(args.clock)
            else:
                summary = search_clock(config, board, build, out, floor_mhz=board.default_clock_mhz,
                                       seed=args.placement_seed, baud=args.baud)
        except ValueError as error:
            return fail(parser, error, EXIT_USAGE)
        except RuntimeError as error:
            return fail(parser, error, EXIT_EXTERNAL)
        print(format_summary(summary))
    if json_path:
        write_json(json_path, summary)
    return 0 if summary["ok"] else EXIT_MISMATCH


if __name__ == "__main__":
    sys.exit(main())
