"""The sandbox process: AWS (moto + additions) on one port, the Telegram Bot API emulator on another."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, make_server

from sandbox import config

log = logging.getLogger(__name__)


def state_file(home: Path | None = None) -> Path:
    return Path(home or config.HOME) / "state.json"


def log_file(home: Path | None = None) -> Path:
    return Path(home or config.HOME) / "sandbox.log"


class SandboxServer:
    """Both servers in one process. Ports may be 0 (tests): the chosen ones are in aws_port/telegram_port."""

    def __init__(
        self,
        aws_port: int = config.AWS_PORT,
        telegram_port: int = config.TELEGRAM_PORT,
        seed: int = config.DEFAULT_SEED,
        host: str = config.HOST,
        with_telegram: bool = True,
    ):
        from moto.moto_server.werkzeug_app import MotoRequestHandler

        from sandbox.aws.app import AwsSandbox

        self.host = host
        self.seed = seed
        # Bind first (raises OSError if busy), so the AWS app knows its real endpoint for Lambda workers.
        self._aws_server: BaseWSGIServer = make_server(
            host, aws_port, _not_ready, threaded=True, request_handler=MotoRequestHandler
        )
        self.aws_port = self._aws_server.server_port
        self.aws = AwsSandbox(config.aws_endpoint_url(self.aws_port), seed=seed)
        self._aws_server.app = self.aws
        self.telegram = None
        self._telegram_server: BaseWSGIServer | None = None
        self.telegram_port: int | None = None
        if with_telegram:
            self._setup_telegram(telegram_port)
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()

    def _setup_telegram(self, port: int) -> None:
        try:
            from sandbox.telegram import TelegramSandbox
        except ImportError:
            log.warning("sandbox.telegram não encontrado: o emulador do Telegram não será iniciado")
            return
        server = make_server(self.host, port, _not_ready, threaded=True)
        self.telegram = TelegramSandbox(
            seed=self.seed,
            start=config.DEFAULT_START,
            transport=self.aws.gateway.transport,
            resolver=self.aws.gateway.resolves,
        )
        server.app = self.telegram.wsgi_app
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
            "log_file": str(log_file()),
        }


def _not_ready(environ, start_response):
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"sandbox starting"]


def serve(aws_port: int, telegram_port: int, seed: int) -> None:
    """Foreground process (`python -m sandbox serve`): runs until SIGTERM/SIGINT, keeps the state file."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = SandboxServer(aws_port, telegram_port, seed).start()
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(server.state()))
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
