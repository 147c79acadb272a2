"""Fixtures of the co-simulation tests (sim/test_*.py).

``design(config, simulator)`` exports and builds a configuration (cached on disk in
``sim_build/``, or ``$RSQRT_SIM_BUILD_DIR``, and per session), skipping the test with the reason
when the simulator or ``hw.export`` is unavailable. Builds are locked per design, so pytest-xdist
workers never clash: a worker needing a design another is building waits for it.

``--sim-full`` (or ``$SIM_FULL=1``) runs every co-simulated configuration with the full vector
counts: every activation at both alphas in both 16-bit formats, every FP32 activation, the larger
Icarus subsets (about an hour on two cores from an empty build cache). By default the tests marked
``full`` skip and the ``sim_full`` fixture is false: one configuration of each kind, which covers
every function, format, seed, operand port and Icarus as well as Verilator (the golden models of
all of them are checked exhaustively in ``tests/``).
"""
import pytest

from sim.options import flag
from sim.toolchain import SIMULATORS, simulator_status


def pytest_addoption(parser):
    group = parser.getgroup("sim", "co-simulation (sim/)")
    group.addoption("--sim-full", action="store_true", default=None,
                    help="every co-simulated configuration, full vector counts "
                         "(default $SIM_FULL or off)")


def _full(config):
    return flag(config, "--sim-full", "SIM_FULL")


def pytest_configure(config):
    config.addinivalue_line("markers", "full: co-simulation run only with --sim-full")


def pytest_collection_modifyitems(config, items):
    if _full(config):
        return
    skip = pytest.mark.skip(reason="one of the full co-simulation set: run with --sim-full")
    for item in items:
        if "full" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def sim_full(request):
    """True with ``--sim-full``: tests then use their full vector counts."""
    return _full(request.config)


def pytest_report_header(config):
    lines = []
    for sim in SIMULATORS:
        reason = simulator_status(sim)
        lines.append(f"co-simulation: {sim}: {'available' if reason is None else reason}")
    return lines


@pytest.fixture(scope="session")
def design():
    cache = {}

    def get(config, simulator):
        reason = simulator_status(simulator)
        if reason is not None:
            pytest.skip(f"{simulator} unavailable: {reason}")
        try:
            import hw.export  # noqa: F401
        except ImportError as error:
            pytest.skip(f"hw.export not available yet: {error}")
        from sim.runner import prepare
        key = (config, simulator)
        if key not in cache:
            cache[key] = prepare(config, simulator)
        return cache[key]

    return get
