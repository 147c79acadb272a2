"""Number formats shared by the golden model and the RTL.

``FloatFormat(exp_bits, man_bits)`` is an IEEE-754-style binary format: one sign bit, ``exp_bits``
biased exponent bits (bias ``2**(exp_bits-1) - 1``), ``man_bits`` stored fraction bits, subnormals,
infinities and NaNs (all-ones exponent). ``FixedFormat(int_bits, frac_bits)`` is signed two's
complement fixed point: ``int_bits`` integer bits *including* the sign bit and ``frac_bits``
fraction bits, so ``q4.12`` is a 16-bit word holding values in ``[-8, 8 - 2**-12]`` in steps of
``2**-12``.
"""
import re
from dataclasses import dataclass

__all__ = ["FloatFormat", "FixedFormat", "parse_format", "significand_span", "FP32", "FP16", "BF16",
           "FLOAT_EXP_BITS", "FLOAT_MAN_BITS", "FIXED_WIDTH"]

FLOAT_EXP_BITS = range(3, 9)
FLOAT_MAN_BITS = range(2, 24)
FIXED_WIDTH = range(4, 33)

_NAMED = {"fp32": (8, 23), "fp16": (5, 10), "bf16": (8, 7)}


def _check(name, value, accepted):
    if not isinstance(value, int) or isinstance(value, bool) or value not in accepted:
        raise ValueError(f"{name} must be an integer in {accepted.start}..{accepted.stop - 1}, "
                         f"not {value!r}")


@dataclass(frozen=True)
class FloatFormat:
    """IEEE-754-style binary floating-point format ``e{exp_bits}m{man_bits}``."""
    exp_bits: int
    man_bits: int

    def __post_init__(self):
        _check("exponent bits", self.exp_bits, FLOAT_EXP_BITS)
        _check("mantissa bits", self.man_bits, FLOAT_MAN_BITS)

    kind = "float"

    @property
    def name(self):
        for name, fields in _NAMED.items():
            if fields == (self.exp_bits, self.man_bits):
                return name
        return f"e{self.exp_bits}m{self.man_bits}"

    @property
    def width(self):
        return 1 + self.exp_bits + self.man_bits

    @property
    def precision(self):
        """Significand bits including the hidden bit."""
        return self.man_bits + 1

    @property
    def bias(self):
        return (1 << (self.exp_bits - 1)) - 1

    @property
    def emin(self):
        """Exponent of the smallest normal number."""
        return 1 - self.bias

    @property
    def emax(self):
        return self.bias

    @property
    def exp_max_field(self):
        return (1 << self.exp_bits) - 1

    @property
    def quiet_nan(self):
        """The canonical quiet NaN the units return: sign 0, exponent all ones, fraction MSB set."""
        return (self.exp_max_field << self.man_bits) | (1 << (self.man_bits - 1))

    @property
    def inf(self):
        return self.exp_max_field << self.man_bits

    @property
    def sign_bit(self):
        return 1 << (self.width - 1)

    @property
    def max_finite(self):
        return ((self.exp_max_field - 1) << self.man_bits) | ((1 << self.man_bits) - 1)

    def __str__(self):
        return self.name


@dataclass(frozen=True)
class FixedFormat:
    """Signed two's-complement fixed point ``q{int_bits}.{frac_bits}`` (sign included in int_bits)."""
    int_bits: int
    frac_bits: int

    def __post_init__(self):
        for name, value in (("integer bits", self.int_bits), ("fraction bits", self.frac_bits)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"fixed-point {name} must be a non-negative integer, not {value!r}")
        if self.int_bits < 1:
            raise ValueError(f"fixed-point integer bits (sign included) must be at least 1, "
                             f"not {self.int_bits}")
        if self.width not in FIXED_WIDTH:
            raise ValueError(f"fixed-point width (integer + fraction bits) must be in "
                             f"{FIXED_WIDTH.start}..{FIXED_WIDTH.stop - 1}, not {self.width} "
                             f"(q{self.int_bits}.{self.frac_bits})")

    kind = "fixed"

    @property
    def name(self):
        return f"q{self.int_bits}.{self.frac_bits}"

    @property
    def width(self):
        return self.int_bits + self.frac_bits

    @property
    def max_int(self):
        """Largest representable value, as a raw integer."""
        return (1 << (self.width - 1)) - 1

    def __str__(self):
        return self.name


def significand_span(fmt):
    """``(precision, lowest, highest)`` of a nonzero operand as the units unpack it: its normalized
    significand's bits (hidden bit included) and the range of its exponent (``x = 1.f * 2**e``).
    Floats: ``(precision, emin - man_bits, emax)`` (subnormals normalized); fixed point, whose
    magnitude is normalized to ``width`` bits: ``(width, -frac_bits, int_bits - 1)``."""
    if isinstance(fmt, FloatFormat):
        return fmt.precision, fmt.emin - fmt.man_bits, fmt.emax
    return fmt.width, -fmt.frac_bits, fmt.int_bits - 1


FP32 = FloatFormat(8, 23)
FP16 = FloatFormat(5, 10)
BF16 = FloatFormat(8, 7)

_ACCEPTED = "fp32, fp16, bf16, eXmY (X in 3..8, Y in 2..23) or qI.F (signed fixed point, I+F in 4..32)"


def parse_format(text):
    """Parse ``fp32``, ``fp16``, ``bf16``, ``eXmY`` or ``qI.F`` into a format object."""
    if isinstance(text, (FloatFormat, FixedFormat)):
        return text
    key = str(text).strip().lower()
    if key in _NAMED:
        return FloatFormat(*_NAMED[key])
    if match := re.fullmatch(r"e(\d+)m(\d+)", key):
        try:
            return FloatFormat(int(match[1]), int(match[2]))
        except ValueError as error:
            raise ValueError(f"format {text!r}: {error}") from None
    if match := re.fullmatch(r"q(\d+)\.(\d+)", key):
        try:
            return FixedFormat(int(match[1]), int(match[2]))
        except ValueError as error:
            raise ValueError(f"format {text!r}: {error}") from None
    raise ValueError(f"format must be one of {_ACCEPTED}; not {text!r}")
