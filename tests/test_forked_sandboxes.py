"""The suite's forked sandbox servers (tests/forked.py) behave as the `python -m sandbox serve` a learner starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sandbox
from tests import forked
from tests.sandbox.aws_fixtures import start_sandbox, stop_sandbox
from tutorial.harness import isolated_sandbox


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def command_line(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


def first_ids(running) -> dict[str, str]:
    """Ids the seed decides: a role's and an HTTP API's."""
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    trust = {"Version": "2012-10-17", "Statement": [statement]}
    role = running.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    api = running.client("apigatewayv2").create_api(Name="a", ProtocolType="HTTP")
    return {"role": role["RoleId"], "api": api["ApiId"]}


def test_the_suite_starts_sandboxes_through_the_fork_server(tmp_path):
    running = start_sandbox(tmp_path)
    try:
        server = running.state["pid"]
        assert server != running.process.pid  # forked by the fork server, not the launcher
        assert command_line(parent_of(server))[-3:-1] == ["sandbox", "serve"]
        assert sandbox.SERVER_COMMAND == forked.server_command(os.environ[forked.Sandboxes.socket_variable])
        # `python -m sandbox down` recognizes the process by these words of its command line.
        assert {"sandbox", "serve"} <= set(command_line(server))
    finally:
        stop_sandbox(running)
    assert gone_within(server, 15)


def test_the_sandbox_of_the_notebook_tests_is_forked_too():
    """`sandbox.start` gives the server only an allowlist of this environment: the launcher must not need more."""
    with isolated_sandbox():
        server = sandbox.status()["pid"]
        assert command_line(parent_of(server))[-3:-1] == ["sandbox", "serve"]


def test_a_forked_server_draws_the_same_ids_as_an_ordinary_one(tmp_path, request):
    running = start_sandbox(tmp_path / "forked", seed=7)
    try:
        from_fork = first_ids(running)
    finally:
        stop_sandbox(running)
    request.getfixturevalue("ordinary_sandbox_server")  # the same start, as `python -m sandbox serve`
    running = start_sandbox(tmp_path / "ordinary", seed=7)
    try:
        assert running.state["pid"] == running.process.pid  # this one is the process started
        assert first_ids(running) == from_fork
    finally:
        stop_sandbox(running)


def test_down_stops_a_forked_server_and_its_launcher_exits_with_it(tmp_path, monkeypatch):
    running = start_sandbox(tmp_path)
    server = running.state["pid"]
    monkeypatch.setenv("SANDBOX_HOME", str(tmp_path))
    down = subprocess.run(
        [sys.executable, "-m", "sandbox", "down"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=sandbox.PROJECT_ROOT,
    )
    assert down.returncode == 0, down.stderr
    assert running.process.wait(timeout=30) == 0
    assert not alive(server)
    assert not sandbox.config.state_path(tmp_path).exists()  # removed by the server itself, as it stopped


def test_a_killed_launcher_takes_its_server_along(tmp_path):
    running = start_sandbox(tmp_path)
    server = running.state["pid"]
    os.kill(running.process.pid, signal.SIGKILL)
    running.process.wait()
    assert gone_within(server, 30), "the forked server outlived its launcher"


@pytest.mark.parametrize("setting", ["PYTHONHASHSEED=3", "MOTO_PRETTIFY_RESPONSES=1"])
def test_a_setting_read_at_import_gets_an_ordinary_server_that_honours_it(setting, tmp_path, monkeypatch):
    name, value = setting.split("=")
    monkeypatch.setenv(name, value)  # read when Python or moto start: the fork server read it long ago
    running = start_sandbox(tmp_path)
    try:
        assert running.state["pid"] == running.process.pid
        assert f"{name}={value}" in Path(f"/proc/{running.state['pid']}/environ").read_bytes().decode()
    finally:
        stop_sandbox(running)
