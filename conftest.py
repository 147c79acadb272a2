"""Options of the whole test suite (tests/ and sim/).

``--sim-full`` (or ``$SIM_FULL=1``) runs the full sets: in ``sim/`` every co-simulated
configuration with the full vector counts (every activation at both alphas in both 16-bit
formats, every FP32 activation, the larger Icarus subsets, the FMA's 10^6 random triples per
format, the FP32 gate-level netlist); in ``tests/`` the long sweeps (the fast references against
MPFR on every BF16 input and gradient, the FP32 cores' exported-Verilog synthesis): over an
hour on two cores from an empty build cache. By default the tests marked ``full``
skip and the ``sim_full`` fixture is false: one configuration of each kind, which covers every
function, format, seed, operand port and Icarus as well as Verilator, with fewer vectors where
a sweep is long.
"""
import pytest

from sim.options import flag


def pytest_addoption(parser):
    group = parser.getgroup("full", "the full test sets")
    group.addoption("--sim-full", action="store_true", default=None,
                    help="every co-simulated configuration, full vector counts, the long sweeps "
                         "(default $SIM_FULL or off)")


def _full(config):
    return flag(config, "--sim-full", "SIM_FULL")


def pytest_configure(config):
    config.addinivalue_line("markers", "full: run only with --sim-full")


def pytest_collection_modifyitems(config, items):
    if _full(config):
        return
    skip = pytest.mark.skip(reason="one of the full set: run with --sim-full")
    for item in items:
        if "full" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def sim_full(request):
    """True with ``--sim-full``: tests then use their full vector counts."""
    return _full(request.config)
