"""The export flow: a unit as clean Verilog-2005 with a JSON descriptor and a FuseSoC core, and
test vectors, with the facts the golden side measures (accuracy, special values)."""
