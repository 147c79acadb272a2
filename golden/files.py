"""Output files of the golden-side tools: checked before any work, written whole or not at all."""
import json
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "write_json", "check_output"]


def atomic_write(path, write):
    """Write ``path`` through ``write(temporary path)`` in the same folder, then rename: a reader
    never sees half a file, and a failure leaves none."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path, data, indent=1):
    """``data`` as indented JSON to ``path``, atomically."""
    def write(tmp):
        with open(tmp, "w") as file:
            json.dump(data, file, indent=indent)
            file.write("\n")
    atomic_write(path, write)


def check_output(parser, flag, path, suffixes):
    """``path`` as a Path after checking it (its suffix, an existing writable folder), or a usage
    error naming ``flag`` (exit 2); None stays None."""
    if path is None:
        return None
    path = Path(path)
    if path.suffix not in suffixes:
        parser.error(f"{flag} {path}: the file name must end in {' or '.join(suffixes)}")
    if not path.parent.is_dir():
        parser.error(f"{flag} {path}: folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK):
        parser.error(f"{flag} {path}: folder {path.parent} is not writable")
    return path
