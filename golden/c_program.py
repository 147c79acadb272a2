"""A recorded program (:mod:`golden.trace`) as C, compiled with the system's C compiler and run.

Each recorded operation becomes one C statement per element with NumPy's semantics spelt out:
integer arithmetic wraps (computed in ``uint64_t``), shifts by the type's width or more give 0
(-1 for a negative signed value shifted right), signed and unsigned values compare exactly, a
boolean's ``+`` is ``or``; casts and views are C conversions and ``memcpy``; the helpers recorded
whole are C functions with the results of their NumPy paths (``mul_shr`` one product, of 64 bits
where the operands' bounds keep it below 2**64, else of 128; ``bit_length``; ``round_shift``; a
table read), written without branches on the values. Shifts whose amount the bounds keep inside
the width need no test. The library is kept
in ``<cache>/compiled`` (:func:`hw.spec.paths.cache_dir`), keyed by a digest of the C text and the
compiler flags.
"""
import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile

import numpy as np

from hw.spec.paths import cache_dir
from .blocked import BLOCK, each_block
from .trace import ARITHMETIC, BITWISE, COMPARE, LOGICAL, Sym, TraceError

__all__ = ["c_text", "build", "Program"]


def _ctype(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return "uint8_t"
    if dtype.kind in "iu":
        return f"{'u' if dtype.kind == 'u' else ''}int{dtype.itemsize * 8}_t"
    if dtype.kind == "f" and dtype.itemsize in (4, 8):
        return "double" if dtype.itemsize == 8 else "float"
    raise TraceError(f"dtype {dtype}")


def _literal(value, dtype):
    """C literal of ``value`` as ``dtype`` (NumPy's cast of a constant)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return "1" if value else "0"
    if dtype.kind in "iu":
        bits = int(value) & ((1 << (8 * dtype.itemsize)) - 1)
        return f"(({_ctype(dtype)})UINT64_C({bits}))"
    number = float(value)
    if number != number:
        return "NAN"
    if number in (float("inf"), float("-inf")):
        return "INFINITY" if number > 0 else "(-INFINITY)"
    return f"(({_ctype(dtype)}){number.hex()})"


def _shift(node, op, refs, out, dtype):
    """A shift with NumPy's result for amounts beyond the width (0, or -1 for a negative value
    shifted right); no test where the amount's bounds keep it inside the width."""
    a, b = refs
    width = dtype.itemsize * 8
    shifted = f"({out})((uint64_t)({a}) << ({b}))" if op == "left_shift" else f"({out})(({a}) >> ({b}))"
    amount = node.args[1].bounds
    if amount is not None and 0 <= amount[0] and amount[1] < width:
        return f"({shifted})"
    low = f"(({a}) < 0 ? ({out})-1 : ({out})0)" if dtype.kind == "i" and op == "right_shift" else f"({out})0"
    return f"((uint64_t)({b}) < {width} ? {shifted} : {low})"


def _view_name(src, dst):
    return f"bits_{src.kind}{src.itemsize}_{dst.kind}{dst.itemsize}"


def _convert(expr, src, dst):
    """C of NumPy's ``astype`` from ``src`` to ``dst``."""
    src, dst = np.dtype(src), np.dtype(dst)
    if src == dst:
        return expr
    if dst.kind == "b":
        return f"((uint8_t)(({expr}) != 0))"
    return f"(({_ctype(dst)})({expr}))"


# hw.spec.intmath's helpers, as their NumPy paths compute them for every input.
_HELPERS = """static inline int64_t bit_length(uint64_t v) { return 64 - __builtin_clzll(v | 1) - (v == 0); }
static inline uint64_t round_shift(uint64_t v, int64_t s)
{
    uint64_t inside = (uint64_t)s < 64, t = inside ? (uint64_t)s : 0;
    uint64_t kept = v >> t, rest = v & ((UINT64_C(1) << t) - 1), half = (UINT64_C(1) << t) >> 1;
    uint64_t up = (rest > half) | ((rest == half) & (kept & 1) & (t != 0));
    return (kept + up) & (0 - inside);
}
"""


class _Writer:
    """C text of a recorded program."""

    def __init__(self, graph):
        self.graph = graph

    def ref(self, operand, dtype):
        """``operand`` cast to ``dtype`` as a C expression."""
        if isinstance(operand, Sym):
            return _convert(f"v{operand.id}", operand.dtype, dtype)
        return _literal(operand.value, dtype)

    def expr(self, node):
        op, args = node.op, node.args
        if op == "input":
            return f"((uint64_t)in_{node.attr}[i])"
        if op == "cast":
            return _convert(f"v{args[0].id}", args[0].dtype, node.dtype)
        if op == "view":
            return f"{_view_name(args[0].dtype, node.dtype)}(v{args[0].id})"
        if op == "take":
            return f"(({_ctype(node.dtype)})table{node.attr}[v{args[0].id}])"
        if op == "mul_shr":
            a, b = (self.ref(x, np.uint64) for x in args)
            if node.attr >= 128:
                return "((uint64_t)0)"
            if all(x.bounds is not None for x in args) and args[0].bounds[1] * args[1].bounds[1] < 1 << 64:
                return f"((uint64_t)(({a}) * ({b})) >> {node.attr})" if node.attr < 64 else "((uint64_t)0)"
            return f"((uint64_t)(((unsigned __int128)({a}) * (unsigned __int128)({b})) >> {node.attr}))"
        if op == "bit_length":
            return f"bit_length({self.ref(args[0], np.uint64)})"
        if op == "round_shift":
            return f"round_shift({self.ref(args[0], np.uint64)}, {self.ref(args[1], np.int64)})"
        if op == "where":
            return f"(v{args[0].id} ? {self.ref(args[1], node.dtype)} : {self.ref(args[2], node.dtype)})"
        loop = node.attr
        refs = [self.ref(a, t) for a, t in zip(args, loop)]
        if op in COMPARE:
            return self.compare(op, loop, refs)
        if op in LOGICAL:
            return f"((uint8_t)(({refs[0]} != 0) {LOGICAL[op]} ({refs[1]} != 0)))"
        if op == "logical_not":
            return f"((uint8_t)(({refs[0]}) == 0))"
        kind = {"b": self.boolean, "f": self.floating}.get(np.dtype(loop[0]).kind, self.integer)
        return kind(node, op, refs)

    @staticmethod
    def boolean(node, op, refs):
        if op == "invert":
            return f"((uint8_t)!({refs[0]}))"
        symbol = {"add": "|", "multiply": "&", "maximum": "|", "minimum": "&", **BITWISE}.get(op)
        if symbol is None:
            raise TraceError(f"{op} on booleans")
        return f"((uint8_t)({refs[0]} {symbol} {refs[1]}))"

    @staticmethod
    def floating(node, op, refs):
        if op in ARITHMETIC:
            return f"({refs[0]} {ARITHMETIC[op]} {refs[1]})"
        if op in ("maximum", "minimum"):                   # NaN wins, as in NumPy
            pick = ">=" if op == "maximum" else "<="
            a, b = refs
            return f"(({a}) != ({a}) ? ({a}) : ({b}) != ({b}) ? ({b}) : ({a}) {pick} ({b}) ? ({a}) : ({b}))"
        if op == "negative":
            return f"(-{refs[0]})"
        if op == "absolute":
            return f"fabs({refs[0]})"
        raise TraceError(f"{op} on floats")

    @staticmethod
    def integer(node, op, refs):
        out, loop = _ctype(node.dtype), node.attr
        if op in ARITHMETIC:
            return f"(({out})((uint64_t){refs[0]} {ARITHMETIC[op]} (uint64_t){refs[1]}))"
        if op in BITWISE:
            return f"(({out})({refs[0]} {BITWISE[op]} {refs[1]}))"
        if op in ("maximum", "minimum"):
            pick = ">=" if op == "maximum" else "<="
            return f"(({refs[0]}) {pick} ({refs[1]}) ? ({refs[0]}) : ({refs[1]}))"
        if op in ("left_shift", "right_shift"):
            return _shift(node, op, refs, out, np.dtype(loop[0]))
        if op == "invert":
            return f"(({out})~({refs[0]}))"
        if op == "negative":
            return f"(({out})(0 - (uint64_t)({refs[0]})))"
        if op == "absolute":
            return f"(({refs[0]}) < 0 ? ({out})(0 - (uint64_t)({refs[0]})) : ({refs[0]}))"
        raise TraceError(f"{op} on integers")

    @staticmethod
    def compare(op, loop, refs):
        a, b = refs
        ka, kb = (np.dtype(t).kind for t in loop)
        symbol = COMPARE[op]
        if {ka, kb} == {"i", "u"}:          # NumPy compares signed with unsigned exactly
            negative = f"({a}) < 0" if ka == "i" else f"({b}) < 0"
            a_smaller = ka == "i"           # where the signed side is negative
            outcome = {"less": a_smaller, "less_equal": a_smaller, "greater": not a_smaller,
                       "greater_equal": not a_smaller, "equal": False, "not_equal": True}[op]
            return f"((uint8_t)({negative} ? {int(outcome)} : ((uint64_t)({a}) {symbol} (uint64_t)({b}))))"
        return f"((uint8_t)({a} {symbol} {b}))"

    def text(self, outputs, in_dtype):
        graph = self.graph
        lines = ["#include <stdint.h>", "#include <string.h>", "#include <math.h>", "", _HELPERS]
        views = {(n.args[0].dtype, n.dtype) for n in graph.nodes if n.op == "view"}
        for src, dst in sorted(views, key=str):
            cdst = _ctype(dst)
            lines.append(f"static inline {cdst} {_view_name(src, dst)}({_ctype(src)} v) "
                         f"{{ {cdst} r; memcpy(&r, &v, sizeof r); return r; }}")
        for index, table in enumerate(graph.tables):
            values = ", ".join(_literal(int(v), table.dtype) for v in table)
            lines.append(f"static const {_ctype(table.dtype)} table{index}[{table.size}] = {{{values}}};")
        params = ["int64_t n"] + [f"const {_ctype(in_dtype)} *in_{node.attr}" for node in graph.inputs]
        params += [f"{_ctype(dtype)} *out{k}" for k, (_, dtype) in enumerate(outputs)]
        lines += ["", f"void run({', '.join(params)})", "{", "    for (int64_t i = 0; i < n; i++) {"]
        used = self._used(outputs)
        for node in graph.nodes:
            if node.id in used:
                lines.append(f"        {_ctype(node.dtype)} v{node.id} = {self.expr(node)};")
        for k, (value, dtype) in enumerate(outputs):
            lines.append(f"        out{k}[i] = {self.ref(value, dtype)};")
        lines += ["    }", "}", ""]
        return "\n".join(lines)

    def _used(self, outputs):
        used, stack = set(), [v for v, _ in outputs if isinstance(v, Sym)]
        while stack:
            node = stack.pop()
            if node.id not in used:
                used.add(node.id)
                stack.extend(a for a in node.args if isinstance(a, Sym))
        used.update(node.id for node in self.graph.inputs)
        return used


def c_text(graph, outputs, in_dtype=np.uint64):
    """The C text of a recorded program (:func:`golden.trace.record`): ``void run(n, inputs...,
    outputs...)`` over ``n`` elements, the inputs unsigned integers of ``in_dtype`` (widened to
    uint64, as the recording's operands), each output ``(value, dtype)`` cast to its dtype."""
    return _Writer(graph).text(outputs, np.dtype(in_dtype))


def _compiler():
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


_FLAGS = ("-O2", "-fPIC", "-shared", "-fwrapv", "-ffp-contract=off", "-fno-strict-aliasing")


def build(text):
    """The shared library of C ``text``, compiled once into the cache folder."""
    digest = hashlib.sha256("\n".join((*_FLAGS, text)).encode()).hexdigest()[:20]
    folder = cache_dir("compiled")
    library = folder / f"twin-{digest}.so"
    if not library.is_file():
        compiler = _compiler()
        if compiler is None:
            raise OSError("no C compiler (cc, gcc or $CC)")
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            source, target = os.path.join(tmp, "twin.c"), os.path.join(tmp, "twin.so")
            with open(source, "w") as handle:
                handle.write(text)
            try:
                run = subprocess.run([compiler, *_FLAGS, "-o", target, source], capture_output=True, text=True)
            except OSError as error:
                raise OSError(f"{compiler}: {error.strerror}") from None
            if run.returncode != 0:
                raise OSError(f"{compiler} failed: {run.stderr.strip()[:500]}")
            os.replace(target, library)
    return ctypes.CDLL(str(library))


class Program:
    """A recorded elementwise program, compiled: ``program(workers=1, **operands)`` returns its
    outputs (of ``out_dtypes``), each shaped like the operands (cast to ``in_dtype`` first, no copy
    where they are of it), computed in blocks of ``block`` elements on ``workers`` threads (the
    compiled loop runs without the GIL)."""

    def __init__(self, library, names, out_dtypes, in_dtype=np.uint64):
        self.names, self.out_dtypes, self.in_dtype = names, out_dtypes, np.dtype(in_dtype)
        self.function = library.run
        self.function.restype = None

    def __call__(self, workers=1, block=BLOCK, **operands):
        given = [np.ascontiguousarray(np.asarray(operands[name]).astype(self.in_dtype, copy=False))
                 for name in self.names]
        shape = given[0].shape
        flat = [g.reshape(-1) for g in given]
        n = flat[0].size
        outs = [np.empty(n, dtype) for dtype in self.out_dtypes]

        def run(start):
            count = min(block, n - start)
            pointers = [ctypes.c_void_p(a.ctypes.data + a.itemsize * start) for a in flat + outs]
            self.function(ctypes.c_int64(count), *pointers)

        each_block(run, n, workers=workers, block=block)
        return tuple(o.reshape(shape) for o in outs)


