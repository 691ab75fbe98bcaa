"""pytest plugin for the strict notebook check: a fresh sandbox (seed 42) of its own for `pytest --nbval`.

Loaded with `-p tests.nbval_sandbox`. The sandbox gets its own home and free ports, so a sandbox the user left
running is neither used nor disturbed; the notebooks' setup cells join this one through the environment.

The notebooks run in order, one after the other, in one sandbox: under pytest-xdist they form one scope that a
single worker runs (tests/conftest.py). The sandbox starts before the first notebook's kernel and stops after the
last notebook, so the environment it sets never reaches the other tests that worker runs.
"""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from tutorial.harness import isolated_sandbox
from tutorial.runner import load_nbformat

# Loaded before nbval (a `-p` plugin comes before installed ones): nbval's nbformat then skips the 1.5 s grammar.
load_nbformat()

_sandbox = ExitStack()
_running = False


def _is_notebook(item) -> bool:
    return item is not None and item.path.suffix == ".ipynb"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    # Before nbval starts the notebook's kernel, which inherits this environment.
    global _running
    if _is_notebook(item) and not _running:
        _sandbox.enter_context(isolated_sandbox(seed=42))
        _running = True


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem) -> None:
    if _is_notebook(item) and not _is_notebook(nextitem):
        _stop()


def pytest_sessionfinish(session, exitstatus) -> None:
    _stop()


def _stop() -> None:
    global _running
    _sandbox.close()
    _running = False
