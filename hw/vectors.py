"""Test vectors for an exported core, from the golden model, for plain Verilog testbenches.

``python -m hw.vectors [config flags] --out DIR [--count N] [--seed-rng S] [--name NAME]`` writes
``DIR/NAME.hex`` (operands and expected results, one payload a line, for ``$readmemh``) and
``DIR/tb_config.vh`` (the ``define``s of ``docs/examples/tb_stream.v``); the format and the
choice of operands: :mod:`hw.emit.vectors`. Both files are written all or none; ``--out`` must be a
folder or a new one in an existing folder (checked first). Exit status (:mod:`hw.spec.cli`): 0
written, 2 bad usage.
"""
import sys

from golden.files import check_output_dir
from hw.config import add_config_arguments, config_from_arguments
from hw.emit.vectors import DEFAULT_COUNT, write_vectors
from hw.spec.cli import command_line

__all__ = ["main", "write_vectors"]


def main(argv=None):
    parser = command_line("hw.vectors", __doc__.splitlines()[0])
    add_config_arguments(parser)
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT,
                        help=f"payloads (default {DEFAULT_COUNT})")
    parser.add_argument("--seed-rng", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--name", default=None,
                        help="module name of the exported core (default: from the configuration)")
    args = parser.parse_args(argv)
    config = config_from_arguments(args, parser)
    check_output_dir(parser, "--out", args.out)
    if args.count < 1:
        parser.error(f"--count must be at least 1, not {args.count}")
    try:
        paths = write_vectors(config, args.out, args.count, args.seed_rng, args.name)
    except ValueError as error:
        parser.error(str(error))
    for path in paths:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
