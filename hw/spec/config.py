"""The one configuration object every part of the project takes.

``Config`` is immutable and validated on construction. It keeps what was asked for
(:attr:`Config.requested`) apart from what it resolved: unspecified parameters get the defaults
documented on each field, resolved once here so that the golden model, the RTL, the co-simulation
and the reports cannot drift apart, and :meth:`Config.with_` re-resolves every default from the
request. What a function is comes from the registry (:mod:`hw.spec.functions`); the device model
(:mod:`hw.spec.devices`) shapes the datapath's products and the pipeline plan.
"""
from dataclasses import dataclass, field, fields

from .devices import DEFAULT_DEVICE, device as device_model
from .formats import FIXED_WIDTH, FixedFormat, FloatFormat, parse_format
from .functions import DEFAULT_FUNCTION, FUNCTIONS, Family, functions, lookup
from .magic import default_magic, magic_range
from .elu import elu_datapath
from .logistic import kind_of, logistic_datapath
from .plan import optional_cuts

__all__ = ["Config", "Request", "FUNCTIONS", "SEEDS", "ROUNDINGS", "NEWTON_STAGES", "LANES", "ACTIVATIONS", "BACKWARD"]

ACTIVATIONS = functions(Family.ACTIVATION)
BACKWARD = functions(backward=True)
DEFAULT_ALPHA = 1.0
SEEDS = ("magic", "lut", "pwl", "quad")
# How the inverse square root's last bit is decided: by rounding the approximation (``direct``), or
# exactly, by the sign of ``y_mid**2 * x - 1`` for the midpoint next to it (``residual``).
ROUNDINGS = ("direct", "residual")
POLYNOMIAL_SEEDS = ("pwl", "quad")
NEWTON_STAGES = range(0, 4)
LANES = range(1, 17)
MAX_TABLE_BITS = 16
MAGIC_VIRTUAL_BIAS = 127
# Largest full (one entry per significand) table chosen by default.
DEFAULT_FULL_TABLE_BITS = 11
DEFAULT_TABLE_BITS = 12
# Error of the bare magic seed and of a table seed with T index bits, for choosing default stages.
MAGIC_SEED_ERROR = 0.0343
# Activations: the inverse square root of 1 + alpha*x**2 is computed to 2p + guard bits where the
# target is correct rounding (precision up to 12 bits: the 16-bit formats), else p + guard bits
# (target: 1 ulp; FP32). Correct rounding on every 16-bit input needs 4 guard bits forward and 9
# backward (whose f'(x) = (1 + alpha*x**2)**-1.5 falls to 1/8 over a binade of the operand: three
# bits of its relative precision); at least 19 bits in all, so that a 12-bit table fits.
CORRECTLY_ROUNDED_MAX_BITS = 12
ACTIVATION_GUARD_BITS = 6
FORWARD_CORRECTLY_ROUNDED_GUARD_BITS = 4
BACKWARD_CORRECTLY_ROUNDED_GUARD_BITS = 9
SIGMOID_CORRECTLY_ROUNDED_GUARD_BITS = 8     # the ISRU sigmoid's forward unit (docs/isru_sigmoid.md)
MIN_ACTIVATION_CORE_BITS = 19
BACKWARD_EXTRA_GUARD_BITS = 3
# Piecewise-linear seed: index bits by default, and its predicted relative error 2**-(2T + 2).
PWL_TABLE_BITS = 11
MAX_PWL_TABLE_BITS = 14
# Piecewise-quadratic seed: index bits tried for a default (the fewest that meet the target), the
# largest accepted, and its predicted relative error 0.0781 * 8**-(T - 1) (Chebyshev interpolation
# of m**-0.5 on intervals of width 2**-(T - 1)).
QUAD_TABLE_BITS = range(6, 11)
MAX_QUAD_TABLE_BITS = 12
# The backward units' polynomial seeds approximate m**-1.5 (no Newton stage, no cube): its second
# and third derivatives are 5 and 7 times those of m**-0.5, and so are the seeds' errors.
POWER3_ERROR_FACTOR = {"pwl": 5.0, "quad": 7.0}
# Activation seed tables: 12 index bits (one Newton stage) where the target is correct rounding,
# 8 (two stages) for the wider formats.
ACTIVATION_TABLE_BITS = 12
ACTIVATION_WIDE_TABLE_BITS = 8


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value):
    """An integer parameter in hex, anything else as given."""
    return f"{value:#x}" if _is_int(value) else repr(value)


def _check_range(name, value, accepted):
    if not _is_int(value) or value not in accepted:
        raise ValueError(f"{name} must be an integer in {accepted.start}..{accepted.stop - 1}, "
                         f"not {value!r}")


def _seed_error(seed, table_bits, power=1):
    """Predicted relative error of a seed of ``m**-(power/2)``: the magic constant's, a table of
    constants ``2**-(T + 1)``, a table of lines ``2**-(2T + 2)``, a table of parabolas
    ``0.0781 * 8**-(T - 1)`` (``power`` 3: lines 5 times, parabolas 7 times that)."""
    if seed == "magic":
        return MAGIC_SEED_ERROR
    if seed == "lut":
        return 2.0 ** -(table_bits + 1)
    error = 2.0 ** -(2 * table_bits + 2) if seed == "pwl" else 0.0781 * 8.0 ** -(table_bits - 1)
    return error * (POWER3_ERROR_FACTOR[seed] if power == 3 else 1.0)


@dataclass(frozen=True)
class Request:
    """The parameters of a :class:`Config` as they were given (``None``: the default)."""
    format: object
    function: object = DEFAULT_FUNCTION
    seed: object = None
    magic: object = None
    table_bits: object = None
    newton: object = None
    lanes: object = 1
    out_format: object = None
    alpha: object = None
    runtime_alpha: object = False
    pipeline: object = None
    device: object = None
    rounding: object = None

    def as_dict(self):
        """The parameters by name (a :class:`Config`: as resolved)."""
        return {item.name: getattr(self, item.name) for item in fields(Request)}


@dataclass(frozen=True)
class Config(Request):
    """One unit configuration: the parameters (the fields of :class:`Request`) as resolved;
    :attr:`requested` as given.

    Parameters
    ----------
    format : FloatFormat | FixedFormat | str
        Input number format: ``fp32``, ``fp16``, ``bf16``, ``eXmY`` or ``qI.F``.
    function : str
        A function of the registry (:data:`~hw.spec.functions.FUNCTIONS`): ``rsqrt``, the
        activations and their backward units (``grad_out * f'(x)``), ``fma``.
    alpha : float
        Activation functions only: the hyperparameter ``alpha > 0`` (default 1.0), a build-time
        constant rounded to the datapath's working precision.
    runtime_alpha : bool
        Activation functions only: alpha arrives with every input, per lane, in the unit's format
        (``alpha`` must then be left unset).
    pipeline : int | None
        The pipelining knob shared by every unit: how many of the unit's optional pipeline
        registers to use (see :mod:`hw.spec.plan`); default: all of them (the shortest clock period).
    seed : str
        ``lut`` (a table of constants; the rsqrt default), ``pwl`` (a table of lines: ``c0 - c1*u``
        with ``u`` the operand bits below the index, one small product), ``quad`` (a table of
        parabolas: ``+ c2*u**2``, three products) or ``magic``. The activations default to a
        polynomial seed alone (no Newton stage) where its predicted error meets the target: lines
        where they suffice (BF16), else parabolas (FP16, FP32); see :meth:`seed_power` for the
        backward units.
    magic : int
        Magic constant (magic seed only); default: the best constant for the format and number of
        Newton stages (see :mod:`hw.spec.magic`). Must have the exponent field ``(3*bias - 1)/2``.
    table_bits : int
        Seed table index bits, lut: 2 up to the significand precision (at most 16), default one
        entry per significand (exact, correctly rounded table) for precisions up to 11 bits, else
        12; pwl: 2 up to the fraction bits (at most 14), default 11; quad: 2 up to the fraction
        bits (at most 12), default the fewest of 6..10 whose predicted error meets the target,
        raised until the bits below the index fit one DSP (FP16, FP32: 10).
    newton : int
        Newton-Raphson stages, 0..3; default: the fewest whose predicted error is below half an
        output ulp (0 for an exact table).
    lanes : int
        Independent lanes per stream payload, 1..16.
    out_format : FixedFormat | str | None
        Fixed point only: result format; default ``q{F//2 + 2}.{F}`` (fraction bits reduced to keep
        the width at most 32, integer bits raised to keep it at least 4), which holds ``rsqrt`` of
        every positive input. Results beyond it
        saturate.
    device : str | None
        The device model the datapath and the pipeline plan are made for (:mod:`hw.spec.devices`);
        default ``ice40up5k``, the only one today.
    rounding : str | None
        rsqrt on floats only (else ``None``): ``direct`` (the approximation is rounded: correctly rounded where it is
        accurate enough, as the 16-bit defaults) or ``residual`` (correctly rounded by
        construction: the last bit is decided by the exact sign of ``y_mid**2 * x - 1`` for the
        midpoint ``y_mid`` beside the approximation, which must be within half an ulp;
        :mod:`hw.spec.residual`). Default ``residual`` above 12 significant bits (FP32: with a
        polynomial seed alone) where the approximation's predicted error allows it, else ``direct``
        (the magic seed with fewer than three Newton stages, say).

    Attributes
    ----------
    requested : Request
        The parameters as given; :meth:`with_` changes these and resolves again.
    entry : hw.spec.functions.Function
        The function's registry entry.
    """
    requested: Request = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)
        set_("requested", Request(**{item.name: getattr(self, item.name) for item in fields(Request)}))
        set_("format", parse_format(self.format))
        lookup(self.function)
        set_("device", device_model(DEFAULT_DEVICE.name if self.device is None else self.device).name)
        if not isinstance(self.format, FloatFormat) and not self.entry.takes_fixed:
            raise ValueError(f"function {self.function!r} takes a float format, not {self.format.name}")
        if not self.entry.has_seed:
            self._resolve_seedless(set_)
            self._check_pipeline()
            return
        if self.seed is not None and self.seed not in SEEDS:
            raise ValueError(f"seed must be one of {', '.join(SEEDS)}, not {self.seed!r}")
        _check_range("lanes", self.lanes, LANES)
        self._resolve_alpha(set_)
        self._resolve_out_format(set_)
        self._resolve_rounding(set_)
        if self.seed is None:
            set_("seed", self._default_seed())
        if self.seed == "lut":
            if self.magic is not None:
                raise ValueError(f"magic is only used with seed 'magic', not with seed 'lut' "
                                 f"(got magic={_show(self.magic)})")
            accepted = range(2, min(self.core_significand_bits, MAX_TABLE_BITS) + 1)
            if self.table_bits is None:
                if self.is_activation:
                    set_("table_bits", ACTIVATION_TABLE_BITS
                         if self.result_bits <= CORRECTLY_ROUNDED_MAX_BITS else ACTIVATION_WIDE_TABLE_BITS)
                elif self.significand_bits <= DEFAULT_FULL_TABLE_BITS:
                    set_("table_bits", self.significand_bits)
                else:
                    set_("table_bits", min(DEFAULT_TABLE_BITS, accepted.stop - 1))
            _check_range(f"table_bits for {self.format.name}", self.table_bits, accepted)
        elif self.seed in POLYNOMIAL_SEEDS:
            if self.magic is not None:
                raise ValueError(f"magic is only used with seed 'magic', not with seed {self.seed!r} "
                                 f"(got magic={_show(self.magic)})")
            largest = MAX_PWL_TABLE_BITS if self.seed == "pwl" else MAX_QUAD_TABLE_BITS
            accepted = range(2, min(self.core_significand_bits - 1, largest) + 1)
            if self.table_bits is None:
                set_("table_bits", min(PWL_TABLE_BITS, accepted.stop - 1) if self.seed == "pwl"
                     else self._default_quad_bits(accepted))
            _check_range(f"table_bits for {self.format.name} with seed {self.seed!r}", self.table_bits,
                         accepted)
        elif self.table_bits is not None:
            raise ValueError(f"table_bits is only used with seeds 'lut', 'pwl' and 'quad', not with seed "
                             f"'magic' (got table_bits={self.table_bits})")
        if self.newton is None:
            set_("newton", self._default_newton())
        _check_range("newton", self.newton, NEWTON_STAGES)
        if self.seed == "magic":
            if self.magic is None:
                set_("magic", default_magic(self.magic_bias, self.fraction_bits, self.newton))
            low, high = magic_range(self.magic_bias, self.fraction_bits)
            if not _is_int(self.magic) or not low <= self.magic <= high:
                raise ValueError(f"magic for {self.format.name} must be an integer in "
                                 f"{low:#x}..{high:#x}, not {self.magic!r}")
        if self.rounding == "residual" and self._predicted_error() > self._target_error():
            if self.requested.rounding is not None:      # else the default falls back to direct
                raise ValueError(f"rounding 'residual' needs an approximation within half an ulp, but seed "
                                 f"{self.seed!r} with {self.newton} Newton stage(s) predicts a relative error "
                                 f"of {self._predicted_error():.3g} (at most {self._target_error():.3g}): "
                                 f"use more table bits or a Newton stage")
            set_("rounding", "direct")
        self._check_pipeline()

    def _check_pipeline(self):
        if self.pipeline is not None:
            if not _is_int(self.pipeline) or self.pipeline < 0:
                raise ValueError(f"pipeline must be a non-negative integer, not {self.pipeline!r}")
            _check_range(f"pipeline for {self.function} with these parameters", self.pipeline,
                         range(0, optional_cuts(self) + 1))

    def _resolve_rounding(self, set_):
        if not (self.entry.family is Family.RSQRT and self.is_float):
            if self.rounding is not None:
                raise ValueError(f"rounding is only used with rsqrt on float formats, not with "
                                 f"{self.function} on {self.format.name} (got {self.rounding!r})")
        elif self.rounding is None:
            set_("rounding", "residual" if self.result_bits > CORRECTLY_ROUNDED_MAX_BITS else "direct")
        elif self.rounding not in ROUNDINGS:
            raise ValueError(f"rounding must be one of {', '.join(ROUNDINGS)}, not {self.rounding!r}")

    def _resolve_seedless(self, set_):
        _check_range("lanes", self.lanes, LANES)
        for name in ("seed", "magic", "table_bits", "newton", "out_format", "rounding") + (
                () if self.entry.has_alpha else ("alpha",)):
            if getattr(self, name) is not None:
                raise ValueError(f"{name} is not used with function {self.function!r} "
                                 f"(got {getattr(self, name)!r})")
        if self.runtime_alpha:
            raise ValueError(f"runtime_alpha is not used with function {self.function!r}")
        if isinstance(self.format, FixedFormat):
            set_("out_format", self.format)          # the result has the input's format
        if self.entry.has_alpha:
            self._resolve_alpha(set_)
        if self.entry.family is Family.EXP:
            elu_datapath(self.format, self.alpha, self.is_backward)      # validates alpha's range
        if self.entry.family is Family.LOGISTIC:
            logistic_datapath(self.format, kind_of(self.function), self.is_backward)

    def _resolve_alpha(self, set_):
        if not isinstance(self.runtime_alpha, bool):
            raise ValueError(f"runtime_alpha must be True or False, not {self.runtime_alpha!r}")
        if not self.entry.has_alpha:
            for name in ("alpha", "runtime_alpha"):
                if getattr(self, name) not in (None, False):
                    users = ([f for f in FUNCTIONS if lookup(f).has_alpha] if name == "alpha"
                             else [f for f in ACTIVATIONS if not lookup(f).sigmoid_form])
                    raise ValueError(f"{name} is only used with the functions {', '.join(users)}, "
                                     f"not with {self.function!r}")
            return
        if self.runtime_alpha:
            if self.entry.sigmoid_form:
                raise ValueError(f"runtime_alpha is not available with function {self.function!r} "
                                 "(alpha is a build-time constant)")
            if self.alpha is not None:
                raise ValueError(f"alpha must not be given with runtime_alpha (got alpha={self.alpha!r})")
            return
        alpha = DEFAULT_ALPHA if self.alpha is None else self.alpha
        try:
            value = float(alpha)
        except (TypeError, ValueError):
            raise ValueError(f"alpha must be a positive finite number, not {alpha!r}") from None
        if not (0 < value < float("inf")) or isinstance(alpha, bool):
            raise ValueError(f"alpha must be a positive finite number, not {alpha!r}")
        if self.entry.sigmoid_form and not self.is_backward and value < 1:
            raise ValueError(f"alpha must be at least 1 with function {self.function!r}, not {alpha!r} "
                             "(below 1 the ISRU sigmoid is no sigmoid: it crosses 0 at "
                             "x = -2/sqrt(1 - alpha))")
        set_("alpha", value)

    def _resolve_out_format(self, set_):
        if isinstance(self.format, FloatFormat):
            if self.out_format is not None:
                raise ValueError(f"out_format is only used with fixed-point formats, not with "
                                 f"{self.format.name}")
            return
        if self.out_format is None and self.is_activation:
            set_("out_format", self.format)
        elif self.out_format is None:
            frac = self.format.frac_bits
            integer = max(frac // 2 + 2, FIXED_WIDTH.start - frac)
            set_("out_format", FixedFormat(integer, min(frac, FIXED_WIDTH.stop - 1 - integer)))
        else:
            try:
                out = parse_format(self.out_format)
            except ValueError as error:
                raise ValueError(f"out_format: {error}") from None
            if not isinstance(out, FixedFormat):
                raise ValueError(f"out_format must be a fixed-point format qI.F, not {out.name}")
            set_("out_format", out)

    def _target_error(self):
        """Relative error of the inverse square root the default Newton stages aim below."""
        if self.is_activation:
            correctly_rounded = self.result_bits <= CORRECTLY_ROUNDED_MAX_BITS
            return 2.0 ** -(2 * self.result_bits + 3 if correctly_rounded else self.result_bits + 3)
        return 2.0 ** -(self.result_bits + 1)

    def _poly_power(self):
        """The power a polynomial seed would approximate if it stood alone (no Newton stage)."""
        return 3 if self.is_backward else 1

    def _default_seed(self):
        """The activations take a polynomial seed where it alone (no Newton stage) meets the target:
        lines (one small product; BF16) where they suffice, else parabolas (three; FP16, where the
        target is correct rounding). A table of constants and Newton stages otherwise."""
        if not (self.is_activation or self.rounding == "residual") or self.newton not in (None, 0):
            return "lut"
        target, power = self._target_error(), self._poly_power()
        if (self.table_bits in (None, PWL_TABLE_BITS) and self.core_significand_bits - 1 >= PWL_TABLE_BITS
                and _seed_error("pwl", PWL_TABLE_BITS, power) <= target):
            return "pwl"
        bits = [t for t in QUAD_TABLE_BITS if t <= self.core_significand_bits - 1
                and _seed_error("quad", t, power) <= target]
        if bits and self.table_bits in (None, *bits):
            return "quad"
        return "lut"

    def _default_quad_bits(self, accepted):
        """The fewest index bits whose parabolas meet the target alone, else the most tried; and
        at least enough that the ``U`` operand bits below the index fit one DSP (its slope
        product ``c1*u`` is then one SB_MAC16 with no tile sum after it) where the tried range
        allows."""
        target, power = self._target_error(), self._poly_power()
        tried = [bits for bits in QUAD_TABLE_BITS if bits in accepted] or [accepted.stop - 1]
        meeting = [bits for bits in tried if _seed_error("quad", bits, power) <= target]
        bits = meeting[0] if meeting else tried[-1]
        return max(bits, min(self.core_significand_bits - self.device_model.dsp_width, tried[-1]))

    def _default_newton(self):
        if self.seed == "lut" and self.table_bits == self.significand_bits and not self.is_activation:
            return 0
        target = self._target_error()
        if self.seed in POLYNOMIAL_SEEDS and _seed_error(self.seed, self.table_bits, self._poly_power()) <= target:
            return 0
        # A backward unit's polynomial seed approximates m**-0.5 once Newton stages follow it.
        stages = 0
        while (self._predicted_error(stages) > target
               or (stages == 0 and self.is_backward and self.seed in POLYNOMIAL_SEEDS)) \
                and stages < NEWTON_STAGES.stop - 1:
            stages += 1
        return stages

    def _predicted_error(self, stages=None):
        """Predicted relative error of the inverse square root after ``stages`` Newton stages
        (default: the configuration's): the seed's, squared (times 1.5) by each stage."""
        stages = self.newton if stages is None else stages
        error = _seed_error(self.seed, self.table_bits, self._poly_power() if stages == 0 else 1)
        for _ in range(stages):
            error = 1.5 * error * error
        return error

    # Derived quantities used by the golden model and the RTL alike.
    @property
    def entry(self):
        return lookup(self.function)

    @property
    def device_model(self):
        return device_model(self.device)

    @property
    def operands(self):
        """Input operands of the unit in port order: the function's, then ``alpha`` with
        ``runtime_alpha``."""
        return self.entry.operands + (("alpha",) if self.runtime_alpha else ())

    @property
    def is_float(self):
        return isinstance(self.format, FloatFormat)

    @property
    def is_activation(self):
        return self.entry.family is Family.ACTIVATION

    @property
    def is_backward(self):
        return self.entry.backward

    @property
    def seed_power(self):
        """The seed approximates ``m**-(seed_power/2)``: 3 where a backward unit's polynomial seed
        is its whole core (no Newton stage: ``f'(x) = (1 + alpha*x**2)**-1.5`` read off the table's
        lines or parabolas, no cube), else 1."""
        return 3 if self.is_backward and self.seed in POLYNOMIAL_SEEDS and self.newton == 0 else 1

    @property
    def fraction_bits(self):
        """Fraction bits of the normalized input significand (``1.f``); fixed point normalizes
        the magnitude (``width - 1`` bits for the activations, whose input may be negative)."""
        if self.is_float:
            return self.format.man_bits
        return self.format.width - (1 if self.is_activation else 2)

    @property
    def core_significand_bits(self):
        """Significand bits of the operand of the inverse square root: the input for rsqrt, the
        working precision of ``1 + alpha*x**2`` for the activations."""
        if not self.is_activation:
            return self.significand_bits
        if self.result_bits <= CORRECTLY_ROUNDED_MAX_BITS:
            guard = (BACKWARD_CORRECTLY_ROUNDED_GUARD_BITS if self.is_backward
                     else SIGMOID_CORRECTLY_ROUNDED_GUARD_BITS if self.entry.sigmoid_form
                     else FORWARD_CORRECTLY_ROUNDED_GUARD_BITS)
            return max(2 * self.result_bits + guard, MIN_ACTIVATION_CORE_BITS)
        return self.result_bits + ACTIVATION_GUARD_BITS + (BACKWARD_EXTRA_GUARD_BITS if self.is_backward else 0)

    @property
    def significand_bits(self):
        """Normalized significand bits including the leading one."""
        return self.fraction_bits + 1

    @property
    def result_bits(self):
        """Significant bits the result needs: the float precision, or the output's magnitude bits."""
        if self.is_float:
            return self.format.precision
        return self.out_format.width - 1

    @property
    def magic_bias(self):
        """Exponent bias of the float the magic constant is defined on (fixed point: a virtual one)."""
        return self.format.bias if self.is_float else MAGIC_VIRTUAL_BIAS

    @property
    def in_width(self):
        return self.format.width

    @property
    def out_width(self):
        return self.format.width if self.is_float else self.out_format.width

    @property
    def name(self):
        """Short identifier encoding every parameter, e.g. ``rsqrt_fp16_lut11_n0``."""
        pipeline = [] if self.pipeline is None else [f"p{self.pipeline}"]
        device = [] if self.device == DEFAULT_DEVICE.name else [self.device]
        alpha = ("arun" if self.runtime_alpha else "a" + f"{self.alpha:g}".replace(".", "p").replace("-", "m")
                 .replace("+", "")) if self.entry.has_alpha else None
        if not self.entry.has_seed:
            return "_".join([self.entry.slug, self.format.name.replace(".", "_")] + ([alpha] if alpha else [])
                            + pipeline + ([f"x{self.lanes}"] if self.lanes > 1 else []) + device)
        seed = f"magic{self.magic:x}" if self.seed == "magic" else f"{self.seed}{self.table_bits}"
        parts = [self.entry.slug, self.format.name.replace(".", "_"), seed, f"n{self.newton}"]
        if alpha:
            parts.insert(2, alpha)
        if not self.is_float:
            parts.insert(2, "to" + self.out_format.name.replace(".", "_"))
        if self.rounding == "residual":
            parts.append("residual")
        parts += pipeline
        if self.lanes > 1:
            parts.append(f"x{self.lanes}")
        return "_".join(parts + device)

    def to_dict(self):
        """Plain JSON-able description (formats as names, the constant in hex)."""
        out = {}
        for item in fields(Request):
            value = getattr(self, item.name)
            if isinstance(value, (FloatFormat, FixedFormat)):
                value = value.name
            elif item.name == "magic" and value is not None:
                value = f"{value:#x}"
            out[item.name] = value
        return out

    def with_(self, **changes):
        """The configuration asked for with ``changes``, every other default resolved anew."""
        return Config(**{**self.requested.as_dict(), **changes})
