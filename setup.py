"""Only what pyproject.toml cannot say: the pytest modules inside the ``sim`` package
(``sim/test_*.py``, ``sim/conftest.py``) stay out of the wheel (``tests/`` is no package of it
either: see ``[tool.setuptools.packages.find]``)."""
from fnmatch import fnmatch

from setuptools import setup
from setuptools.command.build_py import build_py

TEST_MODULES = ("test_*", "conftest")


class BuildPyWithoutTests(build_py):
    def find_package_modules(self, package, package_dir):
        return [(pkg, module, path) for pkg, module, path
                in super().find_package_modules(package, package_dir)
                if not any(fnmatch(module, pattern) for pattern in TEST_MODULES)]


setup(cmdclass={"build_py": BuildPyWithoutTests})
