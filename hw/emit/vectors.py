"""Test vectors for an exported core, from the golden model, for plain Verilog testbenches.

``python -m hw.vectors [config flags] --out DIR [--count N] [--seed-rng S] [--name NAME]`` (:mod:`hw.vectors`) writes

* ``DIR/NAME.hex``: ``N`` lines for ``$readmemh``, one payload each: the operands, then the
  expected results, as one hex word ``{in_<first operand>, ..., in_<last operand>, out_y[,
  out_flag]}`` (most significant first, each field packed like its port: lane ``l`` of a
  ``W``-bit field at bits ``[l*W +: W]``);
* ``DIR/tb_config.vh``: the ``define``s of the example testbench ``docs/examples/tb_stream.v``
  (module ``NAME``, the file, the count, lanes, widths, operand ports, latency).

The first payloads (up to half) hold the special values of each operand (:mod:`golden.accuracy`'s
special classes; triples of special operands for the FMA), the rest random bit patterns from
``--seed-rng``; runtime alphas are random positive normal numbers after the special ones. Expected
results come from :func:`golden.eval.evaluate`, which the RTL matches bit for bit.
"""
from pathlib import Path

import numpy as np

from golden.accuracy import alpha_samples, grad_specials, special_inputs
from golden.eval import evaluate
from golden.files import write_files
from hw.spec.functions import Family
from hw.spec.plan import latency

__all__ = ["vector_operands", "write_vectors", "DEFAULT_COUNT"]

DEFAULT_COUNT = 2000


def _leading(first, count, rng, width):
    """``first`` (evenly thinned to at most half of ``count``) then random ``width``-bit
    patterns, ``count`` in all."""
    first = np.asarray(first, dtype=np.uint64)
    if len(first) > count // 2:
        first = first[np.linspace(0, len(first) - 1, count // 2).astype(np.int64)]
    rest = rng.integers(0, 1 << width, size=count - len(first), dtype=np.uint64)
    return np.concatenate([first, rest])


def vector_operands(config, count, seed=1):
    """``{operand: raw bits}``, ``count * lanes`` elements each (lane-major per payload)."""
    fmt, n = config.format, count * config.lanes
    rng = np.random.default_rng(seed)
    specials = grad_specials(fmt)
    if config.entry.family is Family.FMA:
        triples = [g.ravel() for g in np.meshgrid(specials, specials, specials, indexing="ij")]
        return {name: _leading(first, n, rng, fmt.width) for name, first in zip("abc", triples)}
    operands = {"x": _leading(special_inputs(fmt), n, rng, fmt.width)}
    if config.is_backward:
        operands["grad"] = _leading(np.tile(specials, 4), n, rng, fmt.width)
    if config.runtime_alpha:
        operands["alpha"] = np.concatenate([specials, alpha_samples(fmt, n, rng)])[:n]
    return operands


def _pack(fields, lanes):
    """One int per payload from ``[(values, width)]`` fields (lane-major arrays), first field most
    significant, lane ``l`` of each at ``l * width``."""
    words = []
    for payload in range(len(fields[0][0]) // lanes):
        word = 0
        for values, width in fields:
            for lane in reversed(range(lanes)):
                word = (word << width) | int(values[payload * lanes + lane])
        words.append(word)
    return words


def _config_header(config, name, count, hex_name, latency, operands):
    lines = [f"// Test-bench configuration for {name} (written by python -m hw.vectors).",
             f"`define DUT {name}",
             f"`define DUT_NAME \"{name}\"",
             f"`define VECTORS \"{hex_name}\"",
             f"`define COUNT {count}",
             f"`define LANES {config.lanes}",
             f"`define IN_WIDTH {config.in_width}",
             f"`define OUT_WIDTH {config.out_width}",
             f"`define OPERANDS {len(operands)}",
             f"`define LATENCY {latency}"]
    if config.entry.family is Family.FMA:
        lines.append("`define FMA")
    lines += [f"`define {flag}" for flag, used in (("GRAD", "grad" in operands),
                                                   ("ALPHA", "alpha" in operands),
                                                   ("FLAG", not config.is_float)) if used]
    return "\n".join(lines) + "\n"


def write_vectors(config, out_dir, count=DEFAULT_COUNT, seed=1, name=None):
    """Write ``NAME.hex`` and ``tb_config.vh`` (see the module docstring) into ``out_dir``;
    returns their paths."""
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive integer, not {count!r}")
    name = name or config.name
    operands = vector_operands(config, count, seed)
    y, flag = evaluate(config, **operands)
    fields = [(operands[op], config.in_width) for op in config.operands]
    fields.append((y, config.out_width))
    if flag is not None:
        fields.append((flag.astype(np.uint64), 1))
    bits = sum(width for _, width in fields) * config.lanes
    digits = (bits + 3) // 4
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    hex_path = out_dir / f"{name}.hex"
    header = out_dir / "tb_config.vh"
    texts = {hex_path: "".join(f"{word:0{digits}x}\n" for word in _pack(fields, config.lanes)),
             header: _config_header(config, name, count, hex_path.name, latency(config),
                                    config.operands)}
    write_files({path: lambda tmp, text=text: Path(tmp).write_text(text)
                 for path, text in texts.items()})
    return hex_path, header
