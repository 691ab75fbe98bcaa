"""pytest plugin for the strict notebook check: a fresh sandbox (seed 42) of its own for `pytest --nbval`.

Loaded with `-p tests.nbval_sandbox`. The sandbox gets its own home and free ports, so a sandbox the user left
running is neither used nor disturbed; the notebooks' setup cells join this one through the environment.
"""

from __future__ import annotations

from contextlib import ExitStack

from tutorial.harness import isolated_sandbox

_session = ExitStack()


def pytest_sessionstart(session) -> None:
    _session.enter_context(isolated_sandbox(seed=42))


def pytest_sessionfinish(session, exitstatus) -> None:
    _session.close()
