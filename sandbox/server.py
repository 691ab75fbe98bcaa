"""The sandbox process: AWS (moto + additions) on one port, the Telegram Bot API emulator on another."""

from __future__ import annotations

import gc
import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, make_server

from sandbox import config
from sandbox.guard import Guard

log = logging.getLogger(__name__)

# moto's API Gateway imports jsonschema, which compiles the grammar of the optional package rfc3987_syntax at import
# when it is installed (JupyterLab brings it): seconds on every sandbox start, for IRI format checks the sandbox never
# asks for. A None entry makes that optional import fail fast, as if the package were absent.
sys.modules.setdefault("rfc3987_syntax", None)


def write_private(path: Path, text: str) -> None:
    """Write a file only this OS user can read (0600), replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def token_secret(home: Path | None = None) -> str:
    """The emulated bot token's secret half for this sandbox home: created once (0600), then kept."""
    from sandbox.telegram.people import TOKEN_ALPHABET, random_token_secret

    path = Path(home or config.HOME) / "telegram-token"
    try:
        value = path.read_text().strip()
        if len(value) == 35 and all(c in TOKEN_ALPHABET for c in value):
            return value
    except OSError:
        pass
    value = random_token_secret()
    write_private(path, value + "\n")
    return value


class SandboxServer:
    """Both servers in one process. Ports may be 0 (tests): the chosen ones are in aws_port/telegram_port."""

    def __init__(
        self,
        aws_port: int = config.AWS_PORT,
        telegram_port: int = config.TELEGRAM_PORT,
        seed: int = config.DEFAULT_SEED,
        host: str = config.HOST,
        with_telegram: bool = True,
        telegram_token_secret: str | None = None,
    ):
        from moto.moto_server.werkzeug_app import MotoRequestHandler

        from sandbox.aws.app import AwsSandbox

        self.host = host
        self.seed = seed
        # Control routes need this per-run secret (state file, 0600): a web page cannot know it.
        self.control_secret = secrets.token_urlsafe(32)
        self._telegram_token_secret = telegram_token_secret
        # Bind first (raises OSError if busy), so the AWS app knows its real endpoint for Lambda workers.
        self._aws_server: BaseWSGIServer = make_server(
            host, aws_port, _not_ready, threaded=True, request_handler=MotoRequestHandler
        )
        self.aws_port = self._aws_server.server_port
        self.aws = AwsSandbox(config.aws_endpoint_url(self.aws_port), seed=seed)
        self._aws_server.app = Guard(self.aws, self.aws_port, self.control_secret, "aws")
        self.telegram = None
        self._telegram_server: BaseWSGIServer | None = None
        self.telegram_port: int | None = None
        if with_telegram:
            self._setup_telegram(telegram_port)
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()

    def _setup_telegram(self, port: int) -> None:
        from sandbox.telegram import TelegramSandbox

        server = make_server(self.host, port, _not_ready, threaded=True)
        self.telegram = TelegramSandbox(
            seed=self.seed,
            start=config.DEFAULT_START,
            transport=self.aws.gateway.transport,
            resolver=self.aws.gateway.resolves,
            token_secret=self._telegram_token_secret or token_secret(),
        )
        server.app = Guard(self.telegram.wsgi_app, server.server_port, self.control_secret, "telegram")
        self._telegram_server, self.telegram_port = server, server.server_port
        self.aws.reset_hooks.append(self.telegram.reset)
        self.aws.status_hooks.append(self._telegram_status)

    def _telegram_status(self) -> dict:
        return {
            "telegram": {
                "api_url": config.telegram_api_url(self.telegram_port),
                "token": self.telegram.token,
                "group_chat_id": self.telegram.group_chat_id,
            }
        }

    def start(self) -> SandboxServer:
        for server in filter(None, (self._aws_server, self._telegram_server)):
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.telegram is not None:
            self.telegram.start()
        return self

    def stop(self) -> None:
        """Stop delivery first (no new Lambda calls), then the Lambda workers, then the servers."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self.telegram is not None:
            self.telegram.stop()
        self.aws.runner.close()
        for server in filter(None, (self._aws_server, self._telegram_server)):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def state(self) -> dict:
        return {
            "pid": os.getpid(),
            "host": self.host,
            "aws_port": self.aws_port,
            "telegram_port": self.telegram_port,
            "seed": self.seed,
            "started_at": time.time(),
            "log_file": str(config.log_path()),
            "control_secret": self.control_secret,
            "launch_id": os.environ.get("SANDBOX_LAUNCH_ID"),  # how `sandbox.launch` knows its start's state
        }


def _not_ready(environ, start_response):
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"sandbox starting"]


def serve(aws_port: int, telegram_port: int, seed: int) -> None:
    """Foreground process (`python -m sandbox serve`): runs until SIGTERM/SIGINT, keeps the state file."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = SandboxServer(aws_port, telegram_port, seed)
    # moto, botocore's models, pandas and DuckDB leave 270,000 objects that live as long as the server: out of the
    # collector's sight, each full collection (a few a minute under load) takes microseconds instead of 0.2 s.
    gc.freeze()
    server.start()
    path = config.state_path()
    write_private(path, json.dumps(server.state()))  # holds the control secret
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    log.info("sandbox no ar: AWS em %s, Telegram na porta %s", server.aws.endpoint_url, server.telegram_port)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        try:
            if json.loads(path.read_text()).get("pid") == os.getpid():
                path.unlink()
        except (OSError, ValueError):
            pass
        log.info("sandbox parado")
