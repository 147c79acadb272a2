"""Fixtures of the co-simulation tests (sim/test_*.py).

``design(config, simulator)`` exports and builds a configuration (cached on disk in
``sim_build/``, or ``$RSQRT_SIM_BUILD_DIR``, and per session), skipping the test with the reason
when the simulator or ``hw.export`` is unavailable. Builds are locked per design, so pytest-xdist
workers never clash: a worker needing a design another is building waits for it.

``--sim-full`` and the ``full`` marker are the whole suite's (the repository's ``conftest.py``).
"""
import pytest

from sim.toolchain import SIMULATORS, simulator_status


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
