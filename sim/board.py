"""Co-simulation of the whole board top (:class:`fpga.top.BoardTop`): export it to Verilog, build
it with the cached runner (:func:`sim.runner.build_module`) and run a scenario of
:mod:`sim.board_tb`, in which the real host client (:mod:`fpga.client`) talks to the simulated
UART pins.

The simulated board runs at a nominal ``SIM_CLK_HZ`` with ``SIM_DIVISOR`` cycles per UART bit, so
the client's timeouts (seconds) are simulated time; a run returns the scenario's ``results.json``
and the run directory's files.
"""
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .runner import (KEEP_ENV, SimulationError, _ensure_importable, _first_error, _get_runner,
                     _log_tail, _quiet_runner_logging, _runs_root, build_module)

__all__ = ["SIM_CLK_HZ", "SIM_DIVISOR", "SIM_TIMEOUT", "BoardDesign", "board_top", "config_flags",
           "prepare_board", "run_board", "TB_MODULE", "JOB_ENV"]

SIM_CLK_HZ = 1_000_000
SIM_DIVISOR = 8                 # clock cycles per UART bit
SIM_TIMEOUT = 0.002             # the parser's inter-byte timeout: 2000 cycles, 25 byte times
TB_MODULE = "sim.board_tb"
JOB_ENV = "BOARD_SIM_JOB"


@dataclass(frozen=True)
class BoardDesign:
    """A built board top: its configuration, simulator, build and what INFO will report."""
    config: object
    simulator: str
    top: str
    build_dir: Path
    info: object                   # fpga.protocol.Info
    divisor: int
    build_seconds: float


def board_top(config, depth=256, post=True):
    """The :class:`~fpga.top.BoardTop` of ``config`` with the simulation's clock and baud."""
    from fpga.top import BoardTop
    return BoardTop(config, clk_freq=SIM_CLK_HZ, baud=SIM_CLK_HZ / SIM_DIVISOR, depth=depth,
                    timeout=SIM_TIMEOUT, post=post)


def config_flags(config):
    """Command-line flags (:func:`hw.spec.config.add_config_arguments`) that give ``config``."""
    flags = []
    for name, value in config.to_dict().items():
        if value is None or (name == "lanes" and value == 1) or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        flags += [flag] if value is True else [flag, str(value)]
    return flags


def prepare_board(config, simulator="verilator", depth=256, quiet=True):
    """Export the board top of ``config`` and build it (cached); returns a :class:`BoardDesign`."""
    from amaranth.back import verilog
    top = board_top(config, depth)
    name = f"board_{config.name}"
    text = verilog.convert(top, name=name, emit_src=False)
    build_dir, seconds = build_module(text, name, simulator, quiet)
    return BoardDesign(config=config, simulator=simulator, top=name, build_dir=build_dir,
                       info=top.info, divisor=top.divisor, build_seconds=seconds)


def run_board(design, scenario, **job):
    """Run the cocotb test ``scenario`` of :mod:`sim.board_tb` on ``design``; returns the
    scenario's results (a dict, from its ``results.json``, plus ``wall_seconds``). ``job``
    entries (JSON-able) reach the testbench. The run directory is removed afterwards unless the
    run failed or ``$RSQRT_SIM_KEEP=1``."""
    _ensure_importable()
    run_dir = Path(tempfile.mkdtemp(prefix=f"{design.top}-{scenario}-", dir=_runs_root()))
    job = dict(job, out_dir=str(run_dir), clk_hz=SIM_CLK_HZ, divisor=design.divisor,
               config_flags=config_flags(design.config), latency=design.info.latency,
               selftest_vectors=design.info.selftest_vectors)
    job_file = run_dir / "job.json"
    job_file.write_text(json.dumps(job, indent=1))
    log, results_xml = run_dir / "sim.log", run_dir / "results.xml"
    runner = _get_runner(design.simulator)
    t0 = time.perf_counter()
    failure = None
    try:
        with _quiet_runner_logging(True):
            runner.test(test_module=TB_MODULE, hdl_toplevel=design.top, hdl_toplevel_lang="verilog",
                        build_dir=design.build_dir, test_dir=run_dir,
                        test_filter=rf"(^|\.){re.escape(scenario)}$",
                        extra_env={JOB_ENV: str(job_file)}, results_xml=str(results_xml),
                        log_file=log)
    except (RuntimeError, SystemExit) as error:
        failure = f"simulator exited with an error ({error})"
    if failure is None:
        from cocotb_tools.check_results import get_results
        try:
            tests, failed = get_results(results_xml)
        except RuntimeError as error:
            tests, failed, failure = 0, 0, str(error)
        if failure is None and (tests == 0 or failed):
            failure = f"cocotb test {scenario} failed" if failed else "cocotb ran no test"
    if failure is not None:
        raise SimulationError(f"{design.simulator} run of {design.top}:{scenario}: {failure}"
                              f"{_first_error(log)}; run dir kept: {run_dir}; log tail:\n"
                              f"{_log_tail(log)}")
    results = json.loads((run_dir / "results.json").read_text())
    results["wall_seconds"] = time.perf_counter() - t0
    if os.environ.get(KEEP_ENV, "") in ("", "0"):
        shutil.rmtree(run_dir, ignore_errors=True)
    return results
