"""The configuration's command-line flags, shared by every CLI (one ``--flag`` per
:class:`~hw.spec.config.Config` parameter)."""
import argparse

from .config import Config
from .devices import DEFAULT_DEVICE, DEVICES
from .functions import DEFAULT_FUNCTION, FUNCTIONS

__all__ = ["add_config_arguments", "config_from_arguments"]


def _int_auto(text):
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def add_config_arguments(parser):
    """Add the flags every CLI accepts, one per :class:`~hw.spec.config.Config` parameter."""
    group = parser.add_argument_group("configuration")
    group.add_argument("--format", default="bf16",
                       help="fp32, fp16, bf16, eXmY (X 3..8, Y 2..23) or qI.F (default: bf16)")
    group.add_argument("--function", default=DEFAULT_FUNCTION, help=f"one of {', '.join(FUNCTIONS)}")
    group.add_argument("--seed", default=None,
                       help="lut, pwl, quad or magic (default: for the activations pwl where lines "
                            "alone meet the target, else quad; for rsqrt lut)")
    group.add_argument("--magic", type=_int_auto, default=None,
                       help="magic constant, e.g. 0x5f3759df (default: best for the format)")
    group.add_argument("--table-bits", type=int, default=None, help="seed table index bits")
    group.add_argument("--newton", type=int, default=None, help="Newton-Raphson stages, 0..3")
    group.add_argument("--lanes", type=int, default=1, help="lanes per stream payload, 1..16")
    group.add_argument("--out-format", default=None, help="fixed point only: result format qI.F")
    group.add_argument("--alpha", type=float, default=None,
                       help="activation functions and ELU: alpha > 0 (default 1)")
    group.add_argument("--pipeline", type=int, default=None,
                       help="optional pipeline registers to use (default: all; fewer: lower latency "
                            "at a lower clock)")
    group.add_argument("--runtime-alpha", action="store_true",
                       help="activation functions: alpha is an input, per lane, in the unit's format")
    group.add_argument("--rounding", default=None, choices=("direct", "residual"),
                       help="rsqrt on floats: round the approximation (direct) or decide the last bit "
                            "by the exact residual (residual: correctly rounded by construction; "
                            "default above 12 significant bits, e.g. FP32)")
    group.add_argument("--device", default=None,
                       help=f"device model the datapath and the pipeline plan are made for: "
                            f"{', '.join(DEVICES)} (default {DEFAULT_DEVICE.name})")
    return parser


def config_from_arguments(args, parser=None):
    """Build a Config from parsed flags; invalid values exit through ``parser.error`` if given."""
    try:
        return Config(format=args.format, function=args.function, seed=args.seed, magic=args.magic,
                      table_bits=args.table_bits, newton=args.newton, lanes=args.lanes,
                      out_format=args.out_format, alpha=args.alpha,
                      runtime_alpha=args.runtime_alpha, pipeline=args.pipeline, device=args.device,
                      rounding=args.rounding)
    except ValueError as error:
        if parser is None:
            raise
        parser.error(str(error))
