"""`python -m sandbox up|status|env|reset|down`: a background process that people drive from a terminal."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tutorial.harness import own_sandbox_environment

ROOT = Path(__file__).resolve().parents[2]


def running(pid: int) -> bool:
    """Alive and not a zombie (a detached process is reaped by init, which may take a while in containers)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.fixture
def cli(tmp_path):
    """Runs the CLI with its state in tmp_path and on free ports; stops the sandbox at the end."""
    env = own_sandbox_environment(tmp_path)

    def run(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "sandbox", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    run.env = env
    yield run
    run("down")


def test_up_status_env_reset_down(cli):
    up = cli("up")
    assert up.returncode == 0, up.stderr
    assert "Sandbox no ar" in up.stdout
    aws_port = cli.env["SANDBOX_AWS_PORT"]
    assert f"http://127.0.0.1:{aws_port}" in up.stdout

    again = cli("up")
    assert again.returncode == 0
    assert "já está no ar" in again.stdout
    state = json.loads((Path(cli.env["SANDBOX_HOME"]) / "state.json").read_text())
    assert f"pid {state['pid']}" in again.stdout  # the same process, not a second one

    status = cli("status")
    assert status.returncode == 0
    assert f"pid {state['pid']}" in status.stdout
    assert "seed 42" in status.stdout
    assert "Memória" in status.stdout

    env = cli("env")
    assert env.returncode == 0
    exports = dict(line.removeprefix("export ").split("=", 1) for line in env.stdout.splitlines())
    assert exports["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{aws_port}"
    assert exports["AWS_DEFAULT_REGION"] == "sa-east-1"
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(exports)
    if "TELEGRAM_BOT_TOKEN" in exports:  # present once the Telegram emulator is part of the process
        bot_id, secret = exports["TELEGRAM_BOT_TOKEN"].split(":")
        assert bot_id.isdigit() and len(secret) == 35
        assert exports["TELEGRAM_API_URL"] == f"http://127.0.0.1:{cli.env['SANDBOX_TELEGRAM_PORT']}"

    reset = cli("reset", "--seed", "7")
    assert reset.returncode == 0
    assert "seed 7" in reset.stdout
    assert "seed 7" in cli("status").stdout

    down = cli("down")
    assert down.returncode == 0
    assert "parado" in down.stdout
    assert not (Path(cli.env["SANDBOX_HOME"]) / "state.json").exists()
    assert not running(state["pid"])


def test_status_and_env_when_not_running_say_how_to_start(cli):
    status = cli("status")
    assert status.returncode == 3
    assert "python -m sandbox up" in status.stdout
    env = cli("env")
    assert env.returncode == 1
    assert "não está rodando" in env.stderr and "python -m sandbox up" in env.stderr
    assert "não estava rodando" in cli("down").stdout


def test_busy_port_is_reported_with_how_to_choose_another(cli):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(cli.env["SANDBOX_AWS_PORT"])))
        squatter.listen()
        up = cli("up")
    assert up.returncode == 1
    port = cli.env["SANDBOX_AWS_PORT"]
    assert f"A porta {port} já está em uso" in up.stderr
    assert "SANDBOX_AWS_PORT=" in up.stderr


def test_stale_pid_file_is_cleaned_up(cli):
    home = Path(cli.env["SANDBOX_HOME"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (home / "state.json").write_text(json.dumps({"pid": dead.pid, "host": "127.0.0.1", "aws_port": 1}))
    status = cli("status")
    assert status.returncode == 3
    assert not (home / "state.json").exists()


def test_server_that_dies_at_start_points_to_its_log(cli):
    cli.env["SANDBOX_S3_LATENCY_MS"] = "muito"  # read only by the serve process
    up = cli("up")
    assert up.returncode == 1
    assert "parou ao iniciar" in up.stderr
    assert str(Path(cli.env["SANDBOX_HOME"]) / "sandbox.log") in up.stderr
    assert "SANDBOX_S3_LATENCY_MS" in up.stderr  # the log's last lines say what went wrong


def test_chat_and_botfather_commands_talk_to_the_running_sandbox(cli):
    assert cli("up").returncode == 0

    privacy = cli("botfather", "setprivacy", "disable")
    post = cli("chat", "post", "--from", "ana", "--text", "Oi turma, alguém viu o #athena? 🚀")
    people = cli("chat", "participants")

    assert privacy.returncode == 0, privacy.stderr
    assert post.returncode == 0, post.stderr
    assert "Ana" in post.stdout
    assert people.returncode == 0, people.stderr
    assert "Ana" in people.stdout
    state = json.loads((Path(cli.env["SANDBOX_HOME"]) / "state.json").read_text())
    pending = requests.get(
        f"http://127.0.0.1:{cli.env['SANDBOX_TELEGRAM_PORT']}/_sandbox/updates",
        headers={"X-Sandbox-Secret": state["control_secret"]},
        timeout=10,
    )
    texts = [u["message"].get("text") for u in pending.json()["result"] if "message" in u]
    assert "Oi turma, alguém viu o #athena? 🚀" in texts
