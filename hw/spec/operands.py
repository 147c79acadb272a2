"""Operand arrays, read the same way by every tool (``golden.eval``, ``sim.run``, ``fpga.client``).

An operand is a 1-D array (a 0-D one is one element) holding either

* integers: raw bit patterns of the format, each in ``-2**(W-1) .. 2**W - 1`` (``W`` the format's
  width). A negative integer is its ``W``-bit two's-complement pattern, so signed fixed-point words
  and ``bits.view(np.int16)`` read as they are; a value outside that range is an error, never
  masked; or
* floats whose dtype is the format itself: values, taken bit for bit (``ml_dtypes.bfloat16`` for
  bf16, ``np.float16`` for fp16, ``np.float32`` for fp32). ``np.save`` stores a bfloat16 array as
  2-byte void (``<V2``), so for bf16 such a file reads as bfloat16 values.

Any other array is an :class:`OperandError` whose one-line message names the file and the fix.
"""
import numpy as np

from .formats import FloatFormat

__all__ = ["OperandError", "VALUE_DTYPES", "HELP", "bits_dtype", "operand_bits", "read_operand",
           "load_operand"]

# Format name -> name of the NumPy dtype whose arrays are taken as values of that format.
VALUE_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
# What the tools' --help says about operand files.
HELP = ("1-D .npy arrays of one length: integer raw bit patterns of the format (negative integers "
        "as two's complement), or float arrays of the format's own dtype, taken as values "
        "(ml_dtypes.bfloat16 for bf16, np.float16 for fp16, np.float32 for fp32)")
_CONVERT = {"bf16": "x.astype(ml_dtypes.bfloat16)", "fp16": "x.astype(np.float16)",
            "fp32": "x.astype(np.float32)"}


class OperandError(ValueError):
    """An operand array the format cannot take; the message is one line naming its source."""


def bits_dtype(width):
    """The smallest unsigned NumPy dtype holding ``width`` bits."""
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if width <= np.dtype(dtype).itemsize * 8:
            return np.dtype(dtype)
    raise ValueError(f"no unsigned dtype holds {width} bits")


def _float_hint(fmt, dtype):
    name = fmt.name
    if name in VALUE_DTYPES:
        to_value = f"convert values with {_CONVERT[name]}"
    elif isinstance(fmt, FloatFormat):
        to_value = f"{name} has no NumPy dtype: pass raw bit patterns as integers"
    else:
        to_value = f"pass raw words as integers, e.g. np.round(x * 2**{fmt.frac_bits}).astype(np.int64)"
    if dtype.itemsize * 8 == fmt.width:
        return f"if they hold raw bits, did you mean x.view(np.uint{fmt.width})? else {to_value}"
    return to_value


def operand_bits(array, fmt, source="operand"):
    """``array`` as raw bit patterns of ``fmt`` (1-D, the smallest unsigned dtype of its width);
    :class:`OperandError` naming ``source`` if the module's rules reject it."""
    array = np.asarray(array)
    dtype, width = array.dtype, fmt.width
    if array.ndim > 1:
        raise OperandError(f"{source}: shape {array.shape}: operands must be 1-D "
                           f"(flatten with x.ravel())")
    array = array.reshape(-1)
    value_dtype = VALUE_DTYPES.get(fmt.name)
    if value_dtype is not None and (dtype.name == value_dtype or (
            value_dtype == "bfloat16" and dtype.kind == "V" and dtype.names is None
            and dtype.itemsize == 2)):
        return array.view(bits_dtype(width))
    if dtype.kind == "f" or dtype.name == "bfloat16":
        raise OperandError(f"{source}: {dtype.name} values, but this unit's format is {fmt.name}: "
                           f"{_float_hint(fmt, dtype)}")
    if dtype.kind not in "iu":
        raise OperandError(f"{source}: dtype {dtype} is neither integer bit patterns nor "
                           f"{fmt.name} values")
    low = -(1 << (width - 1)) if dtype.kind == "i" else 0
    bad = np.flatnonzero((array < low) | (array >= (1 << width))) if array.size else []
    if len(bad):
        index = int(bad[0])
        raise OperandError(f"{source}: element {index} is {int(array[index])}, which does not fit "
                           f"{width}-bit {fmt.name} patterns ({low} .. {(1 << width) - 1}); "
                           f"{len(bad)} of {array.size} out of range")
    return (array.astype(np.int64) & ((1 << width) - 1)).astype(bits_dtype(width))


def read_operand(path):
    """The array of the ``.npy`` file ``path`` (no pickles), 1-D, of a dtype an operand may have,
    before its format is known; :class:`OperandError` naming the file otherwise."""
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise OperandError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise OperandError(f"{path}: is a folder, not a .npy file") from None
    except PermissionError:
        raise OperandError(f"{path}: permission denied") from None
    except (OSError, ValueError, EOFError):
        raise OperandError(f"{path}: not a readable .npy file (np.save writes them)") from None
    if not isinstance(array, np.ndarray):
        raise OperandError(f"{path}: a .npz archive, not a .npy file of one array")
    if array.ndim > 1:
        raise OperandError(f"{path}: shape {array.shape}: operands must be 1-D "
                           f"(flatten with x.ravel())")
    if array.dtype.kind not in "iufV" or array.dtype.names is not None:
        raise OperandError(f"{path}: dtype {array.dtype} is neither integer bit patterns nor "
                           f"float values")
    return array.reshape(-1)


def load_operand(path, fmt):
    """The ``.npy`` file ``path`` as raw bits of ``fmt``: :func:`read_operand`, then
    :func:`operand_bits`."""
    return operand_bits(read_operand(path), fmt, str(path))
