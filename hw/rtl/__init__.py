"""The Amaranth RTL: stream pipeline helpers, blocks (each with a NumPy twin in
:mod:`golden.blocks`), units and the flat-port wrapper. Imports only :mod:`hw.spec`."""
