"""Drop-in export of a unit: clean Verilog-2005, a JSON descriptor and a FuseSoC core.

``python -m hw.export [config flags] --out DIR [--name NAME] [--no-init]`` writes, for one
configuration, ``NAME.v`` (one module ``NAME``, default the configuration's name, ports in the
order of :mod:`hw.emit.interface`), ``NAME.json`` (:mod:`hw.emit.descriptor`) and ``NAME.core`` (FuseSoC,
targets ``default`` and ``lint``). ``--no-init`` leaves the registers without initial values
(ASIC flows). ``python -m hw.export --standard --out export/`` writes every function in bf16,
fp16 and fp32 at its default settings, and deletes only the files of standard cores it wrote
there before (named like one, with its header). Output is deterministic: the same tools give the
same bytes. A core's three files are written all or none; ``--out`` must be a folder or a new one
in an existing folder (checked first). Exit status (:mod:`hw.spec.cli`): 0 written, 2 bad usage.
"""
import sys

from golden.files import check_output_dir
from hw.config import add_config_arguments, config_from_arguments
from hw.emit.core import export_core, export_standard
from hw.spec.cli import command_line

__all__ = ["main"]


def main(argv=None):
    parser = command_line("hw.export", __doc__.splitlines()[0])
    add_config_arguments(parser)
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--name", default=None, help="top module name (default: from the configuration)")
    parser.add_argument("--no-init", action="store_true",
                        help="no register initial values (no initial block), for ASIC flows")
    parser.add_argument("--standard", action="store_true",
                        help="export every function in bf16, fp16 and fp32 at default settings "
                             "(the cores kept under export/)")
    args = parser.parse_args(argv)
    check_output_dir(parser, "--out", args.out)
    if args.standard:
        defaults = parser.parse_args(["--out", args.out, "--standard"])
        changed = [key for key, value in vars(args).items() if getattr(defaults, key) != value]
        if changed:
            parser.error(f"--standard takes no other option (got --{changed[0].replace('_', '-')})")
        paths, removed = export_standard(args.out)
        for path in removed:
            print(f"removed {path}")
    else:
        config = config_from_arguments(args, parser)
        try:
            paths = list(export_core(config, args.out, args.name, init=not args.no_init).values())
        except ValueError as error:
            parser.error(str(error))
    for path in paths:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
