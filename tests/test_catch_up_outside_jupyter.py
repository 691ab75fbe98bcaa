"""Catching up from a plain Python script, in an environment with only the `[sandbox]` extra.

A clean virtual environment (no system site-packages) gets `.[sandbox]` installed (by uv, for speed), then a plain
script runs `tutorial.setup.prepare("05")` against a sandbox of its own: notebooks 01 to 04 run in a Jupyter kernel
that extra provides. Without a `python3` kernel, the learner is told in Portuguese what to install.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_client.kernelspec import NoSuchKernel

import sandbox
from tutorial import runner
from tutorial.harness import OTHER_WORLD, ROOT, own_sandbox

SCRIPT = """
import sandbox
from tutorial import setup

try:
    setup.prepare("05")
finally:
    sandbox.stop()
"""
UV = str(Path(sys.executable).with_name("uv"))
NO_KERNEL_SCRIPT = """
import sandbox
from tutorial import runner

try:
    runner.run_notebooks(["01-bot-telegram"])
except sandbox.SandboxError as error:
    print("SandboxError:", error)
"""


def _environment(tmp_path) -> dict[str, str]:
    """No Jupyter or AWS setting of this machine's: a home, Jupyter folders and a sandbox of the test's own."""
    env = {k: v for k, v in os.environ.items() if k not in OTHER_WORLD and not k.startswith("JUPYTER")}
    home = tmp_path / "home"
    home.mkdir()
    env |= {"HOME": str(home), "JUPYTER_DATA_DIR": str(home / "jupyter"), "JUPYTER_PATH": str(home / "empty")}
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    # A learner's new environment writes bytecode (uv installs without it): told not to, each process of the
    # sandbox and its kernels would compile their libraries from source again.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env | own_sandbox(tmp_path / "sandbox-home")


def _run(python, script: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(python), "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_prepare_runs_from_a_plain_script_with_only_the_sandbox_extra(tmp_path):
    environment = tmp_path / "venv"
    env = _environment(tmp_path)
    pip_env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    # uv (the dev extra's) builds the environment in seconds where pip takes minutes; `--seed` adds pip to it.
    subprocess.run([UV, "venv", "--quiet", "--seed", str(environment)], env=pip_env, check=True)
    python = environment / "bin" / "python"
    install = subprocess.run(
        [UV, "pip", "install", "--quiet", "--python", str(python), "-e", f"{ROOT}[sandbox]"],
        env=pip_env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    # Only the sandbox extra: no JupyterLab, no papermill, no test tools.
    listed = subprocess.run([str(python), "-m", "pip", "list"], capture_output=True, text=True).stdout.lower()
    assert "ipykernel" in listed and "jupyterlab " not in listed and "pytest " not in listed

    done = _run(python, SCRIPT, env, tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "Sandbox pronto" in done.stdout

    # The same environment without ipykernel (its kernelspec leaves with it): the error says what to install.
    subprocess.run(
        [str(python), "-m", "pip", "uninstall", "--quiet", "-y", "ipykernel"], check=True, env=pip_env
    )
    missing = _run(python, NO_KERNEL_SCRIPT, env, tmp_path)
    assert missing.returncode == 0, missing.stderr[-3000:]
    assert missing.stdout.strip() == (
        "SandboxError: Para refazer os notebooks é preciso o kernel do Jupyter: pip install ipykernel"
    )


def test_a_missing_kernel_is_a_portuguese_sandbox_error(monkeypatch):
    """Fast check of the same message: no kernelspec named python3 anywhere."""

    def no_kernel(self, name):
        raise NoSuchKernel(name)

    monkeypatch.setattr("jupyter_client.kernelspec.KernelSpecManager.get_kernel_spec", no_kernel)
    with pytest.raises(sandbox.SandboxError, match=r"^Para refazer .* pip install ipykernel$"):
        runner.run_notebooks(["01-bot-telegram"])
