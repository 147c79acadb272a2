"""Static timing of an iCE40UP5K design from nextpnr's SDF, with the SB_MAC16 delays nextpnr leaves out.

nextpnr-ice40 models every SB_MAC16 port as registered (about 0.1 ns clock-to-out and setup), so a
multiplier used combinationally between fabric registers is not timed at all. :func:`analyze`
re-times the routed design: it reads the SDF nextpnr wrote (``--sdf``: cell arcs ``IOPATH``,
setup checks ``SETUPHOLD``, routing ``INTERCONNECT``; the slow corner, i.e. the largest number of
each ``(min:typ:max)`` triple), replaces the arcs of every DSP by those of the configuration Yosys
chose (read from the SB_MAC16 parameters of the Yosys JSON netlist, :func:`dsp_modes`), and finds
the longest register-to-register path. Without a DSP the result is nextpnr's own Fmax (ideal
clock: no clock-network skew, as nextpnr reports it). With ``dsp=False`` (nextpnr's DSP model kept)
the figure can be slightly below nextpnr's for a design with DSPs, because this analysis also
checks the 0.1 ns setup at the DSP inputs, which nextpnr's report does not.

Estimates beyond the table (each reported in ``caveats``): registered inputs with a
combinational output (clock -> ``O`` taken as the combinational multiplier arc), an output after
the DSP's intermediate register (clock -> ``O`` 2.01), unregistered ``C``/``D`` into the output
register (setup taken as the post-adder arc).

SB_MAC16 figures (ns, Project IceStorm ``timings_up5k.txt``, slow corner; see
``/work/shared/reference/ice40-up5k-timing.md``):

- all registers bypassed, 16x16: ``A -> O`` 8.88, ``B -> O`` 9.05; 8x8 mode: 5.71 / 5.96;
- inputs not registered, an internal (pipeline or output) register used: setup of ``A`` / ``B``
  into that register 6.34 / 6.50;
- output register used: clock -> ``O`` 2.01;
- input registers used: setup of ``A``, ``B`` 0.01, of ``C``, ``D`` 0.29;
- the unregistered post-adder (``O`` from the adder, e.g. a multiplier split over several DSPs):
  ``C -> O`` 2.80, ``D -> O`` 3.90 (worst bits in the same database; not in the shared table),
  added after the multiplier arc when the product goes through the adder.

Paths inside the DSP between its own registers have no public figure and are not timed (a caveat
is returned when a design has them).
"""
import json
import re
from collections import defaultdict
from pathlib import Path

__all__ = ["parse_sdf", "dsp_modes", "analyze", "DSP_ARCS", "DSP_INTERNAL", "Sdf"]

# The caveat of a path between an SB_MAC16's own registers (input or intermediate to output).
DSP_INTERNAL = "paths between the DSP's internal registers have no public figure and are not timed"

# SB_MAC16 arcs, ns (see the module docstring).
DSP_ARCS = {
    "comb16": {"A": 8.88, "B": 9.05},
    "comb8": {"A": 5.71, "B": 5.96},
    "setup_unregistered_input": {"A": 6.34, "B": 6.50},
    "clk_to_out": 2.01,
    "setup_registered_input": {"A": 0.01, "B": 0.01, "C": 0.29, "D": 0.29},
    # Not in the shared reference table: the worst C -> O / D -> O bits of the unregistered
    # post-adder in the same IceStorm database (about 2.8 / 3.9 ns).
    "adder": {"C": 2.80, "D": 3.90},
}
CLOCK_PIN_NAMES = {"CLK", "RCLK", "WCLK", "INPUT_CLK", "OUTPUT_CLK", "CLOCK", "INPUTCLK",
                   "OUTPUTCLK"}
DSP_CELL_TYPES = {"ICESTORM_DSP", "SB_MAC16"}

_TOKEN = re.compile(r"\((?:[-0-9.eE]*:?){0,3}\)|(?:\\.|[^\s()])+|[()]")
_TRIPLE = re.compile(r"\(([-0-9.eE:]*)\)")


def _unescape(name):
    return re.sub(r"\\(.)", r"\1", name)


def _split_pin(ref):
    """``inst/pin`` (``/`` the SDF divider, escaped ``\\/`` inside names) -> (inst, pin)."""
    for index in range(len(ref) - 1, -1, -1):
        if ref[index] == "/" and (index == 0 or ref[index - 1] != "\\"):
            return _unescape(ref[:index]), _unescape(ref[index + 1:])
    return "", _unescape(ref)


def _triple_max(text):
    values = [float(v) for v in re.split(r"[:]", text) if v not in ("", "*")]
    return max(values) if values else 0.0


class Sdf:
    """The parts of an SDF file the analysis needs (delays in ns).

    Attributes: ``timescale_ns``; ``cells`` (instance -> cell type); ``iopaths`` (instance ->
    list of ``(from_pin, to_pin, delay)``); ``setups`` (instance -> list of ``(data_pin,
    clock_pin, setup)``); ``interconnects`` (list of ``(src_inst, src_pin, dst_inst, dst_pin,
    delay)``).
    """
    def __init__(self):
        self.timescale_ns = 1e-3
        self.cells = {}
        self.iopaths = defaultdict(list)
        self.setups = defaultdict(list)
        self.interconnects = []


def parse_sdf(path_or_text):
    """Parse an SDF (a path, or the text itself) as written by nextpnr; the slow corner of each
    ``(min:typ:max)`` (rise and fall: the larger)."""
    text = path_or_text
    if isinstance(path_or_text, Path) or (isinstance(path_or_text, str) and "\n" not in path_or_text
                                          and not path_or_text.lstrip().startswith("(")):
        text = Path(path_or_text).read_text()
    sdf = Sdf()
    scale = 1e-3
    celltype = instance = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("("):
            continue
        keyword = stripped[1:].split(None, 1)[0] if len(stripped) > 1 else ""
        if keyword == "TIMESCALE":
            match = re.match(r"\(TIMESCALE\s+([0-9.]+)\s*(ps|ns|us|fs)\)", stripped)
            if match:
                unit = {"fs": 1e-6, "ps": 1e-3, "ns": 1.0, "us": 1e3}[match.group(2)]
                scale = float(match.group(1)) * unit
                sdf.timescale_ns = scale
        elif keyword == "CELLTYPE":
            celltype = re.match(r'\(CELLTYPE\s+"([^"]*)"', stripped).group(1)
        elif keyword == "INSTANCE":
            body = stripped[len("(INSTANCE"):].rstrip(")").strip()
            instance = _unescape(body)
            sdf.cells[instance] = celltype
        elif keyword in ("IOPATH", "INTERCONNECT"):
            tokens = _TOKEN.findall(stripped[1:-1])
            args = [t for t in tokens[1:] if not t.startswith("(")]
            triples = _TRIPLE.findall(stripped)
            delay = max((_triple_max(t) for t in triples), default=0.0) * scale
            if keyword == "IOPATH":
                src = args[0]
                if src in ("posedge", "negedge"):
                    src = args[1]
                    args = args[1:]
                sdf.iopaths[instance].append((_unescape(src), _unescape(args[1]), delay))
            else:
                src_inst, src_pin = _split_pin(args[0])
                dst_inst, dst_pin = _split_pin(args[1])
                sdf.interconnects.append((src_inst, src_pin, dst_inst, dst_pin, delay))
        elif keyword in ("SETUPHOLD", "SETUP"):
            edges = re.findall(r"\((?:posedge|negedge)\s+((?:\\.|[^\s()])+)\)", stripped)
            if len(edges) < 2:
                plain = _TOKEN.findall(stripped[1:-1])
                names = [t for t in plain[1:] if not t.startswith("(") and t not in ("posedge", "negedge")]
                edges = names[:2]
            triples = _TRIPLE.findall(stripped)
            setup = _triple_max(triples[0]) * scale if triples else 0.0
            sdf.setups[instance].append((_unescape(edges[0]), _unescape(edges[1]), setup))
    return sdf


def _param(value):
    """A Yosys JSON parameter as an int (binary strings; ``x``/``z`` read as 0)."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text and set(text) <= set("01xz"):
        return int(text.replace("x", "0").replace("z", "0"), 2)
    try:
        return int(text, 0)
    except ValueError:
        return 0


def _driven_bits(bits):
    return sum(1 for bit in bits if isinstance(bit, int))


def dsp_modes(netlist, top="top"):
    """Every SB_MAC16 of a Yosys JSON netlist (a dict or a path) and the configuration Yosys chose.

    Returns ``{cell name: mode}`` where ``mode`` holds the raw parameters (``params``), the used
    (non-constant) widths of ``A``, ``B``, ``C``, ``D`` and ``O``, and the decoded configuration:
    ``a_reg``, ``b_reg``, ``c_reg``, ``d_reg``; ``mult`` (``"16x16"`` or ``"8x8"``: which
    multiplier feeds the outputs); ``mult_reg`` (the 16x16 intermediate/pipeline or 8x8 product
    register used); ``top``/``bot`` (what drives ``O[31:16]`` / ``O[15:0]``: ``"adder"``,
    ``"accumulator"`` (the output register), ``"mult8"``, ``"mult16"``) and ``top_registered`` /
    ``bot_registered``; ``kind``: ``"combinational"`` (no register between ``A``/``B`` and
    ``O``), ``"output-registered"`` (inputs not registered, a register before ``O``),
    ``"input-registered"``, ``"fully-registered"``.
    """
    if not isinstance(netlist, dict):
        netlist = json.loads(Path(netlist).read_text())
    modes = {}
    for name, cell in netlist["modules"][top]["cells"].items():
        if cell["type"] != "SB_MAC16":
            continue
        p = {key: _param(value) for key, value in cell.get("parameters", {}).items()}
        conn = cell.get("connections", {})
        mode = {"params": p, "used": {port: _driven_bits(conn.get(port, []))
                                      for port in ("A", "B", "C", "D", "O")}}
        mode8 = bool(p.get("MODE_8x8", 0))
        mode.update(a_reg=bool(p.get("A_REG", 0)), b_reg=bool(p.get("B_REG", 0)),
                    c_reg=bool(p.get("C_REG", 0)), d_reg=bool(p.get("D_REG", 0)))
        halves = {}
        for half, prefix, reg8 in (("top", "TOP", "TOP_8x8_MULT_REG"), ("bot", "BOT", "BOT_8x8_MULT_REG")):
            select = p.get(f"{prefix}OUTPUT_SELECT", 0)
            lower = p.get(f"{prefix}ADDSUB_LOWERINPUT", 0)
            if select == 1:
                source, registered = "accumulator", True
            elif select == 2:
                source, registered = "mult8", bool(p.get(reg8, 0))
            elif select == 3:
                source, registered = "mult16", bool(p.get("PIPELINE_16x16_MULT_REG2", 0))
            else:
                source, registered = "adder", False
            # Which multiplier the half's data goes through (through the adder: its lower input).
            if source in ("adder", "accumulator"):
                through = {1: "mult8", 2: "mult16"}.get(lower, "none")
            else:
                through = source
            halves[half] = (source, registered, through)
        for half in ("top", "bot"):
            mode[half], mode[f"{half}_registered"], mode[f"{half}_through"] = halves[half]
        throughs = {halves[h][2] for h in halves if mode["used"]["O"]} - {"none"}
        mode["mult"] = "16x16" if "mult16" in throughs or not throughs and not mode8 else "8x8"
        if mode8 and mode["mult"] == "16x16":
            mode["mult"] = "8x8"
        mode["mult_reg"] = bool(p.get("PIPELINE_16x16_MULT_REG1", 0) or p.get("PIPELINE_16x16_MULT_REG2", 0)
                                if mode["mult"] == "16x16"
                                else p.get("TOP_8x8_MULT_REG", 0) or p.get("BOT_8x8_MULT_REG", 0))
        inputs_registered = mode["a_reg"] or mode["b_reg"]
        out_registered = mode["top_registered"] or mode["bot_registered"] or mode["mult_reg"]
        mode["kind"] = ("fully-registered" if inputs_registered and out_registered else
                        "input-registered" if inputs_registered else
                        "output-registered" if out_registered else "combinational")
        modes[name] = mode
    return modes


def _dsp_cell_name(instance, modes):
    """The Yosys SB_MAC16 behind a nextpnr ICESTORM_DSP instance (nextpnr appends ``_DSP``)."""
    for candidate in (instance, re.sub(r"[_$]DSP$", "", instance)):
        if candidate in modes:
            return candidate
    return None


def _pin_group(pin):
    match = re.match(r"([A-Z]+)_?(\d+)$", pin)
    return (match.group(1), int(match.group(2))) if match else (pin, None)


def _retime_dsp(instance, sdf, mode, driven_pins, caveats):
    """New (iopaths, setups) for one DSP instance under ``mode``; ``driven_pins`` are its input
    pins with routing into them."""
    arcs, setups = [], []
    old_iopaths, old_setups = sdf.iopaths.get(instance, []), sdf.setups.get(instance, [])
    comb = DSP_ARCS["comb16" if mode["mult"] == "16x16" else "comb8"]
    adder = DSP_ARCS["adder"]
    outputs = sorted({to for _, to, _ in old_iopaths if _pin_group(to)[0] == "O"},
                     key=lambda pin: _pin_group(pin)[1])
    if not outputs:
        outputs = [f"O_{index}" for index in range(32)]
    data_inputs = [pin for pin in driven_pins if _pin_group(pin)[0] in ("A", "B")]
    acc_inputs = [pin for pin in driven_pins if _pin_group(pin)[0] in ("C", "D")]
    reg = lambda pin: mode[f"{_pin_group(pin)[0].lower()}_reg"]
    half_of = lambda pin: "top" if _pin_group(pin)[1] >= 16 else "bot"
    for out in outputs:
        half = half_of(out)
        source, through = mode[half], mode[f"{half}_through"]
        if mode[f"{half}_registered"]:
            arcs.append(("CLK", out, DSP_ARCS["clk_to_out"]))
            continue
        if through in ("mult16", "mult8"):
            if mode["mult_reg"]:
                arcs.append(("CLK", out, DSP_ARCS["clk_to_out"]))
                caveats.add(f"{instance}: output after the DSP's intermediate register: clock -> O "
                            f"taken as {DSP_ARCS['clk_to_out']} ns (the output-register figure)")
            else:
                for pin in data_inputs:
                    if not reg(pin):
                        arcs.append((pin, out, comb[_pin_group(pin)[0]]))
                if any(reg(pin) for pin in data_inputs):
                    arcs.append(("CLK", out, max(comb.values())))
                    caveats.add(f"{instance}: registered inputs, combinational output: clock -> O "
                                f"estimated as the combinational multiplier arc")
        if source == "adder":
            for pin in acc_inputs:
                group = _pin_group(pin)[0]
                if group == "C" and half == "bot":
                    continue            # C feeds the upper adder only
                if reg(pin):
                    arcs.append(("CLK", out, adder[group]))
                else:
                    arcs.append((pin, out, adder[group]))
            caveats.add(f"{instance}: unregistered post-adder: its arcs are IceStorm's worst "
                        f"C -> O / D -> O bits ({adder['C']} / {adder['D']} ns), added to the "
                        f"multiplier arc where the product goes through it")
            if through in ("mult16", "mult8") and not mode["mult_reg"]:
                for index, (src, dst, delay) in enumerate(arcs):
                    if dst == out and _pin_group(src)[0] in ("A", "B", "CLK"):
                        arcs[index] = (src, dst, delay + adder["D"])
    registered_after_mult = mode["mult_reg"] or any(
        mode[f"{half}_registered"] and mode[f"{half}_through"] in ("mult16", "mult8")
        for half in ("top", "bot"))
    for pin in data_inputs:
        group = _pin_group(pin)[0]
        if reg(pin):
            setups.append((pin, "CLK", DSP_ARCS["setup_registered_input"][group]))
        elif registered_after_mult:
            setups.append((pin, "CLK", DSP_ARCS["setup_unregistered_input"][group]))
    accumulates = any(mode[half] == "accumulator" for half in ("top", "bot"))
    for pin in acc_inputs:
        group = _pin_group(pin)[0]
        if reg(pin):
            setups.append((pin, "CLK", DSP_ARCS["setup_registered_input"][group]))
        elif accumulates:
            setups.append((pin, "CLK", adder[group]))
            caveats.add(f"{instance}: unregistered C/D into the output register: setup estimated "
                        f"as the post-adder arc")
    # Control inputs (CE, holds, resets, ADDSUB, OLOAD...): nextpnr's setup checks are kept.
    for check in old_setups:
        if _pin_group(check[0])[0] not in ("A", "B", "C", "D"):
            setups.append(check)
    # Cascade outputs (CO, ACCUMCO, SIGNEXTOUT) keep nextpnr's arcs.
    for arc in old_iopaths:
        if _pin_group(arc[1])[0] != "O":
            arcs.append(arc)
    if (mode["a_reg"] or mode["b_reg"]) and registered_after_mult:
        caveats.add(f"{instance}: {DSP_INTERNAL}")
    return arcs, setups


def analyze(sdf, netlist=None, top="top", clock_skew=False, dsp=True):
    """Longest register-to-register path of a routed design.

    Parameters
    ----------
    sdf : path, text or :class:`Sdf`
        nextpnr's SDF (``--sdf``).
    netlist : dict or path, optional
        Yosys's JSON netlist, for the SB_MAC16 configurations (required when the design has DSPs
        and ``dsp`` is true).
    clock_skew : bool
        Include the clock-network arrival at launch and capture (off: ideal clock, as nextpnr).
    dsp : bool
        Re-time the DSPs (off: nextpnr's own model, for comparison).

    Returns a dict: ``period`` (ns), ``fmax`` (MHz), ``path`` (list of ``{"cell", "pin", "type",
    "delay", "arrival"}`` from the launching clock pin to the capturing setup check; ``type`` is
    ``clk-to-q``, ``routing``, ``logic``, ``dsp`` or ``setup``), ``through_dsp`` (the critical
    path crosses a DSP), ``dsp_arcs`` (per DSP instance: the mode used), ``caveats``,
    ``endpoints`` (number of setup checks timed).
    """
    if not isinstance(sdf, Sdf):
        sdf = parse_sdf(sdf)
    modes = {}
    if netlist is not None:
        modes = dsp_modes(netlist, top)
    caveats = set()

    iopaths = dict(sdf.iopaths)
    setups = dict(sdf.setups)
    driven = defaultdict(set)
    for _, _, dst_inst, dst_pin, _ in sdf.interconnects:
        driven[dst_inst].add(dst_pin)
    dsp_arcs = {}
    retimed = set()
    for instance, celltype in sdf.cells.items():
        if celltype not in DSP_CELL_TYPES or not dsp:
            continue
        name = _dsp_cell_name(instance, modes)
        if name is None:
            caveats.add(f"{instance}: no SB_MAC16 configuration found in the netlist; nextpnr's "
                        f"(registered) model kept, its delay is NOT included")
            continue
        mode = modes[name]
        arcs, checks = _retime_dsp(instance, sdf, mode, sorted(driven[instance]), caveats)
        iopaths[instance], setups[instance] = arcs, checks
        retimed.add(instance)
        dsp_arcs[instance] = {"cell": name, "kind": mode["kind"], "mult": mode["mult"],
                              "top": mode["top"], "bot": mode["bot"]}

    # Clock pins: references of setup checks and the usual names.
    clock_pins = defaultdict(set)
    for instance, checks in setups.items():
        for _, clock, _ in checks:
            clock_pins[instance].add(clock)
    is_clock = lambda inst, pin: pin in clock_pins[inst] or pin in CLOCK_PIN_NAMES

    index = {}
    names = []

    def node(inst, pin):
        key = (inst, pin)
        found = index.get(key)
        if found is None:
            found = index[key] = len(names)
            names.append(key)
        return found

    succ = defaultdict(list)      # node -> [(node, delay, type)]
    starts = []                   # (node, clk node, delay)
    for src_inst, src_pin, dst_inst, dst_pin, delay in sdf.interconnects:
        succ[node(src_inst, src_pin)].append((node(dst_inst, dst_pin), delay, "routing"))
    for instance, arcs in iopaths.items():
        kind = "dsp" if instance in retimed else "logic"
        for src, dst, delay in arcs:
            if is_clock(instance, src):
                starts.append((node(instance, dst), node(instance, src), delay))
            else:
                succ[node(instance, src)].append((node(instance, dst), delay, kind))
    ends = []
    for instance, checks in setups.items():
        for data, clock, setup in checks:
            ends.append((node(instance, data), node(instance, clock), setup))

    clock_arrival = {}
    if clock_skew:
        clocks = {clk for _, clk, _ in starts} | {clk for _, clk, _ in ends}
        clock_arrival = _clock_arrivals(succ, names, clocks)

    # Longest arrival times from the register outputs (a DAG once clock-to-out arcs are cut).
    n = len(names)
    arrival = [float("-inf")] * n
    pred = [None] * n
    for out, clk, delay in starts:
        value = clock_arrival.get(clk, 0.0) + delay
        if value > arrival[out]:
            arrival[out] = value
            pred[out] = (clk, delay, "clk-to-q")
    order = _topological(n, succ)
    for u in order:
        if arrival[u] == float("-inf"):
            continue
        for v, delay, kind in succ.get(u, ()):
            value = arrival[u] + delay
            if value > arrival[v]:
                arrival[v] = value
                pred[v] = (u, delay, kind)
    worst, worst_end = 0.0, None
    for data, clk, setup in ends:
        if arrival[data] == float("-inf"):
            continue
        value = arrival[data] + setup - clock_arrival.get(clk, 0.0)
        if value > worst:
            worst, worst_end = value, (data, clk, setup)

    path = []
    through_dsp = False
    if worst_end is not None:
        data, clk, setup = worst_end
        steps = []
        cursor = data
        while pred[cursor] is not None:
            prev, delay, kind = pred[cursor]
            steps.append((cursor, delay, kind))
            if kind == "clk-to-q":
                steps.append((prev, clock_arrival.get(prev, 0.0), "clock"))
                break
            cursor = prev
        steps.reverse()
        for step_node, delay, kind in steps:
            inst, pin = names[step_node]
            if kind == "clk-to-q" and inst in retimed:
                kind = "dsp-clk-to-q"
            through_dsp |= inst in retimed
            path.append({"cell": inst, "cell_type": sdf.cells.get(inst), "pin": pin, "type": kind,
                         "delay": round(delay, 4), "arrival": round(arrival[step_node], 4)
                         if kind != "clock" else round(delay, 4)})
        inst, pin = names[data]
        path.append({"cell": inst, "cell_type": sdf.cells.get(inst), "pin": pin,
                     "type": "setup", "delay": round(setup, 4), "arrival": round(worst, 4)})
    return {"period": worst, "fmax": 1000.0 / worst if worst > 0 else None, "path": path,
            "through_dsp": through_dsp, "dsp_arcs": dsp_arcs, "caveats": sorted(caveats),
            "endpoints": len(ends)}


def _topological(n, succ):
    indegree = [0] * n
    for u, edges in succ.items():
        for v, _, _ in edges:
            indegree[v] += 1
    stack = [u for u in range(n) if indegree[u] == 0]
    order = []
    while stack:
        u = stack.pop()
        order.append(u)
        for v, _, _ in succ.get(u, ()):
            indegree[v] -= 1
            if indegree[v] == 0:
                stack.append(v)
    if len(order) != n:
        raise ValueError(f"combinational loop in the timing graph ({n - len(order)} pins on cycles)")
    return order


def _clock_arrivals(succ, names, clock_nodes):
    """Latest arrival at each clock pin from the nodes without fan-in (the clock pad)."""
    n = len(names)
    order = _topological(n, succ)
    has_pred = [False] * n
    for u, edges in succ.items():
        for v, _, _ in edges:
            has_pred[v] = True
    arrival = [float("-inf")] * n
    for u in range(n):
        if not has_pred[u]:
            arrival[u] = 0.0
    for u in order:
        if arrival[u] == float("-inf"):
            continue
        for v, delay, _ in succ.get(u, ()):
            arrival[v] = max(arrival[v], arrival[u] + delay)
    return {c: (arrival[c] if arrival[c] != float("-inf") else 0.0) for c in clock_nodes}
