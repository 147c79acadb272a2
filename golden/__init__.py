"""NumPy golden models (bit-exact twins of the RTL), the exact reference and accuracy analysis."""
