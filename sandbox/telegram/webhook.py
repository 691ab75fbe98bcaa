"""Webhook delivery as Telegram does it: the request it sends, its error texts and its retry schedule."""

from __future__ import annotations

import ipaddress
import random
import re
import socket
from http import HTTPStatus

import requests
from urllib3.util import SKIP_HEADER

DELIVERY_TIMEOUT = 60.0  # seconds Telegram waits for the webhook's answer
ALLOWED_PORTS = (80, 88, 443, 8443)
MAX_RETRY_AFTER = 3600  # a webhook's Retry-After is honoured up to an hour (WebhookActor::on_update_error)
# The IPv4 blocks Telegram will not deliver to: td's IPAddress::is_reserved (tdutils/td/utils/port/IPAddress.cpp),
# which WebhookActor::check_ip_address applies to the address the webhook's host resolves to.
RESERVED_BLOCKS = tuple(
    ipaddress.IPv4Network(block)
    for block in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
        "203.0.113.0/24", "224.0.0.0/3",
    )
)  # fmt: skip
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


def retry_after(headers: dict[str, str]) -> int:
    """Seconds a failed webhook answer's Retry-After asks for, at most an hour (HttpQuery::get_retry_after reads
    a whole int32, else 0; WebhookActor::on_update_error clamps it); 0 when absent or not such a number."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), "")
    if not re.fullmatch(r"-?\d{1,10}", value) or not -(2**31) <= int(value) < 2**31:
        return 0
    return max(0, min(MAX_RETRY_AFTER, int(value)))


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


def address_refusal(address: str) -> str | None:
    """Why Telegram refuses to deliver to this address (WebhookActor::check_ip_address), or None."""
    parsed = ipaddress.ip_address(address)
    if parsed.version != 4:
        return "IPv6-only addresses are not allowed"
    if any(parsed in block for block in RESERVED_BLOCKS):
        return f"IP address {parsed} is reserved"
    return None


def literal_address(host: str) -> str | None:
    """The host itself when it is an IP address (a URL's brackets removed), else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def dns_resolver(host: str) -> str | None:
    """The address Telegram connects to: the first IPv4 one, else the first (td's IPAddress::init_host_port)."""
    try:
        infos = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return None
    addresses = [info[4][0] for info in infos if info[0] == socket.AF_INET] or [info[4][0] for info in infos]
    return addresses[0] if addresses else None


def requests_transport(
    url: str, headers: dict[str, str], body: bytes, timeout: float
) -> tuple[int, bytes, dict[str, str]]:
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
        return response.status_code, response.content, dict(response.headers)
