"""What the page shows, read through the services a learner uses, and kept as versioned pieces for the stream.

Every tick reads: the Bot API's getWebhookInfo (queue size, last error) and the emulator's queue peek (the updates
Telegram still has to deliver: what the class wrote and the bot has not received yet), the ingestion function's
CloudWatch Logs (one JSON line per request with its decision; Lambda's REPORT line with the duration), the raw
bucket's listing (keys and partitions; a new key's object is read to show who wrote what: only after the logs
report a write, and every RAW_LISTING_S seconds for what changed otherwise, since listing a class's thousands of
objects twice a second kept a laptop's core busy), the ETL function's logs (runs, rows written, records skipped)
and the enriched bucket's listing (when it changes, notebook 05's charts are queried again on Athena).

`Board` holds the result as sections and journey rows, each stamped with the version that last changed it, so
each browser gets only what changed since what it already has.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import boto3
import requests
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

import sandbox
from tutorial.contract import API_NAME, ETL_FUNCTION, INGESTION_FUNCTION, KEY_PREFIX, log_group

# How many journeys a browser receives when it connects (the most recent ones); the table shows fewer.
RECENT = 60
# The raw bucket is listed again after a write the logs report, or after this many seconds (a teardown, a
# learner's own upload): a listing of 240 objects costs 90 ms of CPU, and the page ticks twice a second.
RAW_LISTING_S = 10.0
_REPORT = re.compile(r"^REPORT RequestId: (?P<id>\S+)\s+Duration: (?P<ms>[\d.]+) ms")
_START = re.compile(r"^START RequestId: (?P<id>\S+)")
_KEY_ID = re.compile(r"/(\d+)\.json$")
# A service that does not answer at all (the sandbox stopped), as opposed to one that answers with an error.
UNREACHABLE = (requests.ConnectionError, requests.Timeout, BotoConnectionError, HTTPClientError)
# Service messages: what happened in the group, in Portuguese (Telegram sends them as messages "from" the group).
SERVICE = {
    "new_chat_members": "entrou no grupo",
    "left_chat_member": "saiu do grupo",
    "new_chat_title": "novo nome do grupo",
    "new_chat_photo": "nova foto do grupo",
    "pinned_message": "fixou uma mensagem",
    "group_chat_created": "grupo criado",
    "supergroup_chat_created": "supergrupo criado",
}


@dataclass
class Board:
    """Versioned state shared by the poller (writer) and the streams (readers)."""

    version: int = 0
    sections: dict[str, tuple[int, object]] = field(default_factory=dict)
    rows: dict[str, tuple[int, dict]] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def set_section(self, name: str, value: object) -> None:
        with self.changed:
            current = self.sections.get(name)
            if current is not None and current[1] == value:
                return
            self.version += 1
            self.sections[name] = (self.version, value)
            self.changed.notify_all()

    def set_row(self, key: str, row: dict) -> None:
        with self.changed:
            current = self.rows.get(key)
            if current is not None and current[1] == row:
                return
            self.version += 1
            self.rows[key] = (self.version, dict(row))
            self.changed.notify_all()

    def since(self, seen: int) -> tuple[int, dict, list[dict]]:
        """(current version, sections changed after `seen`, rows changed after `seen`, newest last)."""
        with self.changed:
            sections = {name: value for name, (v, value) in self.sections.items() if v > seen}
            rows = [row for v, row in self.rows.values() if v > seen]
            version = self.version
        rows.sort(key=lambda row: row["order"])
        return version, sections, rows[-RECENT:]

    def wait(self, seen: int, timeout: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.version > seen, timeout)


def parse_log_line(message: str) -> tuple[str | None, dict | None]:
    """(request id, JSON object) of a Lambda Python log line `[LEVEL]\\ttime\\trequest id\\t{...}`."""
    parts = message.split("\t", 3)
    if len(parts) < 4:
        return None, None
    start = parts[3].find("{")
    if start < 0:
        return parts[2], None
    try:
        value, _ = json.JSONDecoder().raw_decode(parts[3][start:])
    except ValueError:
        return parts[2], None
    return parts[2], value if isinstance(value, dict) else None


def update_id_of(key: str) -> int | None:
    match = _KEY_ID.search(key)
    return int(match.group(1)) if match else None


def _name(person: dict) -> str:
    return " ".join(part for part in (person.get("first_name"), person.get("last_name")) if part)


def _content(payload: dict, kind: str) -> str:
    if "text" in payload:
        return payload["text"]
    if "caption" in payload:
        return f"[foto] {payload['caption']}" if "photo" in payload else payload["caption"]
    if "photo" in payload:
        return "[foto]"
    media = next((m for m in ("sticker", "voice", "document", "poll", "location") if m in payload), None)
    return f"[{media}]" if media else f"[{kind}]"


def describe(update: dict) -> dict:
    """Who wrote, what kind and a short text of a Telegram update, for a row of the page."""
    kind = next((key for key in update if key != "update_id"), "?")
    payload = update.get(kind) if isinstance(update.get(kind), dict) else {}
    sender = payload.get("from") or payload.get("new_chat_member", {}).get("user") or {}
    name = _name(sender)
    label = {"message": "mensagem", "edited_message": "edição", "my_chat_member": "bot no grupo"}.get(
        kind, kind
    )
    if "migrate_to_chat_id" in payload:
        return {
            "kind": "aviso do Telegram",
            "who": "Telegram",
            "text": f"{name or 'um administrador'} transformou o grupo em supergrupo "
            f"(novo id {payload['migrate_to_chat_id']})",
        }
    if "migrate_from_chat_id" in payload:  # "from" is GroupAnonymousBot, whose first name is "Group"
        return {
            "kind": "aviso do Telegram",
            "who": "Telegram",
            "text": f"o supergrupo começou (era o grupo {payload['migrate_from_chat_id']})",
        }
    service = next((field for field in SERVICE if field in payload), None)
    if service is not None:
        members = payload.get("new_chat_members") or [payload.get("left_chat_member") or sender]
        who = ", ".join(filter(None, (_name(m) for m in members if isinstance(m, dict)))) or name
        return {"kind": "aviso do Telegram", "who": who or "Telegram", "text": f"[{SERVICE[service]}]"}
    described = {"kind": label, "who": name or "—", "text": _content(payload, kind)[:140]}
    replied = payload.get("reply_to_message")
    if isinstance(replied, dict):  # Telegram puts the message replied to inside the reply
        quoted = _content(replied, "mensagem")
        quoted = quoted if len(quoted) <= 40 else quoted[:39] + "…"
        described["kind"] = "resposta" if kind == "message" else label
        described["reply_to"] = f"{_name(replied.get('from') or {}) or 'alguém'}: «{quoted}»"
    return described


class BotLost(Exception):
    """The Bot API does not know this token any more: the sandbox restarted with a new one."""


class Observer:
    """Polls the services and writes the Board. `endpoint_url` None: boto3's own configuration (the env)."""

    def __init__(
        self,
        telegram_api: str,
        token: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        board: Board | None = None,
        history: bool = True,
    ) -> None:
        self.board = board or Board()
        # False: what the logs hold from before the page opened (the simulated class) is neither shown nor counted.
        self.history = history
        self.region = region
        self.connect(telegram_api, token, endpoint_url)
        self.journeys: dict[str, dict] = {}
        # The updates the class sent while the page watched (update id -> the update as the bucket holds it):
        # what is sent again if the sandbox restarts empty.
        self.sent: dict[str, dict] = {}  # row key -> update
        self.replayed: set[str] = set()  # row keys of the class's messages sent again after a restart
        # A restarted sandbox counts update ids from the start again: rows of each sandbox's life apart.
        self.generation = -1
        self._order = 0  # rows in the order the page first saw them (update ids, then refused requests)
        self.on_enriched_change = None  # set by the chart refresher
        self.new_sandbox()

    def connect(self, telegram_api: str, token: str, endpoint_url: str | None) -> None:
        """Point the clients at a sandbox (again: a restarted one has a new token, and may have new ports)."""
        self.telegram_api, self.token = telegram_api.rstrip("/"), token
        session = boto3.session.Session(region_name=self.region)
        # One attempt per tick: the next tick is the retry, and a failing service never stalls the others.
        once = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=15)
        self.s3 = session.client("s3", endpoint_url=endpoint_url, config=once)
        self.logs = session.client("logs", endpoint_url=endpoint_url, config=once)
        self.lambda_ = session.client("lambda", endpoint_url=endpoint_url, config=once)
        self.apigw = session.client("apigatewayv2", endpoint_url=endpoint_url, config=once)
        self.endpoint_url = endpoint_url

    def new_sandbox(self) -> None:
        """Forget what belongs to one sandbox's life (counts, log cursors, listings); keep the rows and `sent`."""
        self.raw_bucket = self.enriched_bucket = self.webhook_url = ""
        self._log_cursor: dict[str, tuple[int, set[str]]] = {}
        self._requests: dict[str, dict] = {}  # ingestion request id -> what its log lines said
        self._raw_keys: set[str] | None = None  # None until the first listing (the history already there)
        self._raw_listed_at: float | None = None  # monotonic time of the last listing that succeeded
        self._raw_written = False  # the logs reported a write the last listing may not include
        self._to_describe: set[str] = set()
        # Update ids there before the page first looked (stored, or queued before the first listing): the
        # history `make aula` generates again; everything else is what the class sent.
        self._known: set[int] = set()
        self._enriched: dict[str, str] = {}
        self.etl_runs: list[dict] = []
        self._etl_requests: dict[str, dict] = {}
        self._webhook_error: tuple[object, str] | None = None  # (Telegram's date, message) last seen
        self._webhook_error_seen_ms = 0.0
        self._delivered_since_error = True
        self.rejected = 0
        self.counts: Counter = Counter()
        self.generation += 1
        self.started_ms = time.time() * 1000  # refused requests logged before (the notebooks' own) get no row
        for row in self.journeys.values():
            row["queued"] = False

    # ---- discovery, as a learner reads the deployment back -----------------------------------------------
    def discover(self) -> bool:
        """Find the buckets and the webhook URL from the deployed function and API; False until deployed."""
        try:
            variables = self.lambda_.get_function_configuration(FunctionName=INGESTION_FUNCTION)[
                "Environment"
            ]["Variables"]
        except self.lambda_.exceptions.ResourceNotFoundException:
            return False
        self.raw_bucket = variables["AWS_S3_BUCKET"]
        self.enriched_bucket = self.raw_bucket.removesuffix("-raw") + "-enriched"
        api = next((a for a in self.apigw.get_apis()["Items"] if a["Name"] == API_NAME), None)
        self.webhook_url = f"{api['ApiEndpoint']}/webhook" if api else ""
        return True

    def deployed(self) -> bool:
        """Whether the function and the raw bucket the page follows still exist (a restarted sandbox has neither)."""
        try:
            self.lambda_.get_function_configuration(FunctionName=INGESTION_FUNCTION)
            self.s3.head_bucket(Bucket=self.raw_bucket)
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404 or error.response.get("Error", {}).get("Code") in ("NoSuchBucket", "404"):
                return False
            raise
        return True

    # ---- one tick ----------------------------------------------------------------------------------------
    def tick(self) -> str:
        """One reading of every service; returns what it found: "ok", "down" (the sandbox does not answer),
        "lost" (it answers without this deployment: restarted or reset) or "not deployed".

        A service that fails while the others answer (S3 during an outage fails for this page too) is named in
        the notice; the others are still read and published."""
        try:
            if not self.raw_bucket and not self.discover():
                self.board.set_section("aviso", "O pipeline ainda não foi implantado (notebooks 02 e 03).")
                return "not deployed"
        except UNREACHABLE:
            return "down"
        except (BotoCoreError, ClientError, ValueError):
            return "lost"
        failed, unreachable, lost = [], set(), False
        steps = (
            ("o Telegram", self._webhook),
            ("o Telegram", self._queue),
            ("os logs do CloudWatch", self._ingestion_logs),
            ("o S3", self._raw_listing),
            ("os logs do CloudWatch", self._etl_logs),
            ("o S3", self._enriched_listing),
        )
        for service, step in steps:
            try:
                step()
            except UNREACHABLE:
                unreachable.add("telegram" if "Telegram" in service else "aws")
                failed.append(service)
            except ClientError as error:
                lost |= error.response.get("Error", {}).get("Code") == "NoSuchBucket"
                failed.append(service)
            except BotLost:
                lost = True
            except (BotoCoreError, requests.RequestException, ValueError):
                failed.append(service)
        if unreachable == {"telegram", "aws"}:
            return "down"
        if lost:
            return "lost"
        self._publish()
        unread = ", ".join(dict.fromkeys(failed))
        self.board.set_section(
            "aviso", f"A página não conseguiu ler {unread} agora; tenta de novo em seguida." if failed else ""
        )
        return "ok"

    def _bot(self, method: str) -> dict:
        answer = requests.get(f"{self.telegram_api}/bot{self.token}/{method}", timeout=10).json()
        if answer.get("error_code") in (401, 404):  # a restarted sandbox's bot has a new token
            raise BotLost(answer.get("description", ""))
        return answer.get("result") or {}

    def _webhook(self) -> None:
        """The queue and the last error. Telegram keeps reporting its last error long after deliveries work
        again: the page shows it only until the function logs a delivery that came after it."""
        info = self._bot("getWebhookInfo")
        error = (info.get("last_error_date"), info.get("last_error_message") or "")
        if error[1] and error != self._webhook_error:
            self._webhook_error, self._webhook_error_seen_ms = error, time.time() * 1000
            self._delivered_since_error = False
        self.board.set_section(
            "webhook",
            {
                "url": info.get("url", ""),
                "pending": info.get("pending_update_count", 0),
                "last_error": "" if self._delivered_since_error else error[1],
            },
        )

    def _queue(self) -> None:
        """The updates Telegram holds for the webhook (the emulator's peek; absent on a real Telegram)."""
        try:
            response = requests.get(
                f"{self.telegram_api}/_sandbox/updates", headers=sandbox.control_headers(), timeout=10
            )
            pending = response.json().get("result") or []
        except (requests.RequestException, ValueError, sandbox.SandboxError):
            return
        queued = set()
        for update in pending:
            if self._raw_keys is None:
                self._known.add(update["update_id"])
                if self._seen_before(update["update_id"]):
                    continue
            self._keep(update)
            row = self._journey(update["update_id"])
            queued.add(row["key"])
            if row["who"] == "":
                row.update(describe(update))
            row["queued"] = True
        for row in self.journeys.values():
            if row["queued"] and row["key"] not in queued:
                row["queued"] = False

    def _keep(self, update: object) -> None:
        """Keep an update the class sent (not the history, not one the page itself sent again)."""
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int) or update_id in self._known:
            return
        key = self.row_key(update_id)
        if key not in self.replayed:
            self.sent.setdefault(key, update)

    def record_resent(self, resent: dict[str, int]) -> None:
        """Link each row of the class's messages with its copy in the restarted sandbox (row key -> update id)."""
        for key, update_id in resent.items():
            copy = self._journey(update_id)
            self.replayed.add(copy["key"])
            copy["resent_from"] = self.journeys[key]["update_id"] if key in self.journeys else None
            if key in self.journeys:
                self.journeys[key]["resent_as"] = update_id
        self._publish()

    def _seen_before(self, update_id: int) -> bool:
        """History a restarted sandbox has again: its rows are already on the page, from the sandbox before."""
        return self.generation > 0 and self.row_key(update_id) not in self.journeys

    def row_key(self, update_id: int) -> str:
        return str(update_id) if self.generation == 0 else f"{self.generation}:{update_id}"

    def _journey(self, update_id: int) -> dict:
        key = self.row_key(update_id)
        if key not in self.journeys:
            self.journeys[key] = {
                "key": key,
                "order": self._next_order(),
                "update_id": update_id,
                "who": "",
                "kind": "",
                "text": "",
                "queued": False,
                "attempts": 0,
                "failures": 0,
                "gateway": False,
                "duration_ms": None,
                "decision": "",
                "s3_key": "",
                "in_s3": False,
                "seen": time.strftime("%H:%M:%S"),
                "resent_as": None,
                "resent_from": None,
            }
        return self.journeys[key]

    def _next_order(self) -> int:
        self._order += 1
        return self._order

    def _new_events(self, group: str) -> list[dict]:
        """Log events of `group` not seen yet (filter_log_events from the last timestamp, deduplicated)."""
        since, seen = self._log_cursor.get(group, (0, set()))
        events = []
        try:
            for page in self.logs.get_paginator("filter_log_events").paginate(
                logGroupName=group, startTime=since
            ):
                events += [e for e in page["events"] if e["eventId"] not in seen]
        except self.logs.exceptions.ResourceNotFoundException:
            return []
        if events:
            latest = max(e["timestamp"] for e in events)
            keep = {e["eventId"] for e in events if e["timestamp"] == latest}
            if latest == since:
                keep |= seen
            self._log_cursor[group] = (latest, keep)
        events.sort(key=lambda e: (e["timestamp"], e.get("ingestionTime", 0)))
        if not self.history:
            events = [e for e in events if e["timestamp"] >= self.started_ms]
        return events

    def _ingestion_logs(self) -> None:
        for event in self._new_events(log_group(INGESTION_FUNCTION)):
            message = event["message"]
            started = _START.match(message)
            if started:
                self.counts["gateway"] += 1
                self._requests.setdefault(started["id"], {})
                continue
            report = _REPORT.match(message)
            if report:
                request = self._requests.pop(report["id"], {})
                self.counts["invocations"] += 1
                self.counts["duration_total"] += float(report["ms"])
                row = request.get("row")
                if row is not None:
                    row["duration_ms"] = round(float(report["ms"]), 1)
                continue
            request_id, line = parse_log_line(message)
            if line is None or "decision" not in line:
                continue
            decision = line["decision"]
            request = self._requests.setdefault(request_id, {})
            if decision in ("rejected", "quarantined"):
                # Refused (wrong secret: 401/403) or signed but not an update (200, kept in quarantine/).
                self.counts[decision] += 1
                if event["timestamp"] < self.started_ms:  # notebook 03's own demonstration, before the class
                    continue
                self.rejected += decision == "rejected"
                order = self._next_order()
                row = {
                    "key": f"{'recusada' if decision == 'rejected' else 'quarentena'}-{order}",
                    "order": order,
                    "update_id": None,
                    "who": "desconhecido",
                    "kind": "requisição",
                    "text": line.get("reason", ""),
                    "queued": False,
                    "attempts": 1,
                    "failures": 0,
                    "gateway": True,
                    "duration_ms": None,
                    "decision": (
                        f"recusada ({line.get('status')})"
                        if decision == "rejected"
                        else "guardada em quarentena"
                    ),
                    "s3_key": line.get("key", "") if decision == "quarantined" else "",
                    "in_s3": decision == "quarantined",
                    "seen": time.strftime("%H:%M:%S"),
                }
                self.journeys[row["key"]] = row
                request["row"] = row
                continue
            update_id = line.get("update_id")
            if update_id is None and decision == "s3_error":
                update_id = update_id_of(line.get("key", ""))
            if not isinstance(update_id, int):
                continue
            if event["timestamp"] < self.started_ms and self._seen_before(update_id):
                # The history a restarted sandbox delivered again while the notebooks redeployed: counted only.
                self.counts[{"s3_error": "s3_errors"}.get(decision, decision)] += 1
                continue
            row = self._journey(update_id)
            request["row"] = row
            row["gateway"] = True
            if decision == "s3_error":
                row["attempts"] += 1
                row["failures"] += 1
                row["decision"] = "erro no S3"
                self.counts["s3_errors"] += 1
            elif decision in ("stored", "ignored"):
                if event["timestamp"] > self._webhook_error_seen_ms:
                    self._delivered_since_error = True
                row["attempts"] += 1
                row["decision"] = {"stored": "gravado", "ignored": "ignorado"}[decision]
                self.counts[decision] += 1
                if decision == "stored":
                    row["s3_key"] = line.get("key", "")
                    self._raw_written = True
            if not row["kind"] and line.get("type"):
                row["kind"] = describe({"update_id": 0, line["type"]: {}})["kind"]

    def _raw_listing(self) -> None:
        due = (
            self._raw_listed_at is None
            or self._raw_written
            or time.monotonic() - self._raw_listed_at >= RAW_LISTING_S
        )
        if due:
            self._list_raw()
        self._describe_new()

    def _list_raw(self) -> None:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.raw_bucket, Prefix=KEY_PREFIX)
        keys = {item["Key"] for page in pages for item in page.get("Contents", [])}
        # Only once it succeeded: a listing that failed (an outage) is tried again at the next tick.
        self._raw_listed_at, self._raw_written = time.monotonic(), False
        history = self._raw_keys is None  # the first listing: what was there before the page opened
        new = sorted(keys - (self._raw_keys or set()), key=lambda k: update_id_of(k) or 0)
        self._raw_keys = keys
        partitions = Counter(
            key.split("/")[1].removeprefix("context_date=") for key in keys if key.count("/") == 2
        )
        self.board.set_section("particoes", sorted(partitions.items())[-10:])
        self.counts["raw_objects"] = len(keys)
        self.counts["partitions"] = len(partitions)
        for key in new:
            update_id = update_id_of(key)
            if update_id is None or (history and self._seen_before(update_id)):
                continue
            row = self._journey(update_id)
            row["in_s3"] = True
            row["s3_key"] = row["s3_key"] or key
        # Who wrote what, for the newest objects only (a class of 2,000 messages is not read on every start);
        # kept until read, so an object that fails to load (an outage) is read on a later tick.
        if history:
            self._known.update(filter(None, map(update_id_of, keys)))
        # What the class sends while the page watches is read whole (and kept in `sent`).
        self._to_describe.update(
            key
            for key in (new[-RECENT:] if history else new)
            if update_id_of(key) is not None
            and not (history and self._seen_before(update_id_of(key)))
            and (not history or not self._journey(update_id_of(key))["who"])
        )

    def _describe_new(self) -> None:
        for key in sorted(self._to_describe, key=lambda k: update_id_of(k) or 0):
            row = self._journey(update_id_of(key))
            body = self.s3.get_object(Bucket=self.raw_bucket, Key=key)["Body"].read()
            try:
                update = json.loads(body)
                described = describe(update)
            except (ValueError, AttributeError):
                update, described = None, {"who": "?", "text": "[objeto ilegível]"}
            if not row["who"] or row["who"] == "…":
                row.update(described)
            self._keep(update)
            self._to_describe.discard(key)

    def _etl_logs(self) -> None:
        for event in self._new_events(log_group(ETL_FUNCTION)):
            message = event["message"]
            report = _REPORT.match(message)
            if report and report["id"] in self._etl_requests:
                self._etl_requests.pop(report["id"])["duration_s"] = round(float(report["ms"]) / 1000, 1)
                continue
            request_id, line = parse_log_line(message)
            if line and line.get("decision") == "etl_done":
                run = {
                    "time": time.strftime("%H:%M:%S", time.localtime(event["timestamp"] / 1000)),
                    "days": len(line.get("days") or []),
                    "objects": line.get("objects_read", 0),
                    "rows": line.get("rows_written", 0),
                    "skipped": line.get("skipped", 0),
                    "duration_s": None,
                }
                self.etl_runs.append(run)
                self._etl_requests[request_id] = run

    def _enriched_listing(self) -> None:
        try:
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.enriched_bucket, Prefix=KEY_PREFIX
            )
            objects = {item["Key"]: item["ETag"] for page in pages for item in page.get("Contents", [])}
        except self.s3.exceptions.NoSuchBucket:
            objects = {}
        if objects != self._enriched:
            self._enriched = objects
            if self.on_enriched_change is not None:
                self.on_enriched_change()
        self.counts["parquet"] = len(objects)

    def _publish(self) -> None:
        for row in self.journeys.values():
            self.board.set_row(row["key"], row)
        invocations = self.counts["invocations"]
        average = self.counts["duration_total"] / invocations if invocations else 0
        self.board.set_section(
            "contadores",
            {
                "telegram_pending": self.board.sections.get("webhook", (0, {}))[1].get("pending", 0),
                "telegram_failures": self.counts["s3_errors"],
                "gateway": self.counts["gateway"],
                "stored": self.counts["stored"],
                "ignored": self.counts["ignored"],
                "rejected": self.counts["rejected"],
                "quarantined": self.counts["quarantined"],
                "errors": self.counts["s3_errors"],
                "avg_ms": round(average, 1),
                "raw_objects": self.counts["raw_objects"],
                "partitions": self.counts["partitions"],
                "parquet": self.counts["parquet"],
                "etl_runs": len(self.etl_runs),
            },
        )
        self.board.set_section("etl", self.etl_runs[-5:][::-1])
