"""The specification layer, pure Python and NumPy (no Amaranth, no golden model): formats, the
function registry, ``Config``, datapath widths and tables, the pipeline plan and device models.
Every other room reads it; it reads nothing else of the project."""
