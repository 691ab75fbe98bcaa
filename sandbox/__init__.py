"""Offline sandbox for the tutorial: AWS (moto and friends) and Telegram in one background process.

Python API for notebooks and tests (importing this package is cheap: no moto here)::

    import sandbox
    sandbox.start()      # starts it if needed, sets AWS_ENDPOINT_URL & co. in os.environ
    sandbox.status()
    sandbox.reset(seed=7)
    sandbox.stop()

The process outlives notebook kernels; `python -m sandbox up|down|status|reset|env` does the same.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from sandbox import config

__all__ = [
    "SandboxError",
    "start",
    "stop",
    "reset",
    "env",
    "status",
    "up",
    "launch",
    "control_headers",
    "run_cli",
    "execute_api_url",
    "install_requests_adapter",
    "uninstall_requests_adapter",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
# The server's command, before its arguments. The test suite swaps in a launcher that forks the server from a
# process that has already imported moto (tests/forked.py); the server is then not the process started here.
SERVER_COMMAND: tuple[str, ...] = (sys.executable, "-m", "sandbox", "serve")


class SandboxError(RuntimeError):
    """A failure a person can fix; the message (pt-BR) says how."""


# ---- state ------------------------------------------------------------------------------------------------
def _ports() -> tuple[int, int]:
    return (
        int(os.environ.get("SANDBOX_AWS_PORT", config.AWS_PORT)),
        int(os.environ.get("SANDBOX_TELEGRAM_PORT", config.TELEGRAM_PORT)),
    )


def _read_state(home: Path | None = None) -> dict | None:
    try:
        return json.loads(config.state_path(home).read_text())
    except (OSError, ValueError):
        return None


def _is_sandbox_process(pid: int) -> bool:
    """Alive and really our `serve` process (a recycled pid must not be signalled)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): trust the pid
    return b"sandbox" in cmdline and b"serve" in cmdline


def control_headers() -> dict[str, str]:
    """The header that opens the running sandbox's control routes (`/_sandbox/...`): its per-run secret,
    read from the state file (mode 0600, so only this OS user can read it). Empty when it is not running."""
    secret = (_read_state() or {}).get("control_secret")
    return {"X-Sandbox-Secret": secret} if secret else {}


def _http_json(url: str, method: str = "GET", body: dict | None = None, timeout: float = 10.0) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **control_headers()}
    # Always an http://127.0.0.1 URL built from the state file, never user input.
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read())


def _aws_url(state: dict) -> str:
    return f"http://{state.get('host', config.HOST)}:{state['aws_port']}"


def _healthy(state: dict) -> bool:
    try:
        return _http_json(_aws_url(state) + "/_sandbox/health", timeout=2).get("status") == "ok"
    except (OSError, ValueError):
        return False


def _running_state() -> dict | None:
    """The state of a live sandbox; a stale state file (dead process) is removed."""
    state = _read_state()
    if state is None:
        return None
    if not _is_sandbox_process(int(state.get("pid", 0))):
        config.state_path().unlink(missing_ok=True)
        return None
    return state


def _require_running() -> dict:
    state = _running_state()
    if state is None:
        raise SandboxError("O sandbox não está rodando. Inicie com: python -m sandbox up")
    return state


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Like the server itself: connections of a sandbox that just stopped (TIME_WAIT) do not hold the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((config.HOST, port))
        except OSError:
            return False
    return True


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection((config.HOST, port), timeout=1):
            return True
    except OSError:
        return False


def _log_tail(home: Path, lines: int = 15) -> str:
    try:
        return "\n".join(config.log_path(home).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# Variables the serve process may inherit: what Python, locale and the sandbox's own settings need. Never the
# learner's real AWS credentials or profile, bot tokens or the bridge's settings: the server (moto, DuckDB,
# Lambda workers) must not be able to reach a real account, even by mistake.
_SERVER_VARIABLES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "TMPDIR",
        "TEMP",
        "TMP",
        "TZ",
        "LANG",
        "LANGUAGE",
        "SYSTEMROOT",
        "LD_LIBRARY_PATH",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        # Webhooks set to URLs outside the sandbox are delivered over the network, through the learner's proxy.
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
    }
)
_SERVER_PREFIXES = ("SANDBOX_", "LC_", "PYTHON", "VIRTUAL_ENV", "CONDA_", "MOTO_")


def server_environment(environ: dict[str, str]) -> dict[str, str]:
    """The part of `environ` the serve process gets (an allowlist: anything new is left out by default)."""
    return {
        name: value
        for name, value in environ.items()
        if name in _SERVER_VARIABLES or name.startswith(_SERVER_PREFIXES)
    }


# ---- process control --------------------------------------------------------------------------------------
def up(seed: int | None = None) -> tuple[dict, bool]:
    """Start the background process unless it runs; returns (state, already_running)."""
    state = _running_state()
    if state is not None:
        if _healthy(state):
            return state, True
        raise SandboxError(
            f"O processo do sandbox (pid {state['pid']}) existe mas não responde. "
            f"Veja o log em {config.log_path()} e rode: python -m sandbox down && python -m sandbox up"
        )
    aws_port, telegram_port = _ports()
    for port, variable in ((aws_port, "SANDBOX_AWS_PORT"), (telegram_port, "SANDBOX_TELEGRAM_PORT")):
        if not _port_free(port):
            raise SandboxError(
                f"A porta {port} já está em uso por outro programa. Escolha outra porta, por exemplo: "
                f"export {variable}={port + 1} e rode de novo: python -m sandbox up"
            )
    # Detached: survives the terminal or notebook kernel that started it.
    _, state = launch(config.home(), seed, aws_port=aws_port, telegram_port=telegram_port, detached=True)
    return state, False


def launch(
    home: Path,
    seed: int | None = None,
    *,
    aws_port: int = 0,
    telegram_port: int = 0,
    environ: dict[str, str] | None = None,
    detached: bool = False,
) -> tuple[subprocess.Popen, dict]:
    """Start a `python -m sandbox serve` process with its state and log in `home` and wait until it answers.

    The one way a sandbox process starts: `up` (detached, on the configured ports), the tests and the benchmarks
    (their own home, ports 0: free ones). Returns the process and its state (pid, host, ports, control secret).
    `environ` is what the process inherits (default: `server_environment` of this one's). This start's state is
    the one that carries its launch id (a pid can be reused, and may be a launcher's).
    """
    home = Path(home)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    seed = config.DEFAULT_SEED if seed is None else seed
    launch_id = secrets.token_hex(8)
    child_env = {
        **(server_environment(os.environ) if environ is None else environ),
        "SANDBOX_HOME": str(home),
        "SANDBOX_AWS_PORT": str(aws_port),
        "SANDBOX_TELEGRAM_PORT": str(telegram_port),
        "SANDBOX_LAUNCH_ID": launch_id,
    }
    log_path = config.log_path(home)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*SERVER_COMMAND, "--seed", str(seed)],
            cwd=PROJECT_ROOT,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=detached,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SandboxError(
                f"O sandbox parou ao iniciar (código {process.returncode}). Veja o log em {log_path}:\n"
                + _log_tail(home)
            )
        state = _read_state(home)
        if state and state.get("launch_id") == launch_id and _healthy(state):
            if state.get("telegram_port") is None or _port_answers(state["telegram_port"]):
                return process, state
        time.sleep(0.1)
    process.terminate()
    raise SandboxError(f"O sandbox não respondeu em {START_TIMEOUT_S:.0f} s. Veja o log em {log_path}.")


def stop() -> bool:
    """Stop the background process (SIGTERM, then wait); False when it was not running."""
    uninstall_requests_adapter()
    state = _running_state()
    if state is None:
        return False
    pid = int(state["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and _is_sandbox_process(pid):
        time.sleep(0.1)
    if _is_sandbox_process(pid):
        os.kill(pid, signal.SIGKILL)  # did not stop cleanly in time
    config.state_path().unlink(missing_ok=True)
    return True


def status() -> dict:
    """What runs where: {"running": False} or pid, ports, uptime, seed, memory, Telegram."""
    state = _running_state()
    if state is None:
        return {"running": False, "home": str(config.home())}
    state = {key: value for key, value in state.items() if key != "control_secret"}  # never shown
    try:
        live = _http_json(_aws_url(state) + "/_sandbox/status")
    except (OSError, ValueError):
        return {"running": True, "healthy": False, **state}
    return {"running": True, "healthy": True, **state, **live, "log_file": str(config.log_path())}


def reset(seed: int | None = None) -> dict:
    """Empty all state (AWS resources, Lambda workers, Telegram, Athena history); optionally a new seed."""
    return _post_reset(seed)


def _post_reset(seed: int | None) -> dict:
    state = _require_running()
    return _http_json(_aws_url(state) + "/_sandbox/reset", method="POST", body={"seed": seed}, timeout=60)


# Every variable `env()` sets: `python -m sandbox env --unset` clears them (leaving the sandbox for a real account).
ENV_NAMES = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "TELEGRAM_API_URL",
    "TELEGRAM_BOT_TOKEN",
)


def env() -> dict[str, str]:
    """The environment variables that point boto3 and Telegram clients at the running sandbox."""
    state = _require_running()
    live = _http_json(_aws_url(state) + "/_sandbox/status")
    # The sandbox's own credentials act as the account's administrator. SANDBOX_AWS_ACCESS_KEY_ID and
    # SANDBOX_AWS_SECRET_ACCESS_KEY (the key of an IAM user created in the sandbox) run the tutorial as that user
    # instead, with only the rights its policies give (how a teacher tries the class policy offline).
    access_key = os.environ.get("SANDBOX_AWS_ACCESS_KEY_ID") or config.ACCESS_KEY_ID
    secret_key = os.environ.get("SANDBOX_AWS_SECRET_ACCESS_KEY") or config.SECRET_ACCESS_KEY
    variables = {
        "AWS_ENDPOINT_URL": _aws_url(state),
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_DEFAULT_REGION": live.get("region", config.REGION),
    }
    telegram = live.get("telegram")
    if telegram:
        variables["TELEGRAM_API_URL"] = telegram["api_url"]
        variables["TELEGRAM_BOT_TOKEN"] = telegram["token"]
    return variables


def start(seed: int | None = None, reset: bool = False) -> dict[str, str]:
    """Start the sandbox if needed, point this process at it (os.environ, requests) and return the env vars.

    With `reset=True` (or a seed different from the running one) all state is emptied first.
    """
    state, already = up(seed)
    if already and (reset or (seed is not None and seed != state.get("seed"))):
        _post_reset(seed)
    variables = env()
    os.environ.update(variables)
    install_requests_adapter()
    return variables


# ---- command lines ------------------------------------------------------------------------------------------
def run_cli(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> int:
    """Parse `argv` and run its command, as every command line of the project does: a SandboxError (a failure a
    person can fix) ends as "Erro: ..." on stderr with exit code 1, Ctrl+C with 130 and no traceback."""
    args = parser.parse_args(argv)
    # Commands set `func`; the Telegram emulator's (`chat`, `botfather`) set `handler`.
    command = getattr(args, "func", None) or args.handler
    try:
        return command(args)
    except SandboxError as error:
        print(f"Erro: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# ---- reaching API Gateway URLs from this process ------------------------------------------------------------
def execute_api_url(url: str) -> str:
    """https://{id}.execute-api.{region}.amazonaws.com/... -> the sandbox entry that serves it."""
    from sandbox.aws.gateway import parse_host

    parts = urlsplit(url)
    if parse_host(parts.hostname) is None:
        return url
    state = _require_running()
    query = f"?{parts.query}" if parts.query else ""
    return f"{_aws_url(state)}/_sandbox/execute-api/{parts.hostname}{parts.path or '/'}{query}"


_ORIGINAL_GET_ADAPTER = None


def install_requests_adapter() -> None:
    """Make `requests` reach execute-api URLs through the sandbox; every other URL is left alone."""
    global _ORIGINAL_GET_ADAPTER
    import requests
    from requests.adapters import HTTPAdapter

    from sandbox.aws.gateway import parse_host

    if _ORIGINAL_GET_ADAPTER is not None:
        return

    class ExecuteApiAdapter(HTTPAdapter):
        def send(self, request, **kwargs):
            original = request.url
            request.url = execute_api_url(original)
            response = super().send(request, **kwargs)
            if response.headers.get("x-sandbox-error") == "unknown-host":
                host = urlsplit(original).hostname
                raise requests.ConnectionError(f"Failed to resolve '{host}' (no such API)", request=request)
            response.url = original
            return response

    adapter = ExecuteApiAdapter()
    original_get_adapter = requests.Session.get_adapter

    def get_adapter(self, url):
        if parse_host(urlsplit(url).hostname) is not None:
            return adapter
        return original_get_adapter(self, url)

    _ORIGINAL_GET_ADAPTER = original_get_adapter
    requests.Session.get_adapter = get_adapter


def uninstall_requests_adapter() -> None:
    global _ORIGINAL_GET_ADAPTER
    if _ORIGINAL_GET_ADAPTER is None:
        return
    import requests

    requests.Session.get_adapter = _ORIGINAL_GET_ADAPTER
    _ORIGINAL_GET_ADAPTER = None
