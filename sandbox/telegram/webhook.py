"""Webhook delivery as Telegram does it: the request it sends, its error texts and its retry schedule."""

from __future__ import annotations

import random
import socket
from http import HTTPStatus

import requests
from urllib3.util import SKIP_HEADER

DELIVERY_TIMEOUT = 60.0  # seconds Telegram waits for the webhook's answer
ALLOWED_PORTS = (80, 88, 443, 8443)
# Retry delays after the 1st, 2nd, ... failure; afterwards every 60-120 s until the update expires.
_BACKOFF = (0, 2, 4, 8, 16, 32, 64)


def request_headers(body: bytes, secret_token: str | None) -> dict[str, str]:
    """Exactly the headers Telegram sends (no charset, no User-Agent)."""
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    if secret_token:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
    headers["Accept-Encoding"] = "gzip, deflate"
    return headers


def retry_delay(failures: int, rng: random.Random) -> float:
    """Seconds (of real Telegram time) before the next attempt after `failures` failed ones."""
    if failures <= len(_BACKOFF):
        return float(_BACKOFF[failures - 1])
    return rng.uniform(60, 120)


def wrong_response_text(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown Error"
    return f"Wrong response from the webhook: {status} {phrase}"


def connection_error_text(exc: OSError) -> str:
    """The last_error_message Telegram shows for a connection-level failure."""
    if isinstance(exc, TimeoutError):
        return "Read timeout expired"
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return "Webhook connection closed"
    return "Connection refused"


def dns_resolver(host: str) -> bool:
    try:
        socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return False
    return True


def requests_transport(url: str, headers: dict[str, str], body: bytes, timeout: float) -> tuple[int, bytes]:
    """Default transport: one POST with Telegram's headers only, no redirects followed."""
    with requests.Session() as session:
        session.headers.clear()  # requests' defaults (User-Agent, Accept, Connection) are not Telegram's
        try:
            response = session.post(
                url,
                data=body,
                headers={**headers, "User-Agent": SKIP_HEADER},
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise TimeoutError(str(exc)) from exc
        except requests.ConnectionError as exc:
            raise ConnectionRefusedError(str(exc)) from exc
        return response.status_code, response.content
