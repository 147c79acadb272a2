"""The documentation cannot rot: every relative link of README.md and docs/ resolves, the README's
Python examples run, every ``python -m`` command in a code block names a module whose ``--help``
lists each of its flags, and a representative set of those commands runs as written."""
import os
import re
import shlex
import subprocess
import sys
import warnings
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md"] + sorted((REPO / "docs").glob("*.md"))
LINK = re.compile(r"\]\(([^)\s]+)\)")
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _blocks(page, language):
    return [body for lang, body in BLOCK.findall(page.read_text()) if lang == language]


def _commands():
    """``(page, argv)`` of every ``python -m`` line in the pages' shell blocks (continuations
    joined, comments dropped)."""
    found = []
    for page in PAGES:
        for body in _blocks(page, "sh"):
            for line in body.replace("\\\n", " ").splitlines():
                line = line.split(" #")[0].strip()
                if line.startswith("python -m "):
                    found.append((page.name, line))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    missing = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        if not path.exists():
            missing.append(target)
    assert not missing, f"{page.name}: broken links {missing}"


@lru_cache(maxsize=None)
def _help(module):
    done = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True,
                          env=_env(), cwd=REPO, timeout=120)
    assert done.returncode == 0, f"python -m {module} --help: {done.stderr}"
    return done.stdout


@pytest.mark.parametrize("page, line", _commands(), ids=[f"{p}:{c[10:40]}" for p, c in _commands()])
def test_documented_command_flags_exist(page, line):
    words = shlex.split(line.replace("[", " ").replace("]", " ").replace("|", " "))
    module = words[2]
    text = _help(module)
    unknown = [w.split("=")[0] for w in words[3:] if w.startswith("--") and w.split("=")[0] not in text]
    assert not unknown, f"{page}: `{line}` uses flags that `python -m {module}` does not have: {unknown}"


def test_readme_python_examples_run():
    from amaranth.hdl import UnusedElaboratable
    blocks = _blocks(REPO / "README.md", "python")
    assert len(blocks) >= 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)     # the Amaranth example only builds
        for body in blocks:
            exec(compile(body, "README.md", "exec"), {})


@pytest.mark.parametrize("line", [
    "python -m hw.export --format fp16 --function isrlu --out mycores/",
    "python -m hw.vectors --format bf16 --function isru-grad --out run/",
    "python -m hw.build --board list",
])
def test_representative_documented_commands_run(line, tmp_path):
    assert any(line in command for _, command in _commands()) or line in (REPO / "README.md").read_text()
    argv = [sys.executable] + shlex.split(line)[1:]
    done = subprocess.run(argv, capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
