"""Latency and fault injection for Amazon S3, to show what happens when S3 is slow or failing.

Off by default. `SANDBOX_S3_LATENCY_MS` sets a latency at start; `POST /_sandbox/s3` changes it at run time:
  {"latency_ms": 50}                     every S3 request waits 50 ms
  {"fail": true, "status": 503}          S3 answers 503 SlowDown until {"fail": false}
  {"fail": true, "status": 500, "count": 3}   only the next 3 requests fail
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass

# S3's error code and message for each status, as in its XML error responses.
S3_ERRORS = {
    500: ("InternalError", "We encountered an internal error. Please try again."),
    503: ("SlowDown", "Please reduce your request rate."),
    400: ("BadRequest", "An error occurred when parsing the HTTP request."),
    403: ("AccessDenied", "Access Denied"),
}


@dataclass
class S3FaultSettings:
    latency_ms: int = 0
    fail: bool = False
    status: int = 503
    remaining: int | None = None  # None: fail until turned off


class S3Faults:
    def __init__(self, latency_ms: int | None = None):
        if latency_ms is None:
            raw = os.environ.get("SANDBOX_S3_LATENCY_MS", "0") or "0"
            if not raw.isdigit():
                raise ValueError(f"SANDBOX_S3_LATENCY_MS deve ser um número de milissegundos, não {raw!r}.")
            latency_ms = int(raw)
        self._lock = threading.Lock()
        self.settings = S3FaultSettings(latency_ms=latency_ms)
        self.failed_requests = 0

    def configure(self, body: dict) -> dict:
        """Apply a control request; raises ValueError (pt-BR message) on a bad one, changing nothing."""
        unknown = set(body) - {"latency_ms", "fail", "status", "count"}
        if unknown:
            raise ValueError(f"Campos desconhecidos: {sorted(unknown)}. Use latency_ms, fail, status, count.")
        latency = body.get("latency_ms", self.settings.latency_ms)
        status = body.get("status", self.settings.status)
        count = body.get("count")
        if not isinstance(latency, int) or isinstance(latency, bool) or not 0 <= latency <= 60_000:
            raise ValueError("latency_ms deve ser um inteiro entre 0 e 60000.")
        if status not in S3_ERRORS:
            raise ValueError(f"status deve ser um destes: {sorted(S3_ERRORS)}.")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise ValueError("count deve ser um inteiro positivo.")
        with self._lock:
            self.settings.latency_ms = latency
            self.settings.status = status
            if "fail" in body:
                self.settings.fail = bool(body["fail"])
                self.settings.remaining = count if self.settings.fail else None
            return self.snapshot()

    def snapshot(self) -> dict:
        return {**asdict(self.settings), "failed_requests": self.failed_requests}

    def reset(self) -> None:
        with self._lock:
            self.settings = S3FaultSettings(latency_ms=self.settings.latency_ms)
            self.failed_requests = 0

    def before_request(self) -> int | None:
        """Sleep for the configured latency; return the status to fail with, or None to go on."""
        with self._lock:
            latency = self.settings.latency_ms
            status = None
            if self.settings.fail:
                status = self.settings.status
                self.failed_requests += 1
                if self.settings.remaining is not None:
                    self.settings.remaining -= 1
                    if self.settings.remaining <= 0:
                        self.settings.fail, self.settings.remaining = False, None
        if latency:
            time.sleep(latency / 1000)
        return status


def s3_error_response(status: int, request_id: str) -> tuple[int, dict[str, str], bytes]:
    """The injected fault for `status`, as S3 answers it."""
    return s3_error(status, *S3_ERRORS[status], request_id)


def s3_error(status: int, code: str, message: str, request_id: str) -> tuple[int, dict[str, str], bytes]:
    """An S3 error response: XML body, request id header (`message` must already be XML-escaped)."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
    ).encode()
    headers = {"Content-Type": "application/xml", "x-amz-request-id": request_id}
    return status, headers, body
