"""Where the tools read their own files and write their work files: never into an installed package.

* :func:`source_root`: the repository root when the packages run from a source checkout (a plain
  clone, or ``pip install -e .``), ``None`` when they are installed (``pip install .``), where
  ``site-packages`` may not be writable and a repository's other files (docs/, export/,
  pyproject.toml) are not there.
* :func:`work_dir`: work files a user may want to look at (formal counterexamples): ``build/`` in
  the source checkout, else ``build/`` in the current folder.
* :func:`cache_dir`: files kept between runs only to save time (simulator builds, tables):
  ``$ISRLU_IP_CACHE``, else ``$XDG_CACHE_HOME/isrlu-ip`` (``~/.cache/isrlu-ip``).

What a tool needs at run time beside the Python modules (the exhaustive check's C++ harness) is
package data (``[tool.setuptools.package-data]`` in pyproject.toml), found next to its module.
"""
import hashlib
import os
import re
from pathlib import Path

__all__ = ["PROJECT", "CACHE_ENV", "source_root", "work_dir", "cache_dir", "source_digest"]

PROJECT = "isrlu-ip"
CACHE_ENV = "ISRLU_IP_CACHE"
_CANDIDATE = Path(__file__).resolve().parents[2]      # the folder holding the hw package


def source_root():
    """The repository root (holding this project's ``pyproject.toml`` beside ``hw/``) when
    running from a source checkout, else ``None``."""
    pyproject = _CANDIDATE / "pyproject.toml"
    try:
        text = pyproject.read_text()
    except OSError:
        return None
    if re.search(rf'^name\s*=\s*"{re.escape(PROJECT)}"', text, re.MULTILINE) is None:
        return None
    return _CANDIDATE


def work_dir(*parts):
    """``build/PARTS`` in the source checkout, else in the current folder (not created here)."""
    root = source_root()
    return (root if root is not None else Path.cwd()) / "build" / Path(*parts)


def cache_dir(*parts):
    """``$ISRLU_IP_CACHE/PARTS``, else ``$XDG_CACHE_HOME/isrlu-ip/PARTS`` (default
    ``~/.cache/isrlu-ip/PARTS``); not created here."""
    root = os.environ.get(CACHE_ENV)
    if root:
        base = Path(root)
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / PROJECT
    return base.joinpath(*parts)


def source_digest(root, sources):
    """SHA-256 (hex) of the Python sources ``sources`` (files, or folders searched for ``*.py``)
    under the folder ``root``, each with its path relative to ``root``: what keys the caches of
    builds derived from them."""
    root = Path(root)
    digest = hashlib.sha256()
    for source in sources:
        paths = [root / source] if source.endswith(".py") else sorted((root / source).rglob("*.py"))
        for path in paths:
            digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()
