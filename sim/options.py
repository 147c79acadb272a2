"""Test-suite options that can also come from the environment (for CI and ``pytest -n``)."""
import os

import pytest

__all__ = ["option", "flag", "with_full"]


def option(config, name, env, default, cast=int):
    """The pytest option ``name`` of ``config`` if given, else the environment variable ``env``
    (through ``cast``), else ``default``."""
    value = config.getoption(name, default=None)
    if value is None and os.environ.get(env):
        value = cast(os.environ[env])
    return default if value is None else value


def flag(config, name, env):
    """A yes/no option: ``name`` given, or ``env`` set to anything but empty or ``0``."""
    return bool(option(config, name, env, False, cast=lambda text: text != "0"))


def with_full(cases, default):
    """``cases`` (tuples of test parameters) as ``pytest.param``s, each marked ``full`` (run only
    with ``--sim-full``) unless it is one of ``default``."""
    return [pytest.param(*case, marks=() if case in default else pytest.mark.full) for case in cases]
