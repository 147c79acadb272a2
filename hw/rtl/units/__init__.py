"""Streaming units composed from the blocks of :mod:`hw.rtl.blocks`; the function registry
(:mod:`hw.spec.functions`) names the unit of each function."""
