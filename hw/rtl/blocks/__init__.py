"""Small combinational or short-pipelined building blocks; each has a NumPy twin in golden.blocks."""
