"""The Telegram emulator's control routes (`/_sandbox/...`): what happens on Telegram outside any API call.

The class writing in the group, BotFather's settings, the emulator's status: a learner does these by hand on
Telegram; the setup, the live view and the tests do them here, with the running sandbox's per-run secret.
"""

from __future__ import annotations

import os

import requests

import sandbox


def telegram_control(
    method: str, path: str, body: dict | None = None, *, api_url: str | None = None, timeout: float = 120
) -> dict:
    """Call the Telegram emulator's control routes (`/_sandbox/...`); `api_url` defaults to TELEGRAM_API_URL."""
    response = requests.request(
        method,
        f"{api_url or os.environ['TELEGRAM_API_URL']}/_sandbox/{path}",
        json=body,
        headers=sandbox.control_headers(),  # the per-run secret from the state file
        timeout=timeout,
    )
    answer = response.json()
    if not answer.get("ok"):
        raise sandbox.SandboxError(answer.get("error") or f"o sandbox respondeu {response.status_code}")
    return answer["result"]
