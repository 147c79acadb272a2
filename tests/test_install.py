"""A plain ``pip install .`` (not editable) works from any folder: the wheel holds the four packages
and what their tools read at run time (the exhaustive check's C++ harness), not the tests, and an
installed copy writes nowhere inside itself (work files under the current folder, caches under
``$ISRLU_IP_CACHE``). A wheel builds in a few seconds: this runs in the default suite."""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("hw", "golden", "sim", "fpga")
PACKAGE_DATA = ("sim/exhaustive_harness.cpp", "golden/data/exhaustive_records.json")


def _modern_setuptools():
    """Whether this environment's setuptools builds the wheel itself (license-files needs 77)."""
    try:
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel built from a copy of the source files (the checkout gets no build/ or egg-info)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy(REPO / name, src / name)
    for package in PACKAGES:
        shutil.copytree(REPO / package, src / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(out)]
    if _modern_setuptools():
        command.append("--no-build-isolation")     # no download: seconds
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0 and "--no-build-isolation" not in command:
        pytest.skip(f"cannot build a wheel here (no setuptools >= 77, none to fetch): "
                    f"{done.stderr.strip()[-300:]}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (path,) = out.glob("isrlu_ip-*.whl")
    return path


def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for name in PACKAGE_DATA:
        assert name in names, f"{name} is not in the wheel (pyproject.toml package-data)"
    assert {name.split("/")[0] for name in names if not name.startswith("isrlu_ip-")} \
        == set(PACKAGES)
    assert not [name for name in names if name.startswith("tests/")]
    assert not [name for name in names
                if Path(name).name.startswith("test_") or Path(name).name == "conftest.py"], \
        "pytest modules in the wheel"
    for package in PACKAGES:
        assert f"{package}/__init__.py" in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    metadata = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: BSD-2-Clause" in metadata


def test_installed_copy_keeps_out_of_itself(wheel, tmp_path):
    """The wheel unpacked as an install (no pyproject.toml beside it), used from another folder:
    no source checkout is seen, the harness is found, the version comes from the metadata, work
    files go to ./build, caches to $ISRLU_IP_CACHE."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = (
        "import json\n"
        "from hw.spec.paths import source_root\n"
        "from hw.spec.cli import package_version\n"
        "from sim.exhaustive import HARNESS_SOURCE\n"
        "from sim.formal import formal_root\n"
        "from sim.runner import cache_root\n"
        "import hw\n"
        "print(json.dumps({'root': source_root() and str(source_root()), 'hw': hw.__file__,\n"
        "    'version': package_version(), 'harness': HARNESS_SOURCE.is_file(),\n"
        "    'formal': str(formal_root()), 'cache': str(cache_root())}))\n")
    env = {key: value for key, value in os.environ.items() if key != "RSQRT_SIM_BUILD_DIR"}
    env.update(PYTHONPATH=str(site), ISRLU_IP_CACHE=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-c", probe], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["hw"].startswith(str(site))
    assert found["root"] is None
    assert found["harness"]
    assert found["version"] == _project_version()
    assert found["formal"] == str(elsewhere.resolve() / "build" / "formal")
    assert found["cache"] == str(tmp_path / "cache" / "sim_build")


def _project_version():
    return re.search(r'^version\s*=\s*"([^"]+)"', (REPO / "pyproject.toml").read_text(),
                     re.MULTILINE).group(1)
