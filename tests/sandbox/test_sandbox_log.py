"""The sandbox's log (`sandbox.log`, where error messages send learners) speaks pt-BR in every line of ours.

Two checks that need each other: every message our loggers can write is a pt-BR literal (read from the source,
so a line on a path no test drives is checked too), and every line of ours in a real sandbox's log file, after a
refused request and a failed webhook delivery, comes from one of those literals.
"""

from __future__ import annotations

import ast
import os
import re
import time
from pathlib import Path

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

import sandbox
from tutorial.harness import isolated_sandbox

ROOT = Path(__file__).resolve().parents[2]
LEVELS = {"debug", "info", "warning", "error", "exception", "critical"}
# English words no pt-BR sentence uses; data inside a message (ARNs, Telegram's own error texts) comes through
# %s and is not checked.
ENGLISH = {
    "and", "answer", "available", "cannot", "could", "delivery", "does", "dropped", "error", "failed", "from",
    "in", "inside", "invalid", "is", "method", "missing", "not", "of", "on", "queries", "query", "refused",
    "started", "stopped", "the", "to", "was", "with", "without",
}  # fmt: skip
# What `python -m sandbox serve` writes: "2026-01-01 10:00:00,123 INFO sandbox.aws.app: message".
RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ (?P<name>[\w.]+): (?P<message>.*)$")


def log_calls() -> list[tuple[str, int, ast.expr]]:
    """(file, line, first argument) of every `log.<level>(...)` / `logger.<level>(...)` call under sandbox/."""
    calls = []
    for path in sorted((ROOT / "sandbox").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in LEVELS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in {"log", "logger"}
                and node.args
            ):
                calls.append((str(path.relative_to(ROOT)), node.lineno, node.args[0]))
    return calls


def english_words(template: str) -> set[str]:
    return {
        word for word in re.findall(r"[a-z]+", re.sub(r"%[sdr]", " ", template).lower()) if word in ENGLISH
    }


def templates() -> list[str]:
    return [
        arg.value for _, _, arg in log_calls() if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
    ]


def test_every_message_the_sandbox_logs_is_a_pt_br_literal():
    calls = log_calls()
    assert len(calls) >= 10  # the scan finds the loggers (telegram, aws, athena, server)
    for path, line, arg in calls:
        assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), f"{path}:{line}: not a literal"
        assert not english_words(arg.value), f"{path}:{line}: English in {arg.value!r}"


def test_the_log_file_after_a_refused_request_and_a_failed_delivery_is_pt_br():
    with isolated_sandbox() as env:
        # A key the sandbox does not know: AWS refuses it (and the sandbox logs why).
        s3 = boto3.client(
            "s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="sa-east-1",
            aws_access_key_id="AKIAEXEMPLO00000000", aws_secret_access_key="x" * 40,
        )  # fmt: skip
        with pytest.raises(ClientError, match="InvalidAccessKeyId|InvalidClientTokenId"):
            s3.list_buckets()
        # A webhook at an HTTP API with no route (Telegram refuses loopback addresses): every delivery gets 404
        # and is retried.
        gateway = boto3.client("apigatewayv2", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="sa-east-1")
        endpoint = gateway.create_api(Name="sem-rotas", ProtocolType="HTTP")["ApiEndpoint"]
        api = f"{env['TELEGRAM_API_URL']}/bot{env['TELEGRAM_BOT_TOKEN']}"
        assert requests.post(f"{api}/setWebhook", data={"url": f"{endpoint}/webhook"}, timeout=30).ok
        deadline = time.monotonic() + 30
        while "last_error_message" not in requests.get(f"{api}/getWebhookInfo", timeout=30).json()["result"]:
            assert time.monotonic() < deadline, "no delivery failed"
            time.sleep(0.2)
        sandbox.stop()
        log = (Path(os.environ["SANDBOX_HOME"]) / "sandbox.log").read_text()

    ours = []
    for line in log.splitlines():
        record = RECORD.match(line)
        if record and record["name"].split(".")[0] == "sandbox":
            ours.append(record["message"])
    patterns = {t: re.compile(re.sub(r"%[sdr]", ".*", re.escape(t))) for t in templates()}
    used = set()
    for message in ours:
        matching = [t for t, pattern in patterns.items() if pattern.fullmatch(message)]
        assert matching, f"a line no pt-BR literal of ours explains: {message!r}"
        assert not english_words(matching[0]), f"English in the log: {message!r}"
        used.add(matching[0])
    assert "credenciais inválidas para a chave de acesso %s" in used
    assert "a entrega do update %s ao webhook falhou: %s" in used
