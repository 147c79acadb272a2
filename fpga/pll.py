"""PLL divider search for the iCE40 (``icepll``) and the ECP5 (``ecppll``): the closest
achievable output frequency to a request, with the parameters that give it."""
from dataclasses import dataclass

__all__ = ["Ice40Pll", "Ecp5Pll", "ice40_pll", "ecp5_pll", "ice40_outputs", "ecp5_outputs",
           "ICE40_OUT_MHZ", "ECP5_OUT_MHZ"]

# iCE40 PLL limits (MHz), as checked by icepll: phase detector, VCO, output.
ICE40_PFD_MHZ = (10.0, 133.0)
ICE40_VCO_MHZ = (533.0, 1066.0)
ICE40_OUT_MHZ = (16.0, 275.0)
ICE40_IN_MHZ = (10.0, 133.0)
# ECP5 EHXPLLL limits (MHz), as checked by ecppll.
ECP5_PFD_MHZ = (3.125, 400.0)
ECP5_VCO_MHZ = (400.0, 800.0)
ECP5_OUT_MHZ = (10.0, 400.0)
ECP5_VCO_TARGET = 600.0           # ecppll breaks ties by the VCO closest to this


def _check_range(name, value, limits):
    low, high = limits
    if not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{name} must be in {low:g}..{high:g} MHz, not {value!r}")


@dataclass(frozen=True)
class Ice40Pll:
    """``SB_PLL40_*`` parameters (``FEEDBACK_PATH="SIMPLE"``):
    ``f_out = f_in * (divf + 1) / ((divr + 1) * 2**divq)``."""
    f_in_mhz: float
    divr: int
    divf: int
    divq: int
    filter_range: int

    @property
    def f_out_mhz(self):
        return self.f_in_mhz * (self.divf + 1) / ((self.divr + 1) * 2 ** self.divq)


@dataclass(frozen=True)
class Ecp5Pll:
    """``EHXPLLL`` parameters with ``CLKOP`` as feedback: ``f_out = f_in * clkfb_div /
    clki_div``, VCO ``f_out * clkop_div``."""
    f_in_mhz: float
    clki_div: int
    clkfb_div: int
    clkop_div: int

    @property
    def f_out_mhz(self):
        return self.f_in_mhz * self.clkfb_div / self.clki_div

    @property
    def clkop_cphase(self):
        """Coarse phase of ``CLKOP``: half a period, like ecppll."""
        return self.clkop_div // 2


def _ice40_filter_range(f_pfd):
    for limit, value in ((17, 1), (26, 2), (44, 3), (66, 4), (101, 5)):
        if f_pfd < limit:
            return value
    return 6


def ice40_pll(f_in_mhz, f_out_mhz):
    """The :class:`Ice40Pll` closest to ``f_out_mhz`` (icepll's search: the first best of DIVR
    0..15, DIVF 0..127, DIVQ 1..6); ``ValueError`` names a frequency outside the PLL's range."""
    _check_range("the iCE40 PLL input frequency", f_in_mhz, ICE40_IN_MHZ)
    _check_range("the iCE40 PLL output frequency", f_out_mhz, ICE40_OUT_MHZ)
    best = None
    for divr in range(16):
        f_pfd = f_in_mhz / (divr + 1)
        if not ICE40_PFD_MHZ[0] <= f_pfd <= ICE40_PFD_MHZ[1]:
            continue
        for divf in range(128):
            f_vco = f_pfd * (divf + 1)
            if not ICE40_VCO_MHZ[0] <= f_vco <= ICE40_VCO_MHZ[1]:
                continue
            for divq in range(1, 7):
                pll = Ice40Pll(f_in_mhz, divr, divf, divq, _ice40_filter_range(f_pfd))
                if best is None or abs(pll.f_out_mhz - f_out_mhz) < abs(best.f_out_mhz - f_out_mhz):
                    best = pll
    if best is None:
        raise ValueError(f"no iCE40 PLL setting reaches {f_out_mhz} MHz from {f_in_mhz} MHz")
    return best


def ice40_outputs(f_in_mhz):
    """Every output frequency (MHz, ascending) an iCE40 PLL makes from ``f_in_mhz``."""
    _check_range("the iCE40 PLL input frequency", f_in_mhz, ICE40_IN_MHZ)
    outputs = set()
    for divr in range(16):
        f_pfd = f_in_mhz / (divr + 1)
        if ICE40_PFD_MHZ[0] <= f_pfd <= ICE40_PFD_MHZ[1]:
            for divf in range(128):
                if ICE40_VCO_MHZ[0] <= f_pfd * (divf + 1) <= ICE40_VCO_MHZ[1]:
                    outputs.update(Ice40Pll(f_in_mhz, divr, divf, divq, 0).f_out_mhz
                                   for divq in range(1, 7))
    return sorted(f for f in outputs if ICE40_OUT_MHZ[0] <= f <= ICE40_OUT_MHZ[1])


def ecp5_outputs(f_in_mhz):
    """Every output frequency (MHz, ascending) an ECP5 ``EHXPLLL`` makes from ``f_in_mhz``
    (with ``CLKOP`` as feedback: some ``CLKOP_DIV`` puts the VCO in range)."""
    if not isinstance(f_in_mhz, (int, float)) or not f_in_mhz > 0:
        raise ValueError(f"the ECP5 PLL input frequency must be positive, not {f_in_mhz!r} MHz")
    outputs = set()
    for clki_div in range(1, 129):
        f_pfd = f_in_mhz / clki_div
        if ECP5_PFD_MHZ[0] <= f_pfd <= ECP5_PFD_MHZ[1]:
            for clkfb_div in range(1, 81):
                f_out = f_pfd * clkfb_div
                low = max(1, -(-ECP5_VCO_MHZ[0] // f_out))
                if ECP5_OUT_MHZ[0] <= f_out <= ECP5_OUT_MHZ[1] and low * f_out <= ECP5_VCO_MHZ[1] \
                        and low <= 128:
                    outputs.add(round(f_out, 9))      # one entry per frequency, however reached
    return sorted(outputs)


def ecp5_pll(f_in_mhz, f_out_mhz):
    """The :class:`Ecp5Pll` closest to ``f_out_mhz`` (ecppll's search: CLKI_DIV 1..128,
    CLKFB_DIV 1..80, CLKOP_DIV 1..128, ties to the VCO nearest 600 MHz)."""
    _check_range("the ECP5 PLL output frequency", f_out_mhz, ECP5_OUT_MHZ)
    if not isinstance(f_in_mhz, (int, float)) or not f_in_mhz > 0:
        raise ValueError(f"the ECP5 PLL input frequency must be positive, not {f_in_mhz!r} MHz")
    best, best_key = None, None
    for clki_div in range(1, 129):
        f_pfd = f_in_mhz / clki_div
        if not ECP5_PFD_MHZ[0] <= f_pfd <= ECP5_PFD_MHZ[1]:
            continue
        for clkfb_div in range(1, 81):
            f_out = f_pfd * clkfb_div
            low = max(1, int(ECP5_VCO_MHZ[0] / f_out))
            for clkop_div in range(low, 129):
                f_vco = f_out * clkop_div
                if f_vco > ECP5_VCO_MHZ[1]:
                    break
                if f_vco < ECP5_VCO_MHZ[0]:
                    continue
                key = (abs(f_out - f_out_mhz), abs(f_vco - ECP5_VCO_TARGET))
                if best_key is None or key < best_key:
                    best, best_key = Ecp5Pll(f_in_mhz, clki_div, clkfb_div, clkop_div), key
    if best is None:
        raise ValueError(f"no ECP5 PLL setting reaches {f_out_mhz} MHz from {f_in_mhz} MHz")
    return best
