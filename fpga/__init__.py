"""The unit on an FPGA board: a board-independent protocol top (UART, framed protocol, buffers,
exhaustive self-test; :mod:`fpga.top`), board wrappers (:mod:`fpga.icebreaker`,
:mod:`fpga.ulx3s`) and the host client (``python -m fpga.client``). See ``docs/board.md``."""
