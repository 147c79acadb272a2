"""The golden twins compiled: a configuration's twin traced once into an elementwise program,
written as C, compiled with the system's C compiler and run on blocks of operands on threads.

    program = compiled_twin(config)        # None where it cannot be built (no C compiler, ...)
    y, flag = program(x=bits, workers=2)   # == golden.eval.evaluate(config, x=bits)

The program is not a second implementation. It is the twin's own sequence of NumPy operations,
recorded by running the twin once on symbolic operands (:class:`Sym`), each operation typed by
NumPy's own type resolution (``ufunc.resolve_dtypes``) and spelt out in C with NumPy's integer
semantics: wrapping arithmetic, shifts by the type's width or more giving 0 (or -1), exact
comparisons of signed with unsigned values. Where a twin chooses among equivalent algorithms by
the largest value of an operand (:func:`hw.spec.intmath.mul_shr`, ``round_shift``,
``bit_length``, :func:`golden.blocks.round_pack_float`), the symbolic value answers with a bound
that every input respects (interval arithmetic over the recorded operations), so the recorded
choice is valid for every input. Table reads go through :func:`hw.spec.intmath.lookup`, which a
symbolic index answers. The twins' overflow checks (``np.any`` of a symbolic value) are taken
as passed: the twins never fail them on a valid configuration.

Before first use in a process, the program is compared with the twin on probe operands (every
raw pattern of a 16-bit format, else special values and random ones); a configuration whose
twin cannot be traced (a data-dependent Python branch, an operation not spelt out here) or
whose program disagrees, and a machine without a C compiler (``cc``, or ``$CC``), get ``None``
from :func:`compiled_twin` and a warning, and callers run the twin itself. Programs are kept in
``<cache>/compiled`` (:func:`hw.spec.paths.cache_dir`), keyed by a digest of their C text.
"""
import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from hw.spec.paths import cache_dir
from .blocked import BLOCK
from .eval import evaluate, out_dtype, twin

__all__ = ["compiled_twin", "compile_function", "CompiledTwin", "Program", "Sym", "TraceError", "trace"]


class TraceError(Exception):
    """The twin did something the tracer does not record (a Python branch on a traced value, an
    unsupported NumPy operation)."""


def _full(dtype):
    """The range of ``dtype``'s values, or None (floats)."""
    if dtype.kind == "b":
        return 0, 1
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return int(info.min), int(info.max)
    return None


def _fit(dtype, lo, hi):
    """``[lo, hi]`` if ``dtype`` holds it, else ``dtype``'s whole range (a wrap)."""
    full = _full(dtype)
    if full is None or lo is None or hi is None or lo < full[0] or hi > full[1]:
        return full
    return lo, hi


class _Const:
    """A constant operand: a Python number (weak, as NumPy types it) or a NumPy scalar."""

    def __init__(self, value):
        if isinstance(value, np.ndarray):
            value = value.reshape(-1)[0]
        if isinstance(value, (bool, np.bool_)):
            value = np.bool_(value)
        self.value = value
        self.token = type(value) if type(value) in (int, float) else np.asarray(value).dtype
        number = value.item() if isinstance(value, np.generic) else value
        self.bounds = (int(number), int(number)) if isinstance(number, (int, bool)) else None


class Sym:
    """A symbolic array in a traced twin: one element standing for all of them. Its ``dtype`` is
    NumPy's; ``max()`` and ``min()`` give bounds that every input respects."""

    __array_priority__ = 1000
    ndim, shape, size = 1, (1,), 1

    def __init__(self, graph, op, args, dtype, bounds, attr=None):
        self.graph, self.op, self.args, self.dtype, self.attr = graph, op, args, np.dtype(dtype), attr
        self.bounds = bounds if bounds is not None else _full(self.dtype)
        self.id = len(graph.nodes)
        graph.nodes.append(self)

    # --- what NumPy asks of an array-like
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs:
            raise TraceError(f"{ufunc.__name__}.{method} with {sorted(kwargs)}")
        return self.graph.ufunc(ufunc, inputs)

    def __array_function__(self, func, types, args, kwargs):
        handler = _FUNCTIONS.get(func.__name__)
        if handler is None:
            raise TraceError(f"np.{func.__name__} on a traced value")
        return handler(self.graph, *args, **kwargs)

    def __array__(self, *args, **kwargs):
        raise TraceError("a traced value converted to a concrete array")

    def __bool__(self):
        raise TraceError("a Python branch on a traced value")

    __int__ = __index__ = __float__ = __bool__

    def astype(self, dtype, copy=True):
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        return Sym(self.graph, "cast", (self,), dtype, _cast_bounds(self, dtype))

    def view(self, dtype):
        dtype = np.dtype(dtype)
        if dtype.itemsize != self.dtype.itemsize:
            raise TraceError(f"view of {self.dtype} as {dtype}")
        bounds = self.bounds if self.dtype.kind == "b" and dtype.kind in "iu" else None
        return Sym(self.graph, "view", (self,), dtype, bounds)

    def max(self):
        if self.bounds is None:
            raise TraceError("max() of a float")
        return self.bounds[1]

    def min(self):
        if self.bounds is None:
            raise TraceError("min() of a float")
        return self.bounds[0]

    def clip(self, lo, hi):
        return np.minimum(np.maximum(self, lo), hi)

    def reshape(self, *shape):
        return self

    def copy(self):
        return self

    def lookup_in(self, table):
        """``table[self]`` (:func:`hw.spec.intmath.lookup`)."""
        table = np.ascontiguousarray(table).reshape(-1)
        if table.dtype.kind not in "iu" or table.size == 0:
            raise TraceError(f"a table of {table.dtype}")
        bounds = (int(table.min()), int(table.max()))
        return Sym(self.graph, "take", (self.astype(np.int64),), table.dtype, bounds, attr=self.graph.table(table))


def _binary(name):
    def forward(self, other):
        return getattr(np, name)(self, other)

    def reverse(self, other):
        return getattr(np, name)(other, self)
    return forward, reverse


for _dunder, _ufunc in (("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("lshift", "left_shift"),
                        ("rshift", "right_shift"), ("and", "bitwise_and"), ("or", "bitwise_or"),
                        ("xor", "bitwise_xor")):
    _f, _r = _binary(_ufunc)
    setattr(Sym, f"__{_dunder}__", _f)
    setattr(Sym, f"__r{_dunder}__", _r)
for _dunder, _ufunc in (("lt", "less"), ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal"),
                        ("eq", "equal"), ("ne", "not_equal")):
    setattr(Sym, f"__{_dunder}__", _binary(_ufunc)[0])
Sym.__hash__ = object.__hash__
Sym.__invert__ = lambda self: np.invert(self)
Sym.__neg__ = lambda self: np.negative(self)
Sym.__abs__ = lambda self: np.absolute(self)


def _cast_bounds(sym, dtype):
    if dtype.kind == "b":
        return 0, 1
    if sym.bounds is None or dtype.kind not in "iu":
        return None if dtype.kind not in "iu" else _full(dtype)
    return _fit(dtype, *sym.bounds)


def _bits_bound(hi):
    return (1 << max(int(hi), 0).bit_length()) - 1


def _ufunc_bounds(name, bounds, dtype):
    """Bounds of ``name`` over operand bounds (None where unknown), in result ``dtype``."""
    if dtype.kind == "b":
        return 0, 1
    if dtype.kind not in "iu" or any(b is None for b in bounds):
        return None
    if len(bounds) == 1:
        (lo, hi), = bounds
        if name == "negative":
            return _fit(dtype, -hi, -lo)
        if name == "invert":
            return _fit(dtype, ~hi, ~lo) if dtype.kind == "i" else _fit(dtype, (1 << 64) - 1 - hi, (1 << 64) - 1 - lo) \
                if dtype.itemsize == 8 else _full(dtype)
        if name == "absolute":
            return _fit(dtype, 0 if lo <= 0 <= hi else min(abs(lo), abs(hi)), max(abs(lo), abs(hi)))
        return _full(dtype)
    (alo, ahi), (blo, bhi) = bounds
    width = dtype.itemsize * 8
    if name == "add":
        return _fit(dtype, alo + blo, ahi + bhi)
    if name == "subtract":
        return _fit(dtype, alo - bhi, ahi - blo)
    if name == "multiply":
        corners = [alo * blo, alo * bhi, ahi * blo, ahi * bhi]
        return _fit(dtype, min(corners), max(corners))
    if name in ("maximum", "minimum"):
        pick = max if name == "maximum" else min
        return _fit(dtype, pick(alo, blo), pick(ahi, bhi))
    nonneg = alo >= 0 and blo >= 0
    if name == "bitwise_and" and nonneg:
        return 0, min(ahi, bhi)
    if name in ("bitwise_or", "bitwise_xor") and nonneg:
        return (max(alo, blo) if name == "bitwise_or" else 0), _bits_bound(max(ahi, bhi))
    if name == "left_shift" and alo >= 0 and blo >= 0:
        lo = alo << blo if bhi < width else 0
        return _fit(dtype, lo, ahi << min(bhi, width))
    if name == "right_shift" and alo >= 0 and blo >= 0:
        lo = alo >> bhi if bhi < width else 0
        return _fit(dtype, lo, ahi >> blo if blo < width else 0)
    return _full(dtype)


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


_INT_OPS = {"add": "+", "subtract": "-", "multiply": "*"}
_BIT_OPS = {"bitwise_and": "&", "bitwise_or": "|", "bitwise_xor": "^"}
_COMPARE = {"less": "<", "less_equal": "<=", "greater": ">", "greater_equal": ">=", "equal": "==",
            "not_equal": "!="}
_LOGICAL = {"logical_and": "&&", "logical_or": "||"}


class _Graph:
    """The recorded program: nodes in the order they were computed, tables, inputs, outputs."""

    def __init__(self):
        self.nodes, self.tables, self.inputs = [], [], []

    def input(self, name):
        node = Sym(self, "input", (), np.uint64, None, attr=name)
        self.inputs.append(node)
        return node

    def table(self, array):
        for index, existing in enumerate(self.tables):
            if existing.dtype == array.dtype and np.array_equal(existing, array):
                return index
        self.tables.append(array)
        return len(self.tables) - 1

    def operand(self, value):
        if isinstance(value, Sym):
            return value
        if isinstance(value, np.ndarray) and value.size != 1:
            raise TraceError(f"a constant array of shape {value.shape} beside a traced value")
        return _Const(value)

    def ufunc(self, ufunc, inputs):
        name = ufunc.__name__
        if name not in _INT_OPS and name not in _BIT_OPS and name not in _COMPARE and name not in _LOGICAL \
                and name not in ("left_shift", "right_shift", "invert", "negative", "absolute", "maximum",
                                 "minimum", "logical_not"):
            raise TraceError(f"ufunc {name}")
        operands = [self.operand(i) for i in inputs]
        tokens = tuple(o.dtype if isinstance(o, Sym) else o.token for o in operands)
        try:
            loop = ufunc.resolve_dtypes(tokens + (None,) * ufunc.nout)
        except (TypeError, ValueError) as error:
            raise TraceError(f"{name}{tokens}: {error}") from None
        if ufunc.nout != 1:
            raise TraceError(f"ufunc {name} with {ufunc.nout} outputs")
        out = loop[ufunc.nin]
        bounds = [o.bounds if isinstance(o, Sym) else o.bounds for o in operands]
        cast = [_cast_range(b, o, t) for b, o, t in zip(bounds, operands, loop[:ufunc.nin])]
        return Sym(self, name, tuple(operands), out, _ufunc_bounds(name, cast, out), attr=loop[:ufunc.nin])


def _cast_range(bounds, operand, dtype):
    if bounds is None or np.dtype(dtype).kind not in "iub":
        return None
    if isinstance(operand, Sym):
        return _fit(np.dtype(dtype), *bounds)
    return bounds


def _where(graph, condition, a, b):
    operands = [graph.operand(v) for v in (condition, a, b)]
    dummies = [np.zeros(1, o.dtype) if isinstance(o, Sym) else o.value for o in operands[1:]]
    dtype = np.where(np.zeros(1, bool), *dummies).dtype
    bounds = [_cast_range(o.bounds, o, dtype) for o in operands[1:]]
    merged = None if None in bounds or dtype.kind not in "iu" else (min(bounds[0][0], bounds[1][0]),
                                                                      max(bounds[0][1], bounds[1][1]))
    cond = operands[0] if isinstance(operands[0], Sym) else None
    if cond is None:                        # a constant condition: one of the branches
        chosen = operands[1] if operands[0].value else operands[2]
        return chosen if isinstance(chosen, Sym) else np.asarray(chosen.value).astype(dtype)
    return Sym(graph, "where", (cond.astype(bool), *operands[1:]), dtype, merged)


def _broadcast_to(graph, array, shape, subok=False):
    return array


def _clip(graph, a, lo, hi, out=None, **kwargs):
    return np.minimum(np.maximum(a, lo), hi)


def _any(graph, a, axis=None, out=None, keepdims=False, **kwargs):
    return False                           # the twins' overflow checks: see the module docstring


def _shape(graph, a):
    return (1,)


_FUNCTIONS = {"where": _where, "broadcast_to": _broadcast_to, "clip": _clip, "any": _any, "shape": _shape}


@functools.lru_cache(maxsize=None)
def _unsigned(dtype):
    return _ctype(np.dtype(f"u{np.dtype(dtype).itemsize}")) if np.dtype(dtype).kind in "iu" else None


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


class _Writer:
    """C text of a recorded program."""

    def __init__(self, graph):
        self.graph, self.lines = graph, []

    def ref(self, operand, dtype):
        """``operand`` cast to ``dtype`` as a C expression."""
        if isinstance(operand, Sym):
            return _convert(f"v{operand.id}", operand.dtype, dtype)
        return _literal(operand.value, dtype)

    def expr(self, node):
        op, args = node.op, node.args
        if op == "input":
            return f"in_{node.attr}[i]"
        if op == "cast":
            return _convert(f"v{args[0].id}", args[0].dtype, node.dtype)
        if op == "view":
            return f"{_view_name(args[0].dtype, node.dtype)}(v{args[0].id})"
        if op == "take":
            return f"(({_ctype(node.dtype)})table{node.attr}[v{args[0].id}])"
        if op == "where":
            return f"(v{args[0].id} ? {self.ref(args[1], node.dtype)} : {self.ref(args[2], node.dtype)})"
        loop = node.attr
        refs = [self.ref(a, t) for a, t in zip(args, loop)]
        out, kind = _ctype(node.dtype), np.dtype(loop[0]).kind
        if op in _COMPARE:
            return self.compare(op, loop, refs)
        if op in _LOGICAL:
            return f"((uint8_t)(({refs[0]} != 0) {_LOGICAL[op]} ({refs[1]} != 0)))"
        if op == "logical_not":
            return f"((uint8_t)(({refs[0]}) == 0))"
        if kind == "b":
            symbol = {"add": "|", "multiply": "&", "maximum": "|", "minimum": "&", **_BIT_OPS}.get(op)
            if op == "invert":
                return f"((uint8_t)!({refs[0]}))"
            if symbol is None:
                raise TraceError(f"{op} on booleans")
            return f"((uint8_t)({refs[0]} {symbol} {refs[1]}))"
        if kind == "f":
            if op in _INT_OPS:
                return f"({refs[0]} {_INT_OPS[op]} {refs[1]})"
            if op in ("maximum", "minimum"):
                pick = ">=" if op == "maximum" else "<="
                a, b = refs
                return f"(({a}) != ({a}) ? ({a}) : ({b}) != ({b}) ? ({b}) : ({a}) {pick} ({b}) ? ({a}) : ({b}))"
            if op == "negative":
                return f"(-{refs[0]})"
            if op == "absolute":
                return f"fabs({refs[0]})"
            raise TraceError(f"{op} on floats")
        width = np.dtype(loop[0]).itemsize * 8
        if op in _INT_OPS:
            return f"(({out})((uint64_t){refs[0]} {_INT_OPS[op]} (uint64_t){refs[1]}))"
        if op in _BIT_OPS:
            return f"(({out})({refs[0]} {_BIT_OPS[op]} {refs[1]}))"
        if op in ("maximum", "minimum"):
            pick = ">=" if op == "maximum" else "<="
            return f"(({refs[0]}) {pick} ({refs[1]}) ? ({refs[0]}) : ({refs[1]}))"
        if op == "left_shift":
            a, b = refs
            return f"((uint64_t)({b}) < {width} ? ({out})((uint64_t)({a}) << ({b})) : ({out})0)"
        if op == "right_shift":
            a, b = refs
            low = f"(({a}) < 0 ? ({out})-1 : ({out})0)" if kind == "i" else f"({out})0"
            return f"((uint64_t)({b}) < {width} ? ({out})(({a}) >> ({b})) : {low})"
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
        symbol = _COMPARE[op]
        if {ka, kb} == {"i", "u"}:          # NumPy compares signed with unsigned exactly
            negative = f"({a}) < 0" if ka == "i" else f"({b}) < 0"
            a_smaller = ka == "i"           # where the signed side is negative
            outcome = {"less": a_smaller, "less_equal": a_smaller, "greater": not a_smaller,
                       "greater_equal": not a_smaller, "equal": False, "not_equal": True}[op]
            return f"((uint8_t)({negative} ? {int(outcome)} : ((uint64_t)({a}) {symbol} (uint64_t)({b}))))"
        return f"((uint8_t)({a} {symbol} {b}))"

    def text(self, outputs):
        graph = self.graph
        lines = ["#include <stdint.h>", "#include <string.h>", "#include <math.h>", ""]
        views = {(n.args[0].dtype, n.dtype) for n in graph.nodes if n.op == "view"}
        for src, dst in sorted(views, key=str):
            cdst = _ctype(dst)
            lines.append(f"static inline {cdst} {_view_name(src, dst)}({_ctype(src)} v) "
                         f"{{ {cdst} r; memcpy(&r, &v, sizeof r); return r; }}")
        for index, table in enumerate(graph.tables):
            values = ", ".join(_literal(int(v), table.dtype) for v in table)
            lines.append(f"static const {_ctype(table.dtype)} table{index}[{table.size}] = {{{values}}};")
        params = ["int64_t n"] + [f"const uint64_t *in_{node.attr}" for node in graph.inputs]
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


_TRACE_LOCK = threading.Lock()


def _record(function, names):
    """``function(**operands)`` recorded on symbolic uint64 operands ``names``: ``(C text, the
    outputs' dtypes)``. Integer outputs are returned as uint64 (NumPy's cast), others as they are."""
    graph = _Graph()
    operands = {name: graph.input(name) for name in names}
    asarray = np.asarray

    def symbolic_asarray(a, dtype=None, **kwargs):
        if isinstance(a, Sym):
            return a if dtype is None else a.astype(dtype)
        return asarray(a, dtype=dtype, **kwargs)

    with _TRACE_LOCK:
        np.asarray = symbolic_asarray
        try:
            result = function(**operands)
        finally:
            np.asarray = asarray
    outputs = []
    for value in result if isinstance(result, tuple) else (result,):
        value = value if isinstance(value, Sym) else graph.operand(np.asarray(value))
        dtype = value.dtype if isinstance(value, Sym) else np.asarray(value.value).dtype
        outputs.append((value, np.dtype(np.uint64) if dtype.kind in "iu" else dtype))
    return _Writer(graph).text(outputs), [dtype for _, dtype in outputs]


def trace(config):
    """``config``'s twin recorded: ``(C text, the outputs' dtypes, the operand names)``."""
    names = list(config.operands)
    function = twin(config)
    text, dtypes = _record(lambda **operands: function(config, **operands), names)
    return text, dtypes, names


def _compiler():
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


_FLAGS = ("-O2", "-fPIC", "-shared", "-fwrapv", "-ffp-contract=off", "-fno-strict-aliasing")


def _build(text):
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
    outputs, each shaped like the operands (converted to uint64 first), computed in blocks of
    ``block`` elements on ``workers`` threads (the compiled loop runs without the GIL)."""

    def __init__(self, library, names, out_dtypes):
        self.names, self.out_dtypes = names, out_dtypes
        self.function = library.run
        self.function.restype = None

    def __call__(self, workers=1, block=BLOCK, **operands):
        given = [np.ascontiguousarray(np.asarray(operands[name]).astype(np.uint64)) for name in self.names]
        shape = given[0].shape
        flat = [g.reshape(-1) for g in given]
        n = flat[0].size
        outs = [np.empty(n, dtype) for dtype in self.out_dtypes]

        def run(start):
            count = min(block, n - start)
            pointers = [ctypes.c_void_p(a.ctypes.data + a.itemsize * start) for a in flat + outs]
            self.function(ctypes.c_int64(count), *pointers)

        starts = range(0, n, block)
        if workers > 1 and len(starts) > 1:
            with ThreadPoolExecutor(min(workers, len(starts))) as pool:
                list(pool.map(run, starts))
        else:
            for start in starts:
                run(start)
        return tuple(o.reshape(shape) for o in outs)


def compile_function(function, names):
    """``function`` (NumPy operations on uint64 operands ``names``, elementwise) recorded and
    compiled: a :class:`Program`. Raises :class:`TraceError` or ``OSError``."""
    text, dtypes = _record(function, names)
    return Program(_build(text), names, dtypes)


class CompiledTwin(Program):
    """``config``'s twin compiled: ``program(workers=1, **operands) -> (y, flag)``, the results of
    :func:`golden.eval.evaluate` (``flag`` None for float formats)."""

    def __init__(self, config):
        text, dtypes, names = trace(config)
        super().__init__(_build(text), names, dtypes)
        self.config = config

    def __call__(self, workers=1, block=BLOCK, **operands):
        outs = super().__call__(workers, block, **operands)
        y = outs[0].astype(out_dtype(self.config.out_width))
        return y, (outs[1].astype(bool) if len(outs) > 1 else None)


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
