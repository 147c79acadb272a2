"""The golden twins compiled: a configuration's twin recorded once (:mod:`golden.trace`), written
as C and compiled (:mod:`golden.c_program`), and run on blocks of operands on threads.

    program = compiled_twin(config)        # None where it cannot be built (no C compiler, ...)
    y, flag = program(x=bits, workers=2)   # == golden.eval.evaluate(config, x=bits)

The program is not a second implementation: it is the twin's own sequence of NumPy operations,
each typed as NumPy types it and spelt out in C with NumPy's integer semantics. Before first use
in a process it is compared with the twin on probe operands (every raw pattern of a 16-bit
format, else special values and random ones). A configuration whose twin cannot be recorded (a
Python branch on an operand's value, an operation not recorded, such as the FMA's ``ldexp``) or
whose program disagrees, and a machine without a C compiler (``cc``, ``gcc`` or ``$CC``), get
``None`` from :func:`compiled_twin` and a warning; callers then run the twin itself.
"""
import functools
import warnings

import numpy as np

from .blocked import BLOCK
from .c_program import Program, build, c_text
from .eval import evaluate, out_dtype, twin
from .trace import TraceError, record

__all__ = ["compiled_twin", "compile_function", "CompiledTwin", "trace"]


def trace(config):
    """``config``'s twin recorded: ``(C text, the outputs' dtypes, the operand names)``. The
    program reads operands of :func:`golden.eval.out_dtype` of the format's width and writes the
    result in that of the output's (the casts :func:`golden.eval.evaluate` makes), a flag as bool."""
    names = list(config.operands)
    function = twin(config)
    graph, outputs = record(lambda **operands: function(config, **operands), names)
    outputs = [(value, np.dtype(out_dtype(config.out_width)) if k == 0 else np.dtype(bool))
               for k, (value, _) in enumerate(outputs)]
    return c_text(graph, outputs, out_dtype(config.format.width)), [dtype for _, dtype in outputs], names


def compile_function(function, names):
    """``function`` (NumPy operations on uint64 operands ``names``, elementwise) recorded and
    compiled: a :class:`Program`. Raises :class:`TraceError` or ``OSError``."""
    graph, outputs = record(function, names)
    return Program(build(c_text(graph, outputs)), names, [dtype for _, dtype in outputs])


class CompiledTwin(Program):
    """``config``'s twin compiled: ``program(workers=1, **operands) -> (y, flag)``, the results of
    :func:`golden.eval.evaluate` (``flag`` None for float formats)."""

    def __init__(self, config):
        text, dtypes, names = trace(config)
        super().__init__(build(text), names, dtypes, out_dtype(config.format.width))
        self.config = config

    def __call__(self, workers=1, block=BLOCK, **operands):
        outs = super().__call__(workers, block, **operands)
        return outs[0], (outs[1] if len(outs) > 1 else None)


def _probes(config, names):
    """Probe operands: every raw pattern of a 16-bit format, else special values and random ones,
    each operand independently shuffled."""
    width = config.format.width
    rng = np.random.default_rng(20261206)
    if width <= 16:
        base = np.arange(1 << width, dtype=np.uint64)
    else:
        top = (1 << width) - 1
        edges = np.array([0, 1, 2, top, top - 1, top >> 1, (top >> 1) + 1, (top >> 1) - 1], dtype=np.uint64)
        fields = np.arange(1 << min(width - 1, 12), dtype=np.uint64) << np.uint64(max(width - 13, 0))
        base = np.concatenate([edges, fields, fields | np.uint64(1 << (width - 1)),
                               rng.integers(0, top, 1 << 16, dtype=np.uint64, endpoint=True)])
    return {name: (base if k == 0 else rng.permutation(base)) for k, name in enumerate(names)}


@functools.lru_cache(maxsize=None)
def compiled_twin(config):
    """The compiled program of ``config``'s twin, checked against the twin on probe operands, or
    None (with a warning) where it cannot be built or disagrees."""
    try:
        program = CompiledTwin(config)
    except (TraceError, OSError, OverflowError) as error:
        warnings.warn(f"{config.name}: no compiled twin ({error}); the NumPy twin runs", stacklevel=2)
        return None
    probes = _probes(config, program.names)
    want, want_flag = evaluate(config, **probes)
    got, got_flag = program(**probes)
    if not np.array_equal(want, got) or (want_flag is not None and not np.array_equal(want_flag, got_flag)):
        warnings.warn(f"{config.name}: the compiled twin disagrees with the NumPy twin on probe operands; "
                      "the NumPy twin runs", stacklevel=2)
        return None
    return program
