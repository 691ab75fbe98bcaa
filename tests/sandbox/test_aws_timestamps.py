"""The sandbox's fast reading of moto's timestamps gives what botocore's own function gives, for any value."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from botocore.utils import parse_to_aware_datetime
from hypothesis import given
from hypothesis import strategies as st

from sandbox.aws.timestamps import fast_aware_datetime

MOMENTS = st.datetimes(min_value=datetime(1971, 1, 2), max_value=datetime(2100, 1, 1))
OFFSETS = st.sampled_from(["", "Z", "+00:00", "-03:00", "+05:30", "-11:45"])


def calls(value, log: list):
    def fallback(received):
        log.append(received)
        return parse_to_aware_datetime(received)

    return fast_aware_datetime(value, fallback)


def same(a: datetime, b: datetime) -> bool:
    """Equal instants, and the same fields and offset as printed by moto's formats."""
    return a == b and a.utcoffset() == b.utcoffset() and a.isoformat() == b.isoformat()


@given(MOMENTS, OFFSETS, st.sampled_from(["T", " "]), st.integers(0, 6))
def test_iso_strings_read_without_dateutil_give_botocores_datetime(moment, offset, separator, digits):
    text = moment.strftime(f"%Y-%m-%d{separator}%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    text += offset
    log: list = []
    assert same(calls(text, log), parse_to_aware_datetime(text))
    assert log == []  # read by the fast path


@pytest.mark.parametrize(
    "value",
    [
        "1741611078",  # epoch seconds, as a string
        1741611078.5,
        "Mon, 10 Mar 2025 12:51:18 GMT",  # RFC 822
        "2025-03-10",  # a date alone
        "20250310T125118Z",  # ISO 8601 basic format
        "2025-03-10T12:51:18.1234567Z",  # more than microseconds
        "2025-03-10T12:51:18+0300",  # an offset without a colon
        datetime(2025, 3, 10, 12, 51, 18),
        datetime(2025, 3, 10, 12, 51, 18, tzinfo=timezone(timedelta(hours=-3))),
    ],
)
def test_every_other_value_goes_to_botocore_unchanged(value):
    log: list = []
    assert same(calls(value, log), parse_to_aware_datetime(value))
    assert log == [value]


def test_the_sandbox_server_uses_it_for_moto_answers():
    # In a process of its own: configure_moto changes moto's settings for the whole process, as in the server.
    code = (
        "from sandbox.aws.moto_setup import configure_moto\n"
        "configure_moto()\n"
        "from moto.core import serialize\n"
        "print(serialize.parse_to_aware_datetime('2025-03-10T12:51:18.000Z').isoformat(),\n"
        "      bool(getattr(serialize.parse_to_aware_datetime, '_sandbox_replaced', False)))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["2025-03-10T12:51:18+00:00", "True"]
