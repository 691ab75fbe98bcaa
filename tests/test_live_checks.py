"""The notebooks' final checks hold while a real group keeps writing: they compare what cannot change under them."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from tutorial.harness import notebook_cell, run_cell

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
TODAY = datetime.now(SAO_PAULO).date().isoformat()


def etl_result(rows: dict[str, int]) -> dict:
    details = [
        {"date": day, "rows": n, "output_key": f"telegram/context_date={day}/part-0.parquet"}
        for day, n in rows.items()
    ]
    return {
        "details": details,
        "rows_written": sum(rows.values()),
        "output_keys": [d["output_key"] for d in details],
    }


def etl_check(first: dict[str, int], second: dict[str, int]) -> dict:
    days = sorted(first)
    return run_cell(
        notebook_cell("04-etl", "again = invoke_etl("),
        {
            "invoke_etl": lambda event: etl_result(second),
            "backfill": etl_result(first),
            "days": days,
            "parquet_keys": [f"telegram/context_date={day}/part-0.parquet" for day in days],
            "datetime": datetime,
            "SAO_PAULO": SAO_PAULO,
        },
    )


def test_etl_check_passes_while_today_keeps_growing():
    etl_check({"2025-03-17": 40, TODAY: 5}, {"2025-03-17": 40, TODAY: 9})


def test_etl_check_still_catches_a_closed_day_that_changed():
    with pytest.raises(AssertionError, match=r"dias fechados que mudaram: \['2025-03-17'\]"):
        etl_check({"2025-03-17": 40, TODAY: 5}, {"2025-03-17": 41, TODAY: 5})


class Response:
    status_code = 401

    def json(self):
        return {"ok": False}


def test_the_secret_check_passes_while_the_group_writes():
    grown = itertools.count(100)
    live_keys = lambda: [f"telegram/context_date={TODAY}/{812345000 + n}.json" for n in range(next(grown))]  # noqa: E731
    requests = type("Requests", (), {"post": staticmethod(lambda *a, **k: Response())})
    run_cell(
        notebook_cell("03-webhook", "chute-errado"),
        {"raw_keys": live_keys, "requests": requests, "WEBHOOK_URL": "u"},
    )


def test_the_secret_check_still_catches_a_stored_fake():
    keys = lambda: ["telegram/context_date=2025-03-17/1.json"]  # noqa: E731
    requests = type("Requests", (), {"post": staticmethod(lambda *a, **k: Response())})
    with pytest.raises(AssertionError, match="gravado sem o segredo"):
        run_cell(
            notebook_cell("03-webhook", "chute-errado"),
            {"raw_keys": keys, "requests": requests, "WEBHOOK_URL": "u"},
        )


def test_the_final_check_of_03_uses_the_snapshot_taken_when_the_queue_emptied(capsys):
    live = {"url": "u", "pending_update_count": 3}  # the group wrote again a moment ago
    run_cell(
        notebook_cell("03-webhook", "Tudo certo:"),
        {
            "telegram": lambda method: live,
            "WEBHOOK_URL": "u",
            "pending": 0,
            "keys": [f"k{n}" for n in range(7)],
            "raw_keys": lambda: pytest.fail("the final check lists the bucket again"),
            "RAW_BUCKET": "b",
            # Migration records live outside telegram/: listing them does not recount the messages.
            "s3": SimpleNamespace(list_objects_v2=lambda **request: {"KeyCount": 0}),
            "json": json,
        },
    )
    assert "Tudo certo: 7 updates gravados" in capsys.readouterr().out
