"""CRC update networks for the gateware: any number of data bits per clock, as flat XOR trees."""
from functools import reduce
from operator import xor

from amaranth.hdl import Cat, Const, Value

__all__ = ["crc_next"]


def _update_masks(width, poly, data_bits, reflected):
    """For each bit of the next CRC register, the set of inputs it is the XOR of, as a bit mask
    over ``crc[0..width-1]`` (mask bits ``0..width-1``) and ``data[0..data_bits-1]`` (mask bits
    ``width..``). Reflected CRCs shift data in LSB first, the others MSB first."""
    state = [1 << i for i in range(width)]
    order = range(data_bits) if reflected else reversed(range(data_bits))
    for bit in order:
        if reflected:
            feedback = state[0] ^ (1 << (width + bit))
            state = state[1:] + [0]
        else:
            feedback = state[width - 1] ^ (1 << (width + bit))
            state = [0] + state[:-1]
        state = [s ^ feedback if (poly >> i) & 1 else s for i, s in enumerate(state)]
    return state


def crc_next(crc, data, *, poly, reflected):
    """The CRC register ``crc`` after shifting in every bit of ``data`` (an Amaranth value):
    reflected (``poly`` bit-reversed, data LSB first, like ``zlib.crc32`` over little-endian
    bytes) or not (data MSB first, like CRC-16/CCITT over one byte). No initial or final XOR."""
    crc, data = Value.cast(crc), Value.cast(data)
    width = len(crc)
    if not 0 < poly < (1 << width):
        raise ValueError(f"poly must fit the {width}-bit CRC register, not {poly:#x}")
    inputs = [crc[i] for i in range(width)] + [data[i] for i in range(len(data))]
    bits = []
    for mask in _update_masks(width, poly, len(data), reflected):
        terms = [inputs[i] for i in range(len(inputs)) if (mask >> i) & 1]
        bits.append(reduce(xor, terms) if terms else Const(0, 1))
    return Cat(*bits)
