"""What a notebook's setup cell does in the sandbox: start it and bring it to the state earlier notebooks leave.

On a real account the resources the earlier notebooks created persist; in a fresh sandbox (a new Colab runtime,
`python -m sandbox reset`) they do not, so `prepare("04")` runs 01-03 headless first when their resources are
missing. It also does, in the sandbox, the manual steps a learner does by hand on Telegram: disabling the bot's
privacy mode in BotFather (notebook 01's prerequisite) and, for notebook 03, having the class write in the group.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import requests

import sandbox

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
ORDER = ["01-bot-telegram", "02-ingestao-aws", "03-webhook", "04-etl", "05-analise", "06-limpeza"]
PREFIX = "telegram"
# The class conversation notebook 03 shows arriving; `SANDBOX_MESSAGES` makes it bigger (the demo uses ~2,000).
CONVERSATION = {"participants": 12, "days": 7, "messages": int(os.environ.get("SANDBOX_MESSAGES", "240"))}


def prepare(notebook: str) -> dict[str, str]:
    """Start (or join) the sandbox, set the environment, and catch up on the notebooks before `notebook`."""
    index = _index(notebook)
    variables = sandbox.start()
    prepare_group()
    if ORDER[index] != "06-limpeza":  # teardown removes whatever exists; it never rebuilds anything first
        catch_up(notebook)
    if (
        ORDER[index] == "03-webhook"
        and telegram_control("GET", "status")["messages"] < CONVERSATION["messages"]
    ):
        # On a real account the learner writes in the group while notebook 03 runs.
        telegram_control("POST", "chat/generate", CONVERSATION)
    if ORDER[index] == "06-limpeza" and "CONFIRMAR_LIMPEZA" not in os.environ:
        # Nothing real can be lost in the sandbox; on an account the learner types "sim" when asked.
        os.environ["CONFIRMAR_LIMPEZA"] = "sim"
        print("No sandbox não há dados de verdade: a limpeza dos buckets já vem confirmada.")
    print(
        f"Sandbox pronto: AWS em {variables['AWS_ENDPOINT_URL']}, Telegram em {variables['TELEGRAM_API_URL']}"
    )
    return variables


def prepare_group() -> dict:
    """The README's prerequisite, done in BotFather on Telegram: privacy off, then the bot re-added to the group.

    Also sets TELEGRAM_CHAT_ID to the simulated group; returns the emulator's status.
    """
    status = telegram_control("GET", "status")
    os.environ["TELEGRAM_CHAT_ID"] = str(status["group"]["id"])
    if status["privacy_mode"]:
        telegram_control("POST", "botfather/setprivacy", {"enabled": False, "readd": True})
    return status


def catch_up(notebook: str) -> list[str]:
    """Run, headless, the notebooks before `notebook` whose resources are missing; returns the ones run."""
    ran = []
    for earlier in ORDER[1 : _index(notebook)]:
        if not _done(earlier):
            _run(earlier)
            ran.append(earlier)
    return ran


def telegram_control(method: str, path: str, body: dict | None = None) -> dict:
    """Call the Telegram emulator's control routes (`/_sandbox/...`)."""
    response = requests.request(
        method,
        f"{os.environ['TELEGRAM_API_URL']}/_sandbox/{path}",
        json=body,
        headers=sandbox.control_headers(),  # the per-run secret from the state file
        timeout=120,
    )
    answer = response.json()
    if not answer.get("ok"):
        raise sandbox.SandboxError(answer.get("error") or f"o sandbox respondeu {response.status_code}")
    return answer["result"]


def _index(notebook: str) -> int:
    for index, name in enumerate(ORDER):
        if name.startswith(notebook):
            return index
    raise ValueError(f"notebook desconhecido: {notebook!r} (use um de {', '.join(n[:2] for n in ORDER)})")


def _done(notebook: str) -> bool:
    """Whether the resources a notebook creates exist (checked by name, as a real account would be)."""
    import boto3

    if notebook == "02-ingestao-aws":
        names = [f"{PREFIX}-ingestao"]
    elif notebook == "03-webhook":
        return bool(_bot_api("getWebhookInfo")["url"])
    elif notebook == "04-etl":
        names = [f"{PREFIX}-etl"]
    elif notebook == "05-analise":
        glue = boto3.client("glue")
        try:
            glue.get_table(DatabaseName=PREFIX, Name="mensagens")
        except glue.exceptions.EntityNotFoundException:
            return False
        return True
    else:
        return True
    client = boto3.client("lambda")
    try:
        for name in names:
            client.get_function(FunctionName=name)
    except client.exceptions.ResourceNotFoundException:
        return False
    return True


def _bot_api(method: str) -> dict:
    url = f"{os.environ['TELEGRAM_API_URL']}/bot{os.environ['TELEGRAM_BOT_TOKEN']}/{method}"
    return requests.get(url, timeout=30).json()["result"]


def _run(notebook: str) -> None:
    """Execute an earlier notebook headless, as the learner would have, so its resources exist."""
    import papermill

    print(f"Refazendo o notebook {notebook} (o sandbox não tem o que ele cria)...")
    with tempfile.TemporaryDirectory() as folder:
        papermill.execute_notebook(
            str(NOTEBOOKS / f"{notebook}.ipynb"),
            str(Path(folder) / f"{notebook}.ipynb"),
            cwd=str(NOTEBOOKS),
            progress_bar=False,
            kernel_name="python3",
        )
