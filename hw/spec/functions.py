"""The function registry: what each function of the library is, in one place.

Every tool reads a function's identity from its :class:`Function` entry: the configuration
(:class:`~hw.spec.config.Config`) validates against it, the planner and the datapath pick its
family's cut list and widths, the RTL builds ``unit`` (a class of :mod:`hw.rtl.units`), the golden
side runs ``twin`` and judges it with ``reference`` (functions of :mod:`golden`), the descriptor
states ``description`` and the special cases, the board protocol sends ``wire_code``, and the
command-line tools list :data:`FUNCTIONS`. Adding a function is one entry here plus its unit,
its twin, its reference and its tests (docs/architecture.md, "Adding a function").

Special cases are symbolic operand values (:data:`FLOAT_SYMBOLS`, :data:`FIXED_SYMBOLS`), turned
into bits for a format by :mod:`hw.emit.special_values`; their results come from the golden twin.
"""
import enum
from dataclasses import dataclass

__all__ = ["Family", "Function", "REGISTRY", "FUNCTIONS", "DEFAULT_FUNCTION", "lookup", "functions", "by_wire_code",
           "FLOAT_SYMBOLS", "FIXED_SYMBOLS"]


class Family(enum.Enum):
    """What a unit is built from, which decides its parameters, cut list and datapath."""
    RSQRT = "inverse square root"      # range reduction, seed, Newton stages, round/pack
    ACTIVATION = "activation"          # 1 + alpha*x**2, its inverse square root, a product
    FMA = "fused multiply-add"         # product, alignment, sum, normalize, round/pack
    SELECT = "selection"               # no arithmetic: a test of the input and a multiplexer
    EXP = "exponential"                # t = |x|*log2(e), a table of parabolas, a product
    LOGISTIC = "logistic"              # exp(-c|x|) as EXP's, 1/(1 + E) from a table, products


# Operand values the special cases name, per kind of format.
FLOAT_SYMBOLS = ("+0", "-0", "+inf", "-inf", "quiet NaN", "signalling NaN", "smallest subnormal",
                 "smallest normal", "largest finite", "+1", "-1", "+2", "-2", "0.5")
FIXED_SYMBOLS = ("0", "+1 LSB", "-1 LSB", "+1", "-1", "largest", "most negative")

# The edges of a one-input function: signed zeros, infinities, NaNs, subnormals, extremes.
_X_FLOAT = ("+0", "-0", "+inf", "-inf", "quiet NaN", "signalling NaN", "smallest subnormal",
            "largest finite", "+1", "-1")
_X_FIXED = ("0", "+1 LSB", "-1 LSB", "+1", "largest", "most negative")
_X_CASES_FLOAT = tuple((f"x = {x}", {"x": x}) for x in _X_FLOAT)
_X_CASES_FIXED = tuple((f"x = {x}", {"x": x}) for x in _X_FIXED)
# Backward units: every x with grad = +1, then the edges of grad.
_GRAD_CASES_FLOAT = tuple((f"{case}, grad = +1", {**ops, "grad": "+1"}) for case, ops in _X_CASES_FLOAT) + tuple(
    (f"x = {x}, grad = {g}", {"x": x, "grad": g}) for x, g in (
        ("+1", "+0"), ("-1", "-0"), ("+1", "+inf"), ("+inf", "+inf"), ("-inf", "+inf"), ("+1", "quiet NaN")))
_GRAD_CASES_FIXED = tuple((f"{case}, grad = +1", {**ops, "grad": "+1"}) for case, ops in _X_CASES_FIXED) + (
    ("x = +1, grad = 0", {"x": "+1", "grad": "0"}), ("x = -1, grad = largest", {"x": "-1", "grad": "largest"}))
_FMA_CASES = (
    ("inf * 0 + 1", {"a": "+inf", "b": "+0", "c": "+1"}),
    ("inf * 1 - inf", {"a": "+inf", "b": "+1", "c": "-inf"}),
    ("NaN * 0 + 1", {"a": "quiet NaN", "b": "+0", "c": "+1"}),
    ("inf * -2 + 1", {"a": "+inf", "b": "-2", "c": "+1"}),
    ("1 * 1 - 1 (exact zero)", {"a": "+1", "b": "+1", "c": "-1"}),
    ("-0 * 1 + -0", {"a": "-0", "b": "+1", "c": "-0"}),
    ("+0 * -1 + +0", {"a": "+0", "b": "-1", "c": "+0"}),
    ("largest finite * 2 + 0 (overflow)", {"a": "largest finite", "b": "+2", "c": "+0"}),
    ("smallest normal * 0.5 + 0 (subnormal result)", {"a": "smallest normal", "b": "0.5", "c": "+0"}),
    ("1 * 1 + inf", {"a": "+1", "b": "+1", "c": "+inf"}),
)


@dataclass(frozen=True)
class Function:
    """One function of the library.

    Attributes
    ----------
    name : str
        The ``--function`` value and the first part of a configuration's name (``-`` becomes
        ``_``).
    family : Family
        What the unit is built from.
    operands : tuple of str
        Input operands in port order (runtime alpha, an option, is added after them).
    description : str
        One line for descriptors and ``--help``.
    wire_code : int
        The function's number in the board protocol's INFO reply (never reused).
    unit : str
        The RTL class, ``module:Class`` within :mod:`hw.rtl.units`.
    twin : str
        The bit-exact golden model, ``module:function`` within :mod:`golden`.
    reference : str
        The exact reference that judges the twin, ``module:function`` within :mod:`golden`.
    float_cases, fixed_cases : tuple
        Special cases ``(label, {operand: symbol})`` stated in the descriptor, per kind of format
        (empty: the function takes no such format).
    backward : bool
        The unit returns ``grad_out * f'(x)``.
    rival : str | None
        The function this one is measured against in the cost table (the paper's claim: ISRLU
        against ELU, and so on).
    identity_nonnegative : bool
        ``f(x) = x`` (``f'(x) = 1``) for ``x >= 0``.
    alpha_gradient : bool
        The unit returns ``grad_out * df/dalpha`` (a backward unit for learning alpha):
        ``df/dalpha = -x**3/2 * (1 + alpha*x**2)**-1.5`` (0 on ISRLU's identity half).
    sigmoid_form : bool
        An activation ``g`` taken to the sigmoid form ``(1 + g(x/2))/2`` (ISRU's analogue of
        ``sigmoid(x) = (1 + tanh(x/2))/2``): the core sees ``alpha/4``, the result is scaled by
        ``1/4`` and shifted by ``1/2`` (hw/spec/isru_sigmoid.py).
    """
    name: str
    family: Family
    operands: tuple
    description: str
    wire_code: int
    unit: str
    twin: str
    reference: str
    float_cases: tuple
    fixed_cases: tuple
    backward: bool = False
    identity_nonnegative: bool = False
    rival: object = None
    sigmoid_form: bool = False
    alpha_gradient: bool = False

    @property
    def takes_fixed(self):
        """Whether the function takes fixed-point formats."""
        return bool(self.fixed_cases)

    @property
    def has_alpha(self):
        """Whether the function has the hyperparameter alpha (a constant; the activations' also
        at run time)."""
        return self.family in (Family.ACTIVATION, Family.EXP)

    @property
    def has_seed(self):
        """Whether the unit has an inverse-square-root core (seed and Newton stages)."""
        return self.family in (Family.RSQRT, Family.ACTIVATION)

    @property
    def slug(self):
        """The name as an identifier (configuration names, module names)."""
        return self.name.replace("-", "_")


def _activation(name, wire_code, description, backward=False, identity_nonnegative=False, rival=None,
                sigmoid_form=False, alpha_gradient=False):
    fixed = not alpha_gradient
    return Function(name, Family.ACTIVATION, ("x", "grad") if backward else ("x",), description, wire_code,
                    unit="activation:ActivationUnit", twin="activation:activation",
                    reference="reference_float64:isru_sigmoid_exact" if sigmoid_form
                    else "reference:activation_exact",
                    float_cases=_GRAD_CASES_FLOAT if backward else _X_CASES_FLOAT,
                    fixed_cases=(_GRAD_CASES_FIXED if backward else _X_CASES_FIXED) if fixed else (),
                    backward=backward, identity_nonnegative=identity_nonnegative, rival=rival,
                    sigmoid_form=sigmoid_form, alpha_gradient=alpha_gradient)


def _logistic(name, wire_code, description, reference, backward=False):
    return Function(name, Family.LOGISTIC, ("x", "grad") if backward else ("x",), description, wire_code,
                    unit="logistic:LogisticUnit", twin="logistic:logistic",
                    reference=f"reference_float64:{reference}",
                    float_cases=_GRAD_CASES_FLOAT if backward else _X_CASES_FLOAT,
                    fixed_cases=_GRAD_CASES_FIXED if backward else _X_CASES_FIXED, backward=backward)


REGISTRY = {entry.name: entry for entry in (
    Function("rsqrt", Family.RSQRT, ("x",), "inverse square root 1/sqrt(x)", 0,
             unit="rsqrt:RsqrtUnit", twin="rsqrt:rsqrt", reference="reference:exact_value",
             float_cases=_X_CASES_FLOAT, fixed_cases=_X_CASES_FIXED),
    _activation("isrlu", 1, "ISRLU activation: x for x >= 0, else x/sqrt(1 + alpha*x^2)",
                identity_nonnegative=True, rival="elu"),
    _activation("isru", 2, "ISRU activation x/sqrt(1 + alpha*x^2)", rival="tanh"),
    _activation("isrlu-grad", 3, "ISRLU backward pass grad * f'(x) "
                "(f'(x) = 1 for x >= 0, else (1 + alpha*x^2)^-1.5)", backward=True, identity_nonnegative=True,
                rival="elu-grad"),
    _activation("isru-grad", 4, "ISRU backward pass grad * (1 + alpha*x^2)^-1.5", backward=True,
                rival="tanh-grad"),
    Function("fma", Family.FMA, ("a", "b", "c"), "fused multiply-add a*b + c with one rounding", 5,
             unit="fma:FmaUnit", twin="fma:fma", reference="reference:fma_mpfr",
             float_cases=_FMA_CASES, fixed_cases=()),
    Function("elu", Family.EXP, ("x",), "ELU activation: x for x >= 0, else alpha*(exp(x) - 1)", 7,
             unit="elu:EluUnit", twin="elu:elu", reference="reference_float64:elu_exact",
             float_cases=_X_CASES_FLOAT, fixed_cases=_X_CASES_FIXED, identity_nonnegative=True),
    Function("elu-grad", Family.EXP, ("x", "grad"), "ELU backward pass grad * f'(x) "
             "(f'(x) = 1 for x >= 0, else alpha*exp(x))", 8,
             unit="elu:EluUnit", twin="elu:elu", reference="reference_float64:elu_exact",
             float_cases=_GRAD_CASES_FLOAT, fixed_cases=_GRAD_CASES_FIXED, backward=True,
             identity_nonnegative=True),
    Function("relu", Family.SELECT, ("x",), "ReLU: x for x > 0, else +0 (NaN: quiet NaN)", 6,
             unit="relu:ReluUnit", twin="relu:relu", reference="reference:relu_exact",
             float_cases=_X_CASES_FLOAT, fixed_cases=_X_CASES_FIXED),
    _activation("isru-sigmoid", 9, "ISRU sigmoid (1 + ISRU(x/2))/2 = 1/2 + x/(4*sqrt(1 + alpha*x^2/4))",
                sigmoid_form=True, rival="sigmoid"),
    _activation("isru-sigmoid-grad", 10, "ISRU sigmoid backward pass grad * (1 + alpha*x^2/4)^-1.5 / 4",
                backward=True, sigmoid_form=True, rival="sigmoid-grad"),
    _logistic("tanh", 11, "hyperbolic tangent tanh(x)", "tanh_exact"),
    _logistic("tanh-grad", 12, "tanh backward pass grad * (1 - tanh(x)^2)", "tanh_exact", backward=True),
    _logistic("sigmoid", 13, "logistic sigmoid s(x) = 1/(1 + exp(-x))", "sigmoid_exact"),
    _logistic("sigmoid-grad", 14, "logistic sigmoid backward pass grad * s(x)*(1 - s(x))", "sigmoid_exact",
              backward=True),
    _activation("isrlu-alpha-grad", 15, "ISRLU alpha gradient grad * df/dalpha "
                "(0 for x >= 0, else -x^3/2 * (1 + alpha*x^2)^-1.5)", backward=True, identity_nonnegative=True,
                alpha_gradient=True),
    _activation("isru-alpha-grad", 16, "ISRU alpha gradient grad * -x^3/2 * (1 + alpha*x^2)^-1.5", backward=True,
                alpha_gradient=True),
)}
FUNCTIONS = tuple(REGISTRY)
DEFAULT_FUNCTION = FUNCTIONS[0]     # what a configuration computes unless told


def lookup(name):
    """The entry of function ``name``; a ValueError naming the choices otherwise."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"function must be one of {', '.join(FUNCTIONS)}, not {name!r}") from None


def functions(family=None, backward=None):
    """Names of the registered functions, in registry order, optionally of one family and
    direction."""
    return tuple(entry.name for entry in REGISTRY.values()
                 if (family is None or entry.family is family)
                 and (backward is None or entry.backward == backward))


def by_wire_code(code):
    """The entry with board-protocol number ``code`` (None if there is none)."""
    return next((entry for entry in REGISTRY.values() if entry.wire_code == code), None)
