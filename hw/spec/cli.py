"""What every command line shares: its exit codes, ``--version`` and one-line usage errors.

Exit codes: :data:`EXIT_OK` 0 done; :data:`EXIT_MISMATCH` 1 a check compared and found a
difference (results against the golden model, a CRC, unmet timing); :data:`EXIT_USAGE` 2 bad usage
or bad input, reported before any long work as one line ``PROG: error: ...`` on stderr, no
traceback; :data:`EXIT_EXTERNAL` 3 a board or an external tool (simulator, Yosys, nextpnr) failed.
"""
import argparse
import re
import sys
from importlib.metadata import PackageNotFoundError, version

from .paths import source_root

__all__ = ["EXIT_OK", "EXIT_MISMATCH", "EXIT_USAGE", "EXIT_EXTERNAL", "package_version",
           "Parser", "command_line", "fail"]

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_EXTERNAL = 0, 1, 2, 3


def package_version():
    """This project's version: from ``pyproject.toml`` in a source checkout (so an export does
    not depend on how the package is installed), else from the installed package's metadata."""
    root = source_root()
    if root is not None:
        text = (root / "pyproject.toml").read_text()
        match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
        if match:
            return match.group(1)
    try:
        return version("isrlu-ip")
    except PackageNotFoundError:
        return "unknown"


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line, ``PROG: error: MESSAGE``, exit 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {' '.join(str(message).split())}\n")


def command_line(prog, description=None, **kwargs):
    """A :class:`Parser` for ``python -m prog`` with ``--version`` (``isrlu-ip VERSION``)."""
    parser = Parser(prog=f"python -m {prog}", description=description, **kwargs)
    parser.add_argument("--version", action="version", version=f"isrlu-ip {package_version()}")
    return parser


def comma_list(text):
    """The non-empty items of a comma-separated ``text``, stripped."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def comma_names(parser, flag, text, choices):
    """The names of ``flag``'s comma-separated ``text``, each among ``choices``, or a usage error
    (exit 2) naming the flag and the choices."""
    names = comma_list(text)
    if not names or any(name not in choices for name in names):
        parser.error(f"{flag} takes names among {', '.join(choices)}, not {text!r}")
    return names


def fail(parser, message, status):
    """Print ``PROG: error: MESSAGE`` on stderr (``parser``'s program name) and return ``status``,
    for ``return fail(...)`` where the error is not a usage error."""
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return status
