"""Errors of the Athena emulation: API errors (HTTP 4xx) and query failures (state FAILED)."""

from __future__ import annotations


class AthenaError(Exception):
    """An error answered by the Athena API itself, e.g. InvalidRequestException (HTTP 400)."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class QueryFailed(Exception):
    """A query that ends FAILED; `reason` is shaped like Athena's StateChangeReason."""

    def __init__(self, reason: str, error_type: int = 1100, category: int = 2):
        super().__init__(reason)
        self.reason = reason
        # Athena's AthenaError: ErrorCategory 1 = system, 2 = user, 3 = other; ErrorType narrows it down.
        self.error_type = error_type
        self.category = category


def position(query: str, offset: int) -> str:
    """`line L:C` (1-based) of a character offset, as Trino prints it in error messages."""
    line = query.count("\n", 0, offset) + 1
    column = offset - (query.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}:{column}"
