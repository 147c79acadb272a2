"""Device models: what the pipeline planner and the product tiling know of a target.

A :class:`Device` is data: the width of a DSP multiplier tile, which thin tiles become LUT rows,
when a wide product may hold a second register, and rough delays of each kind of step. The
planner (:mod:`hw.spec.plan`) and the tiling (:mod:`hw.spec.tiles`) take one; the RTL builds the
tiling it is given. Adding a target is one module beside :mod:`.ice40up5k` and one entry in
:data:`DEVICES`. Today every flow uses the iCE40UP5K model, the ECP5 build included (its 18x18
multipliers are tiled as 16x16 and its delays are the iCE40's: a pessimistic plan).
"""
from .device import Device
from .ice40up5k import ICE40UP5K

__all__ = ["Device", "DEVICES", "DEFAULT_DEVICE", "device"]

DEVICES = {model.name: model for model in (ICE40UP5K,)}
DEFAULT_DEVICE = ICE40UP5K


def device(name):
    """The device model called ``name`` (a :class:`Device` is returned as it is)."""
    if isinstance(name, Device):
        return name
    try:
        return DEVICES[name]
    except (KeyError, TypeError):
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {name!r}") from None
