"""A learner's deployment in an isolated sandbox, for the reliability, security and hostile-input tests.

`deployed_stack()` starts a sandbox of its own (temporary home, free ports: never the default 4566/8081 one),
deploys with the notebooks themselves (`tutorial.setup.catch_up`, so the tests check exactly what learners
deploy), and reads the function's secret and the webhook URL back with boto3, as a learner would.
Also used by `benchmarks/stress.py`.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import requests
from botocore.config import Config

import sandbox
from tutorial import setup
from tutorial.contract import (
    ALLOWED_UPDATES,
    API_NAME,
    INGESTION_FUNCTION,
    KEY_PREFIX,
    SECRET_HEADER,
    log_group,
)
from tutorial.control import telegram_control
from tutorial.runner import NOTEBOOKS, load_nbformat, run_notebooks

ROOT = Path(__file__).resolve().parent.parent


class StackError(AssertionError):
    """The deployment did not reach the state a test waits for (a failure, never a hang)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Stack:
    """One deployed pipeline: the sandbox's endpoints plus what a learner reads back from AWS and Telegram."""

    home: Path
    endpoint_url: str
    telegram_api: str
    token: str
    group_id: int
    region: str
    account: str
    raw_bucket: str = ""
    enriched_bucket: str = ""
    api_id: str = ""
    webhook_url: str = ""
    secret: str = ""
    _clients: dict = field(default_factory=dict, repr=False)

    # ---- AWS ------------------------------------------------------------------------------------------
    def client(self, service: str):
        """A boto3 client pointed at this sandbox explicitly (the suite's conftest clears AWS_ENDPOINT_URL)."""
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 - moto's placeholder credentials
                config=Config(retries={"max_attempts": 10, "mode": "standard"}, max_pool_connections=20),
            )
        return self._clients[service]

    def read_back(self) -> None:
        """The function's secret, the buckets and the webhook URL, read from the deployment itself."""
        lambda_ = self.client("lambda")
        variables = lambda_.get_function_configuration(FunctionName=INGESTION_FUNCTION)["Environment"][
            "Variables"
        ]
        self.secret = variables["TELEGRAM_SECRET_TOKEN"]
        self.raw_bucket = variables["AWS_S3_BUCKET"]
        self.enriched_bucket = self.raw_bucket.removesuffix("-raw") + "-enriched"
        api = next(a for a in self.client("apigatewayv2").get_apis()["Items"] if a["Name"] == API_NAME)
        self.api_id = api["ApiId"]
        self.webhook_url = f"{api['ApiEndpoint']}/webhook"

    def raw_keys(self, prefix: str = KEY_PREFIX) -> list[str]:
        pages = (
            self.client("s3").get_paginator("list_objects_v2").paginate(Bucket=self.raw_bucket, Prefix=prefix)
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def raw_update_ids(self) -> list[int]:
        """update_id of every raw object (the key's file name), with repetitions if a key were duplicated."""
        return [int(key.rsplit("/", 1)[1].removesuffix(".json")) for key in self.raw_keys()]

    def empty_raw_bucket(self) -> None:
        s3 = self.client("s3")
        keys = self.raw_keys("")
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": key} for key in keys[start : start + 1000]]
            s3.delete_objects(Bucket=self.raw_bucket, Delete={"Objects": chunk, "Quiet": True})

    def s3_faults(self, **settings) -> dict:
        """The sandbox's S3 fault injection (`{"fail", "status", "count", "latency_ms"}`)."""
        response = requests.post(
            f"{self.endpoint_url}/_sandbox/s3", json=settings, headers=sandbox.control_headers(), timeout=30
        )
        response.raise_for_status()
        return response.json()

    def aws_status(self) -> dict:
        return requests.get(
            f"{self.endpoint_url}/_sandbox/status", headers=sandbox.control_headers(), timeout=30
        ).json()

    def function_log_messages(self, group: str = log_group(INGESTION_FUNCTION)) -> list[tuple[int, str]]:
        """(timestamp ms, message) of every CloudWatch Logs event of the function, across its streams."""
        logs = self.client("logs")
        events = []
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
            events += [(event["timestamp"], event["message"]) for event in page["events"]]
        return events

    def decisions(self, decision: str) -> list[tuple[int, dict]]:
        """The function's structured log lines with this decision ("stored", "ignored", ...), in log order."""
        found = []
        for timestamp, message in self.function_log_messages():
            start = message.find("{")
            if start < 0:
                continue
            try:
                line = json.loads(message[start:])
            except ValueError:
                continue
            if isinstance(line, dict) and line.get("decision") == decision:
                found.append((timestamp, line))
        return found

    # ---- Telegram -------------------------------------------------------------------------------------
    def bot(self, method: str, **params):
        """A Bot API call on the emulator; returns `result` or raises with Telegram's description."""
        answer = requests.post(
            f"{self.telegram_api}/bot{self.token}/{method}", json=params, timeout=60
        ).json()
        if not answer.get("ok"):
            raise StackError(f"{method}: {answer.get('error_code')} {answer.get('description')}")
        return answer["result"]

    def control(self, method: str, path: str, body: dict | None = None):
        """The emulator's control routes (`/_sandbox/...`): the class writing, status, pending updates."""
        try:
            return telegram_control(method, path, body, api_url=self.telegram_api)
        except sandbox.SandboxError as error:
            raise StackError(f"/_sandbox/{path}: {error}") from None

    def set_webhook(self, **params) -> None:
        """setWebhook to the deployed API with the deployed secret, waiting out the 1-per-second limit."""
        params = {
            "url": self.webhook_url,
            "secret_token": self.secret,
            "allowed_updates": ALLOWED_UPDATES,
            "max_connections": 40,
            **params,
        }
        deadline = time.monotonic() + 10
        while True:
            try:
                self.bot("setWebhook", **params)
                return
            except StackError as error:
                if "429" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def participants(self) -> list[dict]:
        return [p for p in self.control("GET", "participants") if not p["is_bot"]]

    def post(self, who: int | str, text: str, private: bool = False) -> int | None:
        """Someone writes (in the group, or privately to the bot); the update_id the bot gets, or None."""
        body = {"from": who, "text": text, "private": private}
        return self.control("POST", "chat/text", body)["update_id"]

    def pending(self) -> list[dict]:
        """The updates Telegram still has to deliver (a peek: confirms nothing)."""
        return self.control("GET", "updates")

    def wait_until_delivered(self, timeout: float) -> float:
        """Wait until Telegram's queue is empty; returns the seconds it took. Raises after `timeout`."""
        started = time.monotonic()
        while True:
            info = self.bot("getWebhookInfo")
            if info["pending_update_count"] == 0:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise StackError(
                    f"{info['pending_update_count']} update(s) ainda na fila após {timeout:.0f} s "
                    f"(último erro: {info.get('last_error_message')})"
                )
            time.sleep(0.1)

    # ---- the webhook URL, as a stranger reaches it --------------------------------------------------------
    def send(
        self,
        body: bytes | str,
        headers: dict | None = None,
        secret: str | None = "deployed",  # noqa: S107 - a marker meaning "the deployed secret", not a value
        **kwargs,
    ):
        """POST to the public webhook URL; `secret="deployed"` adds the deployed secret header."""
        headers = dict(headers or {})
        headers.setdefault("Content-Type", "application/json")
        if secret == "deployed":  # noqa: S105 - the marker, not a secret
            headers[SECRET_HEADER] = self.secret
        elif secret is not None:
            headers[SECRET_HEADER] = secret
        return requests.post(self.webhook_url, data=body, headers=headers, timeout=60, **kwargs)

    # ---- notebooks --------------------------------------------------------------------------------------
    def redeploy(self) -> None:
        """A fresh learner's deployment: reset this sandbox and run the notebooks again."""
        sandbox.reset(seed=42)
        # The suite's conftest clears AWS_ENDPOINT_URL inside tests: the notebooks must still reach this sandbox.
        saved = os.environ.get("AWS_ENDPOINT_URL")
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint_url
        try:
            setup.prepare_group()
            setup.catch_up("03")
        finally:
            if saved is None:
                os.environ.pop("AWS_ENDPOINT_URL")
            else:
                os.environ["AWS_ENDPOINT_URL"] = saved
        self._clients.clear()
        self.read_back()


def repository_files() -> list[Path]:
    """The working tree's files as git sees them: committed or not, ignored ones (.venv, build/) left out."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split("\0")
    return [ROOT / name for name in listed if name and (ROOT / name).is_file()]


# Settings that would point a test's sandbox, notebooks or CLI at another world than its own sandbox.
OTHER_WORLD = (
    "AMBIENTE",
    "CONTA_AWS",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "TELEGRAM_API_URL",
    "SANDBOX_MESSAGES",
)


def own_sandbox(home: Path) -> dict[str, str]:
    """The variables that give a sandbox its own state folder and free ports (never the user's 4566/8081)."""
    return {
        "SANDBOX_HOME": str(home),
        "SANDBOX_AWS_PORT": str(free_port()),
        "SANDBOX_TELEGRAM_PORT": str(free_port()),
    }


def own_sandbox_environment(home: Path) -> dict[str, str]:
    """This process's environment for a child that starts a sandbox of its own in `home`."""
    return {name: value for name, value in os.environ.items() if name not in OTHER_WORLD} | own_sandbox(home)


@contextmanager
def isolated_sandbox(seed: int = 42) -> Iterator[dict[str, str]]:
    """A sandbox of its own (temporary home, free ports), so one the user left running is never touched.

    Yields the variables `sandbox.start` set; the environment is restored and the sandbox stopped at the end.
    """
    saved = dict(os.environ)
    home = Path(tempfile.mkdtemp(prefix="test-sandbox-"))
    os.environ.update(own_sandbox(home))
    for name in OTHER_WORLD:  # the notebooks' default world: the sandbox
        os.environ.pop(name, None)
    try:
        yield sandbox.start(seed=seed, reset=True)
    finally:
        sandbox.stop()
        shutil.rmtree(home, ignore_errors=True)
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def deployed_stack(seed: int = 42, upto: str = "03") -> Iterator[Stack]:
    """An isolated sandbox where the notebooks before `upto` deployed the pipeline.

    The default, "03", stops after notebook 02: everything is deployed and no webhook is set yet.
    """
    with isolated_sandbox(seed) as variables:
        status = setup.prepare_group()
        setup.catch_up(upto)
        stack = Stack(
            home=Path(os.environ["SANDBOX_HOME"]),
            endpoint_url=variables["AWS_ENDPOINT_URL"],
            telegram_api=variables["TELEGRAM_API_URL"],
            token=variables["TELEGRAM_BOT_TOKEN"],
            group_id=status["group"]["id"],
            region=variables["AWS_DEFAULT_REGION"],
            account="",
        )
        stack.account = stack.client("sts").get_caller_identity()["Account"]
        stack.read_back()
        yield stack


def run_notebook(name: str, folder: Path) -> Path:
    """Execute a notebook headless against the current sandbox (as the setup's catch-up does); returns the output file."""
    run_notebooks([name], output_dir=folder)
    return folder / f"{name}.ipynb"


def notebook_cell(notebook: str, needle: str) -> str:
    """The source of the one code cell of a notebook that contains `needle`."""
    (source,) = [
        c.source
        for c in load_nbformat().read(NOTEBOOKS / f"{notebook}.ipynb", as_version=4).cells
        if c.cell_type == "code" and needle in c.source
    ]
    return source


def run_cell(source: str, namespace: dict) -> dict:
    """Run a notebook cell's own code with `namespace` standing in for the cells before it."""
    exec(compile(source, "<notebook>", "exec"), namespace)  # noqa: S102 - the notebook's own code
    return namespace


def zip_files(files: dict[str, str | bytes]) -> bytes:
    """A deployment package with fixed timestamps (same content -> same CodeSha256)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


BOT_TOKEN_SHAPE = re.compile(r"\d{8,10}:[A-Za-z0-9_-]{35}")
