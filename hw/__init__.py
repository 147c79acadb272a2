"""Arithmetic IP for neural-network accelerators: the specification (:mod:`hw.spec`), the Amaranth
RTL (:mod:`hw.rtl`), the export flow (:mod:`hw.emit`), the synthesis flow (:mod:`hw.synth`) and
the command-line tools ``hw.build``, ``hw.export``, ``hw.report``, ``hw.vectors``
(docs/architecture.md)."""
