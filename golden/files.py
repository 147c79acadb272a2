"""Output files of every tool: checked before any work, written whole or not at all.

A file is written to a temporary name in its own folder and renamed into place (``os.replace``),
so a reader never sees half a file and a failure leaves none; several files that belong together
(:func:`write_files`) are all written before any is renamed. ``-`` as a JSON path is stdout.
"""
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["atomic_write", "write_files", "write_json", "save_npy", "check_output",
           "check_output_dir", "json_on_stdout"]

STDOUT = "-"


def _temporary(path):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)            # the mode of a file opened for writing, not 0600
    return tmp


def write_files(writers):
    """Write every ``path`` of ``writers`` (path -> ``write(temporary path)``) to a temporary
    file beside it, then rename them all into place; on a failure remove the temporaries and
    write none."""
    temporaries = {}
    try:
        for path, write in writers.items():
            path = Path(path)
            temporaries[path] = _temporary(path)
            write(temporaries[path])
        for path, tmp in temporaries.items():
            os.replace(tmp, path)
    finally:
        for tmp in temporaries.values():
            if os.path.exists(tmp):
                os.unlink(tmp)


def atomic_write(path, write):
    """Write ``path`` through ``write(temporary path)`` in the same folder, then rename."""
    write_files({path: write})


def _npy_writer(array):
    def write(tmp):
        with open(tmp, "wb") as file:       # a file object: np.save adds no ".npy"
            np.save(file, array, allow_pickle=False)
    return write


def save_npy(arrays):
    """Save ``arrays`` (path -> array) as ``.npy`` files at exactly those paths, all or none."""
    write_files({path: _npy_writer(array) for path, array in arrays.items()})


def write_json(path, data, indent=1):
    """``data`` as indented JSON to ``path`` atomically, or to stdout if ``path`` is ``-``."""
    text = json.dumps(data, indent=indent, default=str) + "\n"
    if str(path) == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return

    def write(tmp):
        with open(tmp, "w") as file:
            file.write(text)
    atomic_write(path, write)


@contextlib.contextmanager
def json_on_stdout(path):
    """While JSON goes to stdout (``path`` is ``-``), everything else printed goes to stderr."""
    if str(path) != STDOUT:
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _check_folder(parser, flag, path, folder):
    if not folder.is_dir():
        parser.error(f"{flag} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        parser.error(f"{flag} {path}: folder {folder} is not writable")


def check_output(parser, flag, path, suffixes=None, *, stdout=False):
    """``path`` as a Path after checking it (its suffix if ``suffixes`` are given, an existing
    writable folder, not itself a folder), ``-`` if ``stdout`` allows it, or a usage error naming
    ``flag`` (exit 2); None stays None."""
    if path is None:
        return None
    if stdout and str(path) == STDOUT:
        return STDOUT
    path = Path(path)
    if suffixes and path.suffix not in suffixes:
        parser.error(f"{flag} {path}: the file name must end in {' or '.join(suffixes)}")
    if path.is_dir():
        parser.error(f"{flag} {path}: is a folder, not a file")
    _check_folder(parser, flag, path, path.parent)
    if path.exists() and not os.access(path, os.W_OK):
        parser.error(f"{flag} {path}: the file is not writable")
    return path


def check_output_dir(parser, flag, path):
    """``path`` as a Path after checking that it is a writable folder or can be made one in an
    existing folder, or a usage error naming ``flag`` (exit 2)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        parser.error(f"{flag} {path}: is a file, not a folder")
    _check_folder(parser, flag, path, path if path.is_dir() else path.parent)
    return path
