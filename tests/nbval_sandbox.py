"""pytest plugin for the strict notebook check: a fresh sandbox (seed 42) of its own for `pytest --nbval`.

Loaded with `-p tests.nbval_sandbox`. The sandbox gets its own home and free ports, so a sandbox the user left
running is neither used nor disturbed; the notebooks' setup cells join this one through the environment.
"""

from __future__ import annotations

import os
import socket
import tempfile

import sandbox


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pytest_sessionstart(session) -> None:
    os.environ["SANDBOX_HOME"] = tempfile.mkdtemp(prefix="nbval-sandbox-")
    os.environ["SANDBOX_AWS_PORT"] = str(_free_port())
    os.environ["SANDBOX_TELEGRAM_PORT"] = str(_free_port())
    os.environ.pop("AMBIENTE", None)  # the notebooks' default: the sandbox
    sandbox.start(seed=42, reset=True)


def pytest_sessionfinish(session, exitstatus) -> None:
    sandbox.stop()
