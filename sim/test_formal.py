"""Bounded model checks of the stream handshake (sim/formal.py, SymbiYosys + yices; z3 too).

* every function x every pipeline level (bf16): the tag unit (real StreamUnit control, identity
  datapath through the real cut list), every property, BMC to depth L + 6;
* the real ExportTop of small configurations: every property but ``order``;
* deliberately broken units: each property catches the bug it is meant to catch (the checks are
  not vacuous).

Unbounded proofs (k-induction) of every configuration are ``python -m sim.formal --prove`` (see
sim/README.md); a few run here, among them a real backward unit (BF16).
"""
import shutil

import pytest
from amaranth.hdl import Const, Module, Signal

from hw.config import FUNCTIONS, Config
from hw.rtl.pipeline import Stages
from hw.spec.plan import optional_cuts

try:
    from sim.formal import (SOLVERS, TagTop, TagUnit, latency_of, main, plan_tasks,
                            property_groups, run_check, tag_signature, tool_paths)
    tool_paths()
    SKIP = None
except (ImportError, FileNotFoundError) as error:   # pragma: no cover - tools missing
    SKIP = str(error)

pytestmark = pytest.mark.skipif(SKIP is not None, reason=f"formal tools unavailable: {SKIP}")


def _levels(config):
    return [config.with_(pipeline=level) for level in range(optional_cuts(config) + 1)]


def _check_groups(config, dut):
    """Every property of ``dut`` in its three tasks (safety together, latency, cover); returns
    the failing results."""
    results = [run_check(config, group, dut=dut) for group in property_groups(dut)]
    return [r for r in results if not r.passed]


def _report(failures):
    return "\n".join(f"{r.line()}  ({r.workdir})" for r in failures)


TAG_DEFAULT_LATENCY = 8      # longer tag pipelines (8-25 s each) but the longest: --sim-full


def _tag_groups():
    """bf16 configurations of every function at every pipeline level, grouped by what shapes the
    tag netlist (latency, lanes, width); one test per group. By default the groups up to
    TAG_DEFAULT_LATENCY and the longest one."""
    groups = {}
    for function in FUNCTIONS:
        for config in _levels(Config("bf16", function=function)):
            key = (latency_of(config), config.lanes, config.in_width)
            groups.setdefault(key, []).append(config)
    longest = max(groups)
    return [pytest.param(configs, id=f"L{key[0]}-" + "-".join(c.name for c in configs),
                         marks=() if key[0] <= TAG_DEFAULT_LATENCY or key == longest else pytest.mark.full)
            for key, configs in sorted(groups.items())]


@pytest.mark.parametrize("configs", _tag_groups())
def test_tag_unit_every_level(configs):
    """Order, count, progress, stability, latency, reset and cover on the tag unit of every
    function (bf16) at every pipeline level. The levels of one group have the same tag netlist up
    to register names (checked: :func:`tag_signature`), so the first one's run stands for all."""
    signatures = {tag_signature(config) for config in configs}
    assert len(signatures) == 1, [c.name for c in configs]
    assert not (failures := _check_groups(configs[0], "tag")), _report(failures)


def _level(config, level):
    """``config`` at pipeline level ``level`` (or its largest, if it has fewer optional cuts)."""
    return config.with_(pipeline=min(level, optional_cuts(config)))


REAL_CONFIGS = [
    Config("bf16"),                                              # rsqrt, table seed ROM
    Config("bf16", pipeline=0),
    Config("q4.4"),                                              # fixed point: out_flag
    _level(Config("e4m3", function="isrlu"), 2),
    Config("e5m2", function="isru-grad"),
    Config("e4m3", function="isru", runtime_alpha=True, pipeline=0),
    Config("e4m3", function="fma"),
    _level(Config("e5m2", function="fma", lanes=2), 1),
    _level(Config("e4m3", function="tanh"), 2),                  # the logistic family: two ROMs
    _level(Config("e5m2", function="sigmoid-grad"), 3),
]


@pytest.mark.parametrize("config", REAL_CONFIGS, ids=lambda c: c.name)
def test_real_unit(config):
    """Every property but order on the real ExportTop, datapath included."""
    assert not (failures := _check_groups(config, "real")), _report(failures)


PROVE_CASES = [
    (_level(Config("e4m3", function="fma"), 2), "real"),
    (_level(Config("e4m3", function="fma"), 2), "tag"),
    (Config("bf16", function="isru-grad"), "real"),     # a backward datapath, unabstracted
    (_level(Config("bf16", function="isrlu-grad"), 12), "tag"),   # a long bf16 pipeline (15 cycles)
    (Config("fp32", function="isru-grad"), "tag"),      # the longest pipeline (21 cycles, 32-bit tags)
]


@pytest.mark.parametrize("config, dut", PROVE_CASES, ids=lambda v: getattr(v, "name", v))
def test_prove(config, dut):
    """Unbounded proofs (k-induction, depth 3) of every property; the full sweep is
    ``python -m sim.formal --prove --all-levels`` (sim/README.md)."""
    failures = [r for group in property_groups(dut) if group != ("cover",)
                for r in [run_check(config, group, dut=dut, mode="prove")] if not r.passed]
    assert not failures, _report(failures)


def test_prove_with_z3():
    """The other solver (``--solver z3``) proves the same properties of a short pipeline."""
    config = _level(Config("e4m3", function="fma"), 2)
    failures = [r for group in property_groups("tag") if group != ("cover",)
                for r in [run_check(config, group, dut="tag", mode="prove", solver="z3")]
                if not r.passed]
    assert not failures, _report(failures)


def test_cli_prove(capsys):
    """``python -m sim.formal --prove --grouped --jobs 2``: both DUTs, every task passes."""
    assert main(["--format", "e4m3", "--function", "fma", "--pipeline", "1", "--prove",
                 "--grouped", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "4 passed, 0 failed" in out and "solver yices" in out, out


def test_sweep_checks_a_tag_netlist_once():
    """A sweep over several configurations checks each distinct tag netlist once: ISRU and ISRLU
    in bf16 have the same latency and width, so the second tag unit is not re-run."""
    configs = [Config("bf16", function="isru"), Config("bf16", function="isrlu")]
    tasks = plan_tasks(configs, lambda c: [c], ("tag", "real"), None, "prove", True)
    tag = [(cfg.name, group, first) for cfg, dut, group, first in tasks if dut == "tag"]
    assert [t[0] for t in tag] == [configs[0].name] * 2 + [configs[1].name]
    assert tag[-1][1] is None and tag[-1][2] is configs[0]
    assert sum(dut == "real" for _, dut, _, _ in tasks) == 4


def test_unknown_solver_rejected():
    with pytest.raises(ValueError, match="solver must be one of " + ", ".join(SOLVERS)):
        run_check(Config("e4m3", function="fma"), "count", dut="tag", solver="boolector")


# ------------------------------------------------------------------------------------------
# Broken units: the harness must catch each bug.

class BrokenTag(TagUnit):
    """TagUnit with one control bug (``mutation``); keeps the valid_<n> register names."""
    mutation = None

    def elaborate(self, platform):
        self.stage_tags = [[] for _ in range(self.config.lanes)]
        m = Module()
        en = Signal()
        bug, latency = self.mutation, self.latency
        m.d.comb += [en.eq(~self.o.valid | self.o.ready),
                     self.i.ready.eq(Const(1) if bug == "ready_ignores_stall" else en)]
        valid = self.i.valid
        for stage in range(latency):
            reg = Signal(name=f"valid_{stage + 1}", reset_less=bug == "valid_not_reset")
            load = Const(1) if bug == "last_valid_ignores_stall" and stage == latency - 1 else en
            with m.If(load):
                m.d.sync += reg.eq(valid)
            valid = reg
        if bug == "extra_stage":                      # one more cycle than stated
            extra = Signal(name="late_valid")
            with m.If(en):
                m.d.sync += extra.eq(valid)
            valid = extra
        m.d.comb += self.o.valid.eq(valid)
        for lane in range(self.config.lanes):
            st = Stages(m, Const(1) if bug == "data_ignores_stall" else en, self.config, f"lane{lane}")
            self._lane(m, st.en, lane, st)
            st.finish()
        return m


def _broken(mutation):
    def factory(config):
        unit = type(f"BrokenTag_{mutation}", (BrokenTag,), {"mutation": mutation})(config)
        return TagTop(config, unit=unit)
    factory.__name__ = mutation
    return factory


@pytest.mark.parametrize("mutation, prop", [
    ("ready_ignores_stall", "count"),       # accepts while stalled: inputs lost
    ("ready_ignores_stall", "order"),
    ("data_ignores_stall", "stable"),       # payload registers move during a stall
    ("data_ignores_stall", "order"),
    ("last_valid_ignores_stall", "stable"),  # output dropped while stalled
    ("last_valid_ignores_stall", "count"),
    ("valid_not_reset", "reset"),           # reset does not empty the pipeline
    ("valid_not_reset", "count"),
    ("extra_stage", "latency"),             # latency one more than stated
    ("extra_stage", "progress"),
])
def test_broken_unit_caught(mutation, prop):
    """Black-box assertions only (no internal invariants): the property itself sees the bug."""
    result = run_check(_level(Config("bf16", function="fma"), 2), prop, dut=_broken(mutation),
                       invariants=False)
    assert result.status == "FAIL", result.line()
    assert result.detail.startswith(prop), result.line()
    shutil.rmtree(result.workdir, ignore_errors=True)   # an expected failure: nothing to keep
