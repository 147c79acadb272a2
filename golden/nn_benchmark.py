"""Throughput of :class:`golden.nn.HardwareActivation` against PyTorch's native ELU on this CPU.

    python -m golden.nn_benchmark [--elements N] [--repeats R] [--formats LIST] [--json FILE]

Times the forward pass, and the forward plus backward pass (``y.backward(grad)``), of every
hardware activation (:data:`golden.nn.FUNCTIONS`, default configurations) on ``N`` float32
elements, ``x`` and ``grad`` standard normal (as in training: a constant grad would let the
16-bit backward tables hit the cache far more often), as elements per second (best of ``R``), beside ``torch.nn.functional.elu`` on the same tensor, and prints the slowdown against
the goal (within 5x of native ELU for the 16-bit formats, 20x for FP32). The slowdown compares
each row with native ELU timed in alternation with it, so that load on the machine affects both
alike. A benchmark, not a test: the figures depend on the machine and its load.
"""
import sys
import time

from hw.spec.cli import comma_names, command_line
from .files import check_output, json_on_stdout, write_json

__all__ = ["measure", "main", "GOALS"]

GOALS = {"bf16": 5.0, "fp16": 5.0, "fp32": 20.0}


def _rates(steps, elements, repeats):
    """Best rates of ``steps``, each run once to warm up (tables, caches), then timed in
    alternation ``repeats`` times, so that all see the same machine load."""
    for step in steps:
        step()
    best = [float("inf")] * len(steps)
    for _ in range(repeats):
        for i, step in enumerate(steps):
            start = time.perf_counter()
            step()
            best[i] = min(best[i], time.perf_counter() - start)
    return [elements / seconds for seconds in best]


def _steps(activation, x, grad):
    import torch

    def forward():
        with torch.no_grad():
            activation(x)

    def both():
        x.grad = None
        activation(x).backward(grad)
    return forward, both


def measure(elements=1 << 20, repeats=3, formats=tuple(GOALS)):
    """Rows: ``{"activation", "format", "forward", "forward_backward"}`` in elements per second,
    the native ELU first (format ``float32``), then on each hardware row of ``formats``
    ``native_forward_backward`` (native ELU's, timed in alternation with the row's forward plus
    backward pass), ``slowdown`` (the ratio of the two) and ``goal``."""
    import torch
    from .nn import FUNCTIONS, HardwareActivation
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(elements, generator=generator, requires_grad=True)
    grad = torch.randn(elements, generator=generator)
    rows = []
    forward, native_both = _steps(torch.nn.functional.elu, x, grad)
    native_rates = _rates([forward, native_both], elements, repeats)
    native = {"activation": "torch elu", "format": "float32", "forward": native_rates[0],
              "forward_backward": native_rates[1]}
    rows.append(native)
    for fmt in formats:
        for function in FUNCTIONS:
            act = HardwareActivation(function, fmt)
            forward, both = _steps(act, x, grad)
            row = {"activation": act.config.name, "format": fmt, "forward": _rates([forward], elements, repeats)[0]}
            row["forward_backward"], row["native_forward_backward"] = _rates([both, native_both], elements, repeats)
            row["slowdown"] = row["native_forward_backward"] / row["forward_backward"]
            row["goal"] = GOALS[fmt]
            rows.append(row)
    return rows


def format_rows(rows):
    lines = ["| activation | forward M elem/s | forward + backward M elem/s | native ELU beside it, M elem/s "
             "| slower than native ELU | goal |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        slow = f"{r['slowdown']:.1f}x" if "slowdown" in r else "-"
        goal = f"{r['goal']:.0f}x" if "goal" in r else "-"
        beside = f"{r['native_forward_backward'] / 1e6:.0f}" if "native_forward_backward" in r else "-"
        lines.append(f"| {r['activation']} | {r['forward'] / 1e6:.1f} | {r['forward_backward'] / 1e6:.2f} | {beside} "
                     f"| {slow} | {goal} |")
    return "\n".join(lines)


def main(argv=None):
    parser = command_line("golden.nn_benchmark", __doc__.split("\n\n")[1])
    parser.add_argument("--elements", type=int, default=1 << 20, help="elements per pass (default 2**20)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes, the best counts (default 3)")
    parser.add_argument("--formats", default=",".join(GOALS),
                        help=f"comma-separated formats among {', '.join(GOALS)} (default: all)")
    parser.add_argument("--json", help="write the rows to FILE (- for stdout)")
    args = parser.parse_args(argv)
    formats = comma_names(parser, "--formats", args.formats, tuple(GOALS))
    for flag, value in (("--elements", args.elements), ("--repeats", args.repeats)):
        if value < 1:
            parser.error(f"{flag} must be at least 1, not {value}")
    json_path = check_output(parser, "--json", args.json, (".json",), stdout=True)
    with json_on_stdout(json_path):
        rows = measure(args.elements, args.repeats, formats)
        print(format_rows(rows))
    if json_path:
        write_json(json_path, rows)
        if json_path != "-":
            print(f"wrote {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
