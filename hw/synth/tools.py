"""Where the command-line tools are: the running interpreter's ``bin/`` first (the virtual
environment ``pip install`` put them in), then ``PATH``."""
import os
import shutil
import sys
from pathlib import Path

__all__ = ["tool_path"]


def tool_path(name):
    """Path of the executable ``name``, or ``None`` when it is not installed."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return shutil.which(name, path=search)
