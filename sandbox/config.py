"""Settings shared by every part of the sandbox (ports, region, account, seed, virtual clock)."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

HOST = "127.0.0.1"
AWS_PORT = int(os.environ.get("SANDBOX_AWS_PORT", "4566"))
TELEGRAM_PORT = int(os.environ.get("SANDBOX_TELEGRAM_PORT", "8081"))
REGION = os.environ.get("SANDBOX_REGION", "sa-east-1")
# moto's default account: fixed, so ARNs and bucket names are the same on every run.
ACCOUNT_ID = "123456789012"
# Fake credentials: boto3 needs some, moto accepts any.
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"  # noqa: S105 - not a secret, moto's documented placeholder
DEFAULT_SEED = 42
# The sandbox runs on a virtual clock so that message dates are the same on every run with the same seed.
# A Monday at noon in São Paulo; `SANDBOX_START` (ISO 8601) moves it.
DEFAULT_START = datetime.fromisoformat(
    os.environ.get("SANDBOX_START", "2025-03-17T15:00:00+00:00")
).astimezone(timezone.utc)
# Newer copies of the Athena engine's libraries (sqlglot, DuckDB) than the Python's own, for the sandbox's process
# only: the Colab install puts sqlglot here, as Colab's own is held at an older version by its other libraries.
ENGINE_LIBS = Path(__file__).resolve().parent.parent / "build" / "engine-libs"
# Where the background process keeps its pid, ports and log.
HOME = Path(os.environ.get("SANDBOX_HOME", Path.home() / ".cache" / "data-pipeline-telegram-sandbox"))


def home() -> Path:
    """The sandbox's folder, SANDBOX_HOME read at each call (tests and the CLI point it elsewhere at run time)."""
    return Path(os.environ.get("SANDBOX_HOME", HOME))


def state_path(folder: Path | None = None) -> Path:
    """The running process's pid, ports and per-run control secret (0600), in `folder` (default: home())."""
    return Path(folder or home()) / "state.json"


def log_path(folder: Path | None = None) -> Path:
    """What the background process prints, in `folder` (default: home())."""
    return Path(folder or home()) / "sandbox.log"


def aws_endpoint_url(port: int = AWS_PORT) -> str:
    return f"http://{HOST}:{port}"


def telegram_api_url(port: int = TELEGRAM_PORT) -> str:
    return f"http://{HOST}:{port}"
