"""The suite's forked kernels (tests/forked.py) behave as the kernels a learner's Jupyter starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from tests import forked

REPORT = (
    "import json, os, sys, matplotlib, pandas\n"
    "print(json.dumps({'pid': os.getpid(), 'ppid': os.getppid(), 'cwd': os.getcwd(), 'path0': sys.path[0],\n"
    "    'marker': os.environ.get('FORKED_KERNEL_MARKER'), 'backend': matplotlib.get_backend(),\n"
    "    'columns': pandas.get_option('display.max_columns')}))"
)


def run(client, code: str) -> tuple[dict, list[str]]:
    printed = []

    def keep(message):
        if message["msg_type"] == "stream":
            printed.append(message["content"]["text"])

    reply = client.execute_interactive(code, timeout=60, output_hook=keep)
    return reply["content"], printed


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("FORKED_KERNEL_MARKER", "this test")
    monkeypatch.chdir(tmp_path)
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    yield manager, client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def test_the_suite_starts_kernels_through_the_fork_server():
    first = Path(os.environ["JUPYTER_PATH"].split(os.pathsep)[0])
    spec = json.loads((first / "kernels" / "python3" / "kernel.json").read_text())
    assert spec["argv"][1] == str(Path(forked.__file__).resolve())
    assert Path(os.environ[forked.Kernels.socket_variable]).is_socket()


def test_a_forked_kernel_has_the_launchers_folder_environment_and_inline_charts(kernel, tmp_path):
    manager, client = kernel
    reply, printed = run(client, REPORT)
    assert reply["status"] == "ok"
    seen = json.loads(printed[0])
    launcher = manager.provisioner.process.pid
    assert seen["pid"] != launcher  # forked by the server, not the launcher itself
    assert seen["cwd"] == str(tmp_path)
    assert seen["marker"] == "this test"
    assert seen["backend"] == "module://matplotlib_inline.backend_inline"
    assert seen["columns"] == 20  # pandas' limit inside a kernel (0, a terminal's width, in a plain script)
    assert seen["path0"] != os.path.dirname(forked.__file__)


def test_an_interrupt_reaches_the_forked_kernel(kernel):
    manager, client = kernel
    client.execute("import time; time.sleep(60)")
    time.sleep(1)
    manager.interrupt_kernel()
    reply = client.get_shell_msg(timeout=30)
    assert reply["content"]["ename"] == "KeyboardInterrupt"


def test_a_killed_launcher_takes_its_kernel_along(kernel):
    manager, client = kernel
    _, printed = run(client, REPORT)
    forked = json.loads(printed[0])["pid"]
    os.kill(manager.provisioner.process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(forked, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail("the forked kernel outlived its launcher")


def test_without_the_server_the_launcher_starts_an_ordinary_kernel(tmp_path, monkeypatch):
    monkeypatch.setenv(forked.Kernels.socket_variable, str(tmp_path / "nothing-here.sock"))
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        reply, printed = run(client, REPORT)
        assert reply["status"] == "ok"
        assert (
            json.loads(printed[0])["pid"] == manager.provisioner.process.pid
        )  # the launcher became the kernel
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_a_setting_read_at_import_gets_an_ordinary_kernel_that_honours_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONWARNINGS", "ignore")  # Python reads it when the server starts, never again
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        _, printed = run(client, REPORT)
        seen = json.loads(printed[0])
        assert seen["pid"] == manager.provisioner.process.pid
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_the_server_ends_with_the_run_that_started_it(tmp_path):
    """A test run killed outright (a CI timeout) leaves no kernel server behind."""
    socket_path = tmp_path / "server.sock"
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            f"server = subprocess.Popen([sys.executable, {forked.__file__!r}, 'kernel', 'serve', {str(socket_path)!r}])\n"
            "print(server.pid, flush=True)\n"
            "time.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    server = int(starter.stdout.readline())
    deadline = time.monotonic() + 60
    while not socket_path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert socket_path.exists()
    starter.kill()
    starter.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not Path(f"/proc/{server}").exists() or " Z " in Path(f"/proc/{server}/stat").read_text():
            return
        time.sleep(0.2)
    os.kill(server, signal.SIGKILL)
    pytest.fail("the kernel server outlived the run that started it")
