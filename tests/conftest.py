"""Options of the unit tests (tests/).

``--fuzz-examples N`` (or ``$FUZZ_EXAMPLES``): configurations ``tests/test_fuzz_configs.py``
draws for the Amaranth-simulator fuzzing and for the invalid-configuration check (default: a
small, fixed set that keeps the file under a minute and a half on two cores).
``--fuzz-seed S`` (or ``$FUZZ_SEED``): explore with random seed ``S`` instead of the fixed
derandomized examples.
``--fuzz-cosim N`` (or ``$FUZZ_COSIM``): co-simulate ``N`` fuzzed configurations' exported
Verilog (default 2; 15-60 s per Verilator build, cached in ``sim_build/``; 0 turns it off);
``--fuzz-simulator`` (or ``$FUZZ_SIMULATOR``): ``verilator`` (default) or ``icarus``.
"""


def pytest_addoption(parser):
    group = parser.getgroup("fuzz", "configuration fuzzing (tests/test_fuzz_configs.py)")
    group.addoption("--fuzz-examples", type=int, default=None,
                    help="fuzzed configurations per property (default $FUZZ_EXAMPLES or a small "
                         "fixed number)")
    group.addoption("--fuzz-seed", type=int, default=None,
                    help="random seed of the fuzzer (default $FUZZ_SEED, else derandomized)")
    group.addoption("--fuzz-cosim", type=int, default=None,
                    help="co-simulate this many fuzzed configurations' exported Verilog "
                         "(default $FUZZ_COSIM or 2)")
    group.addoption("--fuzz-simulator", default=None, choices=("verilator", "icarus"),
                    help="simulator of --fuzz-cosim (default $FUZZ_SIMULATOR or verilator)")
