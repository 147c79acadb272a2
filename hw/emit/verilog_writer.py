"""Clean, lint-free Verilog-2005 from a flattened Yosys netlist (:func:`hw.emit.netlist.flat_netlist`).

:func:`write_verilog` writes one module:

* the ports in the order given, each declared on its own line with a comment;
* every combinational cell as one ``wire [W-1:0] name = expression;`` in data-flow order, each
  operand sized explicitly to the width of its operation (no implicit extension or truncation,
  so Verilator ``-Wall`` has no width warning to give);
* the flip-flops in ``always @(posedge clk)`` blocks grouped by enable and reset: the unit's
  synchronous reset ``rst`` appears only where the netlist resets a register with it;
* ROMs as ``case`` statements in clocked ``always`` blocks (read register included), so they
  need no memory initialisation; a ROM the design asks to be block RAM (``ram_style``) as an
  array with that attribute, filled in an ``initial`` block and read in a clocked block, the form
  FPGA synthesis (Yosys, Vivado, Quartus) maps to block RAM (with ``init=False``, for ASIC flows,
  the ``case`` form);
* register initial values in one ``initial`` block, or none with ``init=False`` (ASIC flows);
* the bits of intermediate results that no output depends on gathered into one ``unused_bits``
  wire, the name Verilator's ``UNUSED`` lint recognises as deliberately unused.

Signals keep the names of the Amaranth design where the netlist has one (hierarchy separators
become ``_``, a leading ``unit.`` is dropped); the others are numbered ``n1, n2, ...``
(combinational) and ``r1, r2, ...`` (registers). The output is deterministic.
"""
import heapq
import re
from dataclasses import dataclass, field

__all__ = ["write_verilog", "VerilogPort", "UnsupportedCell"]

# Verilog-2005 reserved words a signal name must not take.
KEYWORDS = frozenset("""
always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign
default defparam design disable edge else end endcase endconfig endfunction endgenerate endmodule
endprimitive endspecify endtable endtask event for force forever fork function generate genvar
highz0 highz1 if ifnone incdir include initial inout input instance integer join large liblist
library localparam macromodule medium module nand negedge nmos nor noshowcancelled not notif0
notif1 or output parameter pmos posedge primitive pull0 pull1 pulldown pullup
pulsestyle_onevent pulsestyle_ondetect rcmos real realtime reg release repeat rnmos rpmos rtran
rtranif0 rtranif1 scalared showcancelled signed small specify specparam strong0 strong1 supply0
supply1 table task time tran tranif0 tranif1 tri tri0 tri1 triand trior trireg unsigned use
uwire vectored wait wand weak0 weak1 while wire wor xnor xor""".split())

# Cells whose result bit i depends only on operand bits 0..i: operands are fitted to Y_WIDTH.
LSB_FIRST_BINARY = {"$add": "+", "$sub": "-", "$mul": "*", "$and": "&", "$or": "|", "$xor": "^",
                    "$xnor": "~^"}
LSB_FIRST_UNARY = {"$not": "~", "$neg": "-", "$pos": ""}
COMPARE = {"$eq": "==", "$ne": "!=", "$lt": "<", "$le": "<=", "$gt": ">", "$ge": ">="}
REDUCE = {"$reduce_or": "|", "$reduce_bool": "|", "$reduce_and": "&", "$reduce_xor": "^",
          "$reduce_xnor": "~^", "$logic_not": "~|"}
LOGIC = {"$logic_and": "&&", "$logic_or": "||"}
SHIFT_LEFT = {"$shl", "$sshl"}
SHIFT_RIGHT = {"$shr", "$sshr", "$shift", "$shiftx"}
FLIP_FLOPS = {"$dff", "$dffe", "$sdff", "$sdffe", "$sdffce"}
ONE_BIT_RESULT = set(COMPARE) | set(REDUCE) | set(LOGIC)
IGNORED = {"$scopeinfo"}


class UnsupportedCell(ValueError):
    """The netlist holds a cell (or a cell variant) this writer does not translate."""


@dataclass(frozen=True)
class VerilogPort:
    """One port of the written module: ``direction`` is ``"input"`` or ``"output"``."""
    name: str
    direction: str
    width: int
    comment: str = ""


@dataclass(eq=False)
class _Vector:
    """A word the module computes: an input port, a cell's result or a register."""
    index: int
    kind: str                     # "input", "comb", "ff", "rom"
    width: int
    cell: dict = None
    read_port: int = 0            # rom: which read port of the memory
    name: str = None
    is_port: bool = False
    used: set = field(default_factory=set)


def _int(value):
    return int(value, 2) if isinstance(value, str) else int(value)


def _const_bits(value, width):
    """An RTLIL/JSON constant (MSB-first string) as an LSB-first list of '0'/'1' (x -> 0)."""
    if isinstance(value, str):
        text = value.rjust(width, "0")[-width:]
    else:
        text = format(value, f"0{width}b")
    return ["1" if c == "1" else "0" for c in reversed(text)]


def _literal(bits):
    """An LSB-first list of '0'/'1' as a sized Verilog literal."""
    width = len(bits)
    value = int("".join(reversed(bits)), 2)
    return f"1'b{value}" if width == 1 else f"{width}'h{value:x}"


def _range(width):
    return f"[{width - 1}:0] " if width > 1 else ""


class _Writer:
    def __init__(self, module, name, ports, strip_prefixes):
        self.module, self.name, self.ports = module, name, ports
        self.strip_prefixes = strip_prefixes
        self.vectors = []
        self.driver = {}          # net bit -> (vector, index)
        self.constant = {}        # net bit -> '0' (upper result bits of one-bit cells)
        self.memories = {}        # memory cell -> its array's name (ROMs written as arrays)
        self.port_bits = {p: module["ports"][p.name]["bits"] for p in ports}
        self._check_ports()
        self._collect_vectors()
        self._order()
        self._name_vectors()

    # -- structure ---------------------------------------------------------------------------
    def _check_ports(self):
        names = [p.name for p in self.ports]
        netlist = list(self.module["ports"])
        if sorted(names) != sorted(netlist):
            raise ValueError(f"ports {names} do not match the netlist's ports {netlist}")

    def _add(self, kind, width, bits, cell=None, read_port=0):
        vector = _Vector(len(self.vectors), kind, width, cell, read_port)
        self.vectors.append(vector)
        for i, bit in enumerate(bits):
            if isinstance(bit, int):
                self.driver[bit] = (vector, i)
        return vector

    def _collect_vectors(self):
        for port in self.ports:
            if port.direction == "input":
                vector = self._add("input", port.width, self.port_bits[port])
                vector.name, vector.is_port = port.name, True
        for cell_name, cell in self.module["cells"].items():
            kind, p, c = cell["type"], cell["parameters"], cell["connections"]
            if kind in IGNORED:
                continue
            cell = dict(cell, name=cell_name)
            if kind in FLIP_FLOPS:
                self._add("ff", _int(p["WIDTH"]), c["Q"], cell)
            elif kind == "$mem_v2":
                self._check_rom(cell)
                width = _int(p["WIDTH"])
                for port in range(_int(p["RD_PORTS"])):
                    self._add("rom", width, c["RD_DATA"][port * width:(port + 1) * width],
                              cell, port)
            elif kind in ONE_BIT_RESULT:
                self._add("comb", 1, c["Y"][:1], cell)
                for bit in c["Y"][1:]:
                    self.constant[bit] = "0"
            elif kind in SHIFT_RIGHT:
                self._add("comb", max(_int(p["A_WIDTH"]), _int(p["Y_WIDTH"])), c["Y"], cell)
            elif kind in LSB_FIRST_BINARY or kind in LSB_FIRST_UNARY or kind in SHIFT_LEFT:
                self._add("comb", _int(p["Y_WIDTH"]), c["Y"], cell)
            elif kind in ("$mux", "$pmux"):
                self._add("comb", _int(p["WIDTH"]), c["Y"], cell)
            else:
                raise UnsupportedCell(f"cell {cell_name} of type {kind} is not supported by the "
                                      f"Verilog writer")

    def _check_rom(self, cell):
        p, c = cell["parameters"], cell["connections"]
        problems = []
        if _int(p["WR_PORTS"]):
            problems.append("has write ports")
        if _int(p["OFFSET"]):
            problems.append("has an address offset")
        ports = _int(p["RD_PORTS"])
        if _const_bits(p["RD_CLK_ENABLE"], ports) != ["1"] * ports:
            problems.append("has an asynchronous read port")
        if _const_bits(p["RD_WIDE_CONTINUATION"], ports) != ["0"] * ports:
            problems.append("has a wide read port")
        if any(bit != "0" for bit in c["RD_ARST"] + c["RD_SRST"]):
            problems.append("has a read port reset")
        if problems:
            raise UnsupportedCell(f"memory {cell['name']} {' and '.join(problems)}; only ROMs "
                                  f"with synchronous read ports are supported")

    def _resolve(self, bit):
        """``("c", "0"|"1")`` for a constant, else ``("v", vector, index)``."""
        if isinstance(bit, str):
            return ("c", "1" if bit == "1" else "0")
        if bit in self.constant:
            return ("c", self.constant[bit])
        if bit not in self.driver:
            raise ValueError(f"net bit {bit} of module {self.name} has no driver")
        vector, index = self.driver[bit]
        return ("v", vector, index)

    def _inputs(self, vector):
        """The net bits a vector's value depends on, for the data-flow order (registers: data
        only, so that the order follows the pipeline)."""
        c = vector.cell["connections"]
        if vector.kind == "ff":
            return c["D"]
        if vector.kind == "rom":
            abits = _int(vector.cell["parameters"]["ABITS"])
            return c["RD_ADDR"][vector.read_port * abits:(vector.read_port + 1) * abits]
        return [bit for port, bits in c.items()
                if vector.cell["port_directions"][port] == "input" for bit in bits]

    def _order(self):
        """Data-flow order (Kahn's algorithm, ties by netlist order). Cycles can only pass
        through registers (the netlist has no combinational loops); they are broken there."""
        nodes = [v for v in self.vectors if v.kind != "input"]
        deps = {v.index: set() for v in nodes}
        users = {v.index: set() for v in nodes}
        for v in nodes:
            for bit in self._inputs(v):
                if isinstance(bit, int) and bit in self.driver:
                    source = self.driver[bit][0]
                    if source.kind != "input" and source is not v:
                        deps[v.index].add(source.index)
                        users[source.index].add(v.index)
        ready = [i for i, d in deps.items() if not d]
        heapq.heapify(ready)
        done, order = set(), []
        while len(order) < len(nodes):
            if not ready:
                stuck = [v.index for v in nodes if v.index not in done and v.kind != "comb"]
                if not stuck:
                    raise ValueError(f"module {self.name} has a combinational loop")
                ready = [min(stuck)]
            index = heapq.heappop(ready)
            if index in done:
                continue
            done.add(index)
            order.append(self.vectors[index])
            for user in users[index]:
                deps[user].discard(index)
                if not deps[user] and user not in done:
                    heapq.heappush(ready, user)
        self.order = order

    # -- names -------------------------------------------------------------------------------
    def _sanitize(self, raw):
        for prefix in self.strip_prefixes:
            if raw.startswith(prefix):
                raw = raw[len(prefix):]
                break
        name = re.sub(r"[^A-Za-z0-9_]+", "_", raw).strip("_") or "n"
        if name[0].isdigit():
            name = "n" + name
        return name + "_" if name in KEYWORDS else name

    def _match(self, bits, vector):
        """How well netname ``bits`` names ``vector``: 0 exact, 1 the name extends the vector
        (sign or zero extension, as Yosys narrows words), 2 it covers a right shift's result
        bits; None if it does not name it."""
        width = min(len(bits), vector.width)
        for i in range(width):
            bit = bits[i]
            if not isinstance(bit, int) or self.driver.get(bit) != (vector, i):
                return None
        if len(bits) == vector.width:
            return 0
        if len(bits) > vector.width:
            return 1
        if vector.kind == "comb" and vector.cell["type"] in SHIFT_RIGHT \
                and len(bits) == len(vector.cell["connections"]["Y"]):
            return 2
        return None

    def _name_vectors(self):
        taken = {p.name for p in self.ports}
        for port in self.ports:
            if port.direction != "output":
                continue
            bits = self.port_bits[port]
            first = self._resolve(bits[0])
            if first[0] == "v" and first[1].kind != "input" and not first[1].is_port \
                    and self._match(bits, first[1]) == 0:
                first[1].name, first[1].is_port = port.name, True
        candidates = {}
        for raw, net in self.module["netnames"].items():
            if net["hide_name"] or not net["bits"] or not isinstance(net["bits"][0], int):
                continue
            resolved = self.driver.get(net["bits"][0])
            if resolved is None or resolved[1] != 0 or resolved[0].name is not None:
                continue
            quality = self._match(net["bits"], resolved[0])
            if quality is not None:
                name = self._sanitize(raw)
                candidates.setdefault(resolved[0].index, []).append((quality, len(name), name))
        counters = {"comb": 0, "ff": 0, "rom": 0}
        for vector in self.order:
            if vector.name is not None:
                continue
            options = sorted(candidates.get(vector.index, []))
            if options:
                base = options[0][2]
            else:
                counters[vector.kind] += 1
                base = f"{'n' if vector.kind == 'comb' else 'r'}{counters[vector.kind]}"
                if vector.kind == "rom":
                    base = f"rom_data{counters['rom']}"
            name, suffix = base, 1
            while name in taken:
                suffix += 1
                name = f"{base}_{suffix}"
            taken.add(name)
            vector.name = name

    # -- expressions -------------------------------------------------------------------------
    def expr(self, bits):
        """A Verilog expression of net ``bits`` (LSB first); records the bits used."""
        runs = []   # LSB first: ["c", bits] | ["s", vector, lo, hi] | ["r", vector, index, count]
        for bit in bits:
            r = self._resolve(bit)
            last = runs[-1] if runs else None
            if r[0] == "c":
                if last and last[0] == "c":
                    last[1].append(r[1])
                else:
                    runs.append(["c", [r[1]]])
                continue
            vector, index = r[1], r[2]
            if last and last[0] == "s" and last[1] is vector and index == last[3] + 1:
                last[3] = index
            elif last and last[0] == "s" and last[1] is vector and last[2] == last[3] == index:
                runs[-1] = ["r", vector, index, 2]
            elif last and last[0] == "r" and last[1] is vector and last[2] == index:
                last[3] += 1
            else:
                runs.append(["s", vector, index, index])
        parts = [self._run(run) for run in reversed(runs)]
        return parts[0] if len(parts) == 1 else "{" + ", ".join(parts) + "}"

    def _ref(self, vector, lo, hi):
        vector.used.update(range(lo, hi + 1))
        if vector.width == 1 or (lo == 0 and hi == vector.width - 1):
            return vector.name
        return f"{vector.name}[{lo}]" if lo == hi else f"{vector.name}[{hi}:{lo}]"

    def _run(self, run):
        if run[0] == "c":
            return _literal(run[1])
        if run[0] == "s":
            return self._ref(run[1], run[2], run[3])
        return f"{{{run[3]}{{{self._ref(run[1], run[2], run[2])}}}}}"

    @staticmethod
    def fit(bits, width, signed):
        """``bits`` truncated or extended (sign or zero) to ``width``."""
        bits = list(bits[:width])
        return bits + [bits[-1] if signed and bits else "0"] * (width - len(bits))

    def _signedness(self, cell):
        p = cell["parameters"]
        a, b = _int(p["A_SIGNED"]), _int(p["B_SIGNED"])
        if a != b:
            raise UnsupportedCell(f"cell {cell['name']} ({cell['type']}) mixes a signed and an "
                                  f"unsigned operand")
        return bool(a)

    def comb_expr(self, vector):
        cell = vector.cell
        kind, p, c = cell["type"], cell["parameters"], cell["connections"]
        if kind in LSB_FIRST_BINARY:
            signed = self._signedness(cell)
            a = self.expr(self.fit(c["A"], vector.width, signed))
            b = self.expr(self.fit(c["B"], vector.width, signed))
            if signed and kind in ("$add", "$sub", "$mul"):
                return f"$signed({a}) {LSB_FIRST_BINARY[kind]} $signed({b})"
            return f"{a} {LSB_FIRST_BINARY[kind]} {b}"
        if kind in LSB_FIRST_UNARY:
            signed = bool(_int(p["A_SIGNED"]))
            a = self.expr(self.fit(c["A"], vector.width, signed))
            if kind == "$neg" and signed:
                return f"-$signed({a})"
            return f"{LSB_FIRST_UNARY[kind]}{a}"
        if kind in SHIFT_LEFT or kind in SHIFT_RIGHT:
            if _int(p["B_SIGNED"]):
                raise UnsupportedCell(f"cell {cell['name']} ({kind}) has a signed shift amount")
            signed = bool(_int(p["A_SIGNED"]))
            a = self.expr(self.fit(c["A"], vector.width, signed))
            b = self.expr(c["B"])
            if kind in SHIFT_LEFT:
                return f"{a} << {b}"
            if kind == "$sshr" and signed:
                return f"$signed({a}) >>> {b}"
            return f"{a} >> {b}"
        if kind in COMPARE:
            signed = self._signedness(cell)
            width = max(len(c["A"]), len(c["B"]))
            a = self.expr(self.fit(c["A"], width, signed))
            b = self.expr(self.fit(c["B"], width, signed))
            if signed and kind not in ("$eq", "$ne"):
                return f"$signed({a}) {COMPARE[kind]} $signed({b})"
            return f"{a} {COMPARE[kind]} {b}"
        if kind in REDUCE:
            return f"{REDUCE[kind]}{self.expr(c['A'])}"
        if kind in LOGIC:
            return f"(|{self.expr(c['A'])}) {LOGIC[kind]} (|{self.expr(c['B'])})"
        if kind == "$mux":
            return f"{self.expr(c['S'])} ? {self.expr(c['B'])} : {self.expr(c['A'])}"
        width, select = vector.width, c["S"]
        terms = [f"{self.expr(select[i:i + 1])} ? {self.expr(c['B'][i * width:(i + 1) * width])}"
                 for i in range(len(select))]
        return " : ".join(terms + [self.expr(c["A"])])

    # -- registers ---------------------------------------------------------------------------
    def _condition(self, bits, polarity):
        signal = self.expr(bits)
        return signal if _int(polarity) else f"~{signal}"

    def ff_statement(self, vector):
        """``((clock, enable, reset), reset value, data expression)`` of a flip-flop; flip-flops
        with the same key share an ``always`` block. A reset that only acts when enabled
        (``$sdffce``) is folded into the data expression."""
        cell = vector.cell
        kind, p, c = cell["type"], cell["parameters"], cell["connections"]
        clock = (self.expr(c["CLK"]), _int(p["CLK_POLARITY"]))
        enable = self._condition(c["EN"], p["EN_POLARITY"]) if "EN" in c else None
        data = self.expr(c["D"])
        reset = value = None
        if kind in ("$sdff", "$sdffe", "$sdffce"):
            value = _literal(_const_bits(p["SRST_VALUE"], vector.width))
            condition = self._condition(c["SRST"], p["SRST_POLARITY"])
            if kind == "$sdffce":      # reset only when enabled: part of the data
                data = f"{condition} ? {value} : {data}"
            else:
                reset = condition
        return (clock, enable, reset), value, data

    def rom_block(self, vector, array=False):
        """The lines of a ROM read port: a ``case`` on the address in a clocked block, or with
        ``array`` (for a memory with a ``ram_style`` attribute) an attributed array filled in an
        ``initial`` block and read in a clocked block."""
        cell = vector.cell
        p, c = cell["parameters"], cell["connections"]
        width, abits, size = vector.width, _int(p["ABITS"]), _int(p["SIZE"])
        port = vector.read_port
        init = _const_bits(p["INIT"], size * width)
        words = [_literal(init[word * width:(word + 1) * width]) for word in range(size)]
        enable = self._condition(c["RD_EN"][port:port + 1], "1")
        address = self.expr(c["RD_ADDR"][port * abits:(port + 1) * abits])
        clock = self.expr(c["RD_CLK"][port:port + 1])
        polarity = _const_bits(p["RD_CLK_POLARITY"], _int(p["RD_PORTS"]))[port]
        edge = "posedge" if polarity == "1" else "negedge"
        lines, indent = [], "    "
        if array:
            words += [_literal(["0"] * width)] * ((1 << abits) - size)
            declared = cell["name"] in self.memories
            memory = self.memories.setdefault(cell["name"], f"{vector.name}_mem")
            style = cell["attributes"]["ram_style"]
            lines += [] if declared else [f'  (* ram_style = "{style}" *)',
                      f"  reg {_range(width)}{memory} [0:{len(words) - 1}];",
                      "  initial begin",
                      *(f"    {memory}[{word}] = {value};" for word, value in enumerate(words)),
                      "  end"]
        lines.append(f"  always @({edge} {clock}) begin")
        if enable != "1'b1":
            lines.append(f"    if ({enable}) begin")
            indent = "      "
        if array:
            lines.append(f"{indent}{vector.name} <= {memory}[{address}];")
        else:
            lines.append(f"{indent}case ({address})")
            for word, value in enumerate(words):
                lines.append(f"{indent}  {_literal(_const_bits(word, abits))}: {vector.name} <= {value};")
            if size < 1 << abits:
                lines.append(f"{indent}  default: {vector.name} <= {_literal(['0'] * width)};")
            lines.append(f"{indent}endcase")
        if enable != "1'b1":
            lines.append("    end")
        lines.append("  end")
        return lines


def _ff_group_lines(key, members):
    (clock, polarity), enable, reset = key
    edge = "posedge" if polarity else "negedge"
    lines = [f"  always @({edge} {clock}) begin"]
    if reset is not None:
        lines.append(f"    if ({reset}) begin")
        lines += [f"      {name} <= {value};" for name, value, _ in members]
        lines.append(f"    end else if ({enable}) begin" if enable else "    end else begin")
        lines += [f"      {name} <= {data};" for name, _, data in members]
        lines.append("    end")
    elif enable is not None:
        lines.append(f"    if ({enable}) begin")
        lines += [f"      {name} <= {data};" for name, _, data in members]
        lines.append("    end")
    else:
        lines += [f"    {name} <= {data};" for name, _, data in members]
    lines.append("  end")
    return lines


def _init_values(module):
    """Net bit -> initial value ('0'/'1') from the netlist's ``init`` attributes."""
    values = {}
    for net in module["netnames"].values():
        init = net["attributes"].get("init")
        if init is None:
            continue
        for bit, value in zip(net["bits"], reversed(init.rjust(len(net["bits"]), "x"))):
            if isinstance(bit, int) and value in "01":
                values[bit] = value
    return values


def write_verilog(module, name, ports, header=(), init=True, strip_prefixes=("unit.",)):
    """Verilog-2005 text of the Yosys JSON ``module`` as module ``name``.

    ``ports``: every port of the netlist as :class:`VerilogPort`, in the order wanted;
    ``header``: comment lines put first; ``init``: give registers their initial values (an
    ``initial`` block); ``strip_prefixes``: name prefixes dropped (the wrapped unit's instance).
    Raises :class:`UnsupportedCell` for a cell it cannot translate.
    """
    w = _Writer(module, name, list(ports), strip_prefixes)
    declarations, logic, blocks = [], [], []
    groups = {}
    for vector in w.order:
        if vector.kind == "comb":
            expression = w.comb_expr(vector)
            if vector.is_port:
                logic.append(f"  assign {vector.name} = {expression};")
            else:
                logic.append(f"  wire {_range(vector.width)}{vector.name} = {expression};")
            continue
        if not vector.is_port:
            declarations.append(f"  reg {_range(vector.width)}{vector.name};")
        if vector.kind == "rom":
            array = init and "ram_style" in vector.cell["attributes"]
            blocks.append(("rom", w.rom_block(vector, array)))
        else:
            key, value, data = w.ff_statement(vector)
            if key not in groups:
                groups[key] = []
                blocks.append(("group", key))
            groups[key].append((vector.name, value, data))
    outputs = []
    for port in w.ports:
        if port.direction == "output" and not any(v.is_port and v.name == port.name
                                                  for v in w.vectors if v.kind != "input"):
            outputs.append(f"  assign {port.name} = {w.expr(w.port_bits[port])};")
    initial = []
    if init:
        values = _init_values(module)
        for vector in w.order:
            if vector.kind in ("ff", "rom"):
                bits = vector.cell["connections"]["Q" if vector.kind == "ff" else "RD_DATA"]
                bits = bits[vector.read_port * vector.width:][:vector.width]
                if all(isinstance(b, int) and b in values for b in bits):
                    initial.append(f"    {vector.name} = {_literal([values[b] for b in bits])};")
    unused = []
    for vector in [v for v in w.vectors if v.kind == "input"] + w.order:
        if not (vector.is_port and vector.kind != "input"):
            unused += _unused_slices(vector)
    return _assemble(w, header, declarations, logic, outputs, blocks, groups, initial, unused)


def _unused_slices(vector):
    """References to the runs of bits of ``vector`` that no expression uses."""
    slices, index = [], 0
    while index < vector.width:
        if index in vector.used:
            index += 1
            continue
        end = index
        while end + 1 < vector.width and end + 1 not in vector.used:
            end += 1
        if vector.width == 1:
            slices.append(vector.name)
        else:
            slices.append(f"{vector.name}[{index}]" if end == index
                          else f"{vector.name}[{end}:{index}]")
        index = end + 1
    return slices


def _assemble(w, header, declarations, logic, outputs, blocks, groups, initial, unused):
    reg_ports = {v.name for v in w.vectors if v.is_port and v.kind in ("ff", "rom")}
    lines = [f"// {line}".rstrip() for line in header]
    lines.append(f"module {w.name} ({', '.join(p.name for p in w.ports)});")
    for port in w.ports:
        kind = "reg" if port.name in reg_ports else "wire"
        text = f"  {port.direction} {kind} {_range(port.width)}{port.name};"
        lines.append(f"{text:<40}// {port.comment}" if port.comment else text)
    if declarations:
        lines += ["", "  // Registers"] + declarations
    if logic or outputs:
        lines += ["", "  // Combinational logic, in data-flow order"] + logic + outputs
    for block in blocks:
        lines.append("")
        lines += _ff_group_lines(block[1], groups[block[1]]) if block[0] == "group" else block[1]
    if initial:
        lines += ["", "  // Initial register values (power-up state on FPGAs; "
                      "not needed after rst)", "  initial begin", *initial, "  end"]
    if unused:
        lines += ["", "  // Bits of intermediate words that no output depends on, gathered so that",
                  "  // lint tools see them used (Verilator: names containing 'unused' are exempt)",
                  f"  wire unused_bits = ^{{{', '.join(unused)}}};"]
    lines.append("endmodule")
    return "\n".join(lines) + "\n"
