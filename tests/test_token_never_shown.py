"""The bot token never reaches a notebook's outputs: every Bot API call goes through one helper that hides the URL."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import traceback

import nbformat
import pytest

from tests.sandbox.aws_fixtures import start_sandbox, stop_sandbox
from tutorial.harness import NOTEBOOKS, OTHER_WORLD, free_port

REAL_TOKEN = "7312845519:AAH" + "q" * 32  # real-shaped, not a real token
BOT_API_NOTEBOOKS = ["01-bot-telegram", "03-webhook", "06-limpeza"]


def code_cells(name: str) -> list[str]:
    return [
        c.source
        for c in nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells
        if c.cell_type == "code"
    ]


def helper_source(name: str) -> str:
    (cell,) = [source for source in code_cells(name) if "def telegram(method: str, **params):" in source]
    return cell[cell.index("def telegram(") :]


@pytest.mark.parametrize("name", BOT_API_NOTEBOOKS)
def test_every_bot_api_call_goes_through_the_helper(name):
    for source in code_cells(name):
        code = source.split("def telegram(", 1)[0]  # the helper is the one place that builds a URL
        uses = [
            line for line in code.splitlines() if "base_url" in line and not line.startswith("base_url =")
        ]
        assert not uses, f"{name}: chamada à Bot API fora de telegram(): {uses}"


def helper(name: str, api_url: str):
    import requests

    namespace = {"requests": requests, "base_url": f"{api_url}/bot{REAL_TOKEN}"}
    exec(compile(helper_source(name), f"<{name}>", "exec"), namespace)  # noqa: S102 - the notebook's own code
    return namespace["telegram"]


@pytest.mark.parametrize("name", BOT_API_NOTEBOOKS)
def test_a_network_error_never_shows_the_token(name):
    telegram = helper(name, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(RuntimeError) as error:
        telegram("getMe")
    shown = "".join(traceback.format_exception(error.type, error.value, error.tb))
    assert "sem resposta do Telegram (ConnectionError)" in shown
    assert REAL_TOKEN not in shown and "/bot" not in shown


@pytest.fixture(scope="module")
def telegram_emulator(tmp_path_factory):
    """The sandbox's Bot API: a well-formed token it does not know gets Telegram's 401, a malformed one 404."""
    running = start_sandbox(tmp_path_factory.mktemp("sandbox-token"))
    yield f"http://127.0.0.1:{running.state['telegram_port']}"
    stop_sandbox(running)


@pytest.mark.parametrize("name", BOT_API_NOTEBOOKS)
def test_a_wrong_token_says_token_invalido_not_keyerror(name, telegram_emulator):
    telegram = helper(name, telegram_emulator)
    with pytest.raises(
        RuntimeError, match=r"getMe: token inválido \(401 Unauthorized\)\. Copie o token"
    ) as error:
        telegram("getMe")
    assert REAL_TOKEN not in str(error.value)


def test_a_malformed_token_is_also_token_invalido(telegram_emulator):
    import requests

    namespace = {"requests": requests, "base_url": f"{telegram_emulator}/botnao-e-um-token"}
    exec(compile(helper_source("01-bot-telegram"), "<01>", "exec"), namespace)  # noqa: S102
    with pytest.raises(RuntimeError, match=r"getMe: token inválido \(404 Not Found\)"):
        namespace["telegram"]("getMe")


@pytest.mark.slow
def test_notebook_01_in_real_mode_against_an_unreachable_telegram_saves_no_token(tmp_path):
    environment = {name: value for name, value in os.environ.items() if name not in OTHER_WORLD} | {
        "AMBIENTE": "real",
        "TELEGRAM_BOT_TOKEN": REAL_TOKEN,
        "TELEGRAM_API_URL": f"http://127.0.0.1:{free_port()}",
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_DEFAULT_REGION": "sa-east-1",
        "SANDBOX_HOME": str(tmp_path / "sandbox"),
    }
    output = tmp_path / "01-bot-telegram.ipynb"
    # The tutorial's own runner, in a process of its own: what it prints on failure is checked too.
    script = f"from tutorial import runner; runner.run_notebooks(['01-bot-telegram'], output_dir={str(tmp_path)!r})"
    run = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0  # Telegram is unreachable: the notebook stops at the first call
    saved = output.read_text(encoding="utf-8")
    assert "getMe: sem resposta do Telegram (ConnectionError)" in saved
    assert "Ambiente: real" in saved
    for text in (saved, run.stdout, run.stderr, json.dumps(json.loads(saved))):
        assert REAL_TOKEN not in text
        assert not re.search(r"/bot\d+:", text)
