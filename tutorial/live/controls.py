"""The teacher's buttons: each one does, on purpose, what a notebook explains, through the sandbox's own doors.

Posting, migrating: the Telegram emulator's control routes (with the per-run secret). The refused request: a
plain POST to the public webhook URL without Telegram's secret header, as a stranger would send. The outage:
the sandbox's S3 fault injection, turned off again after N seconds. The ETL: `lambda.invoke` with boto3, as
notebook 04 does.
"""

from __future__ import annotations

import json
import threading

import boto3
import requests
from botocore.config import Config

import sandbox
from tutorial.contract import ETL_FUNCTION, KEY_PREFIX
from tutorial.control import telegram_control

MAX_OUTAGE_S = 120
# Service messages: what happened to the group, not something a person wrote.
SERVICE_FIELDS = (
    "migrate_to_chat_id",
    "migrate_from_chat_id",
    "new_chat_members",
    "left_chat_member",
    "new_chat_title",
    "new_chat_photo",
    "pinned_message",
    "group_chat_created",
    "supergroup_chat_created",
)


class ControlError(ValueError):
    """A control the sandbox refused or a bad request; the message (pt-BR) is shown to the teacher."""


class Controls:
    def __init__(
        self, telegram_api: str, endpoint_url: str, region: str | None = None, observer=None, board=None
    ) -> None:
        self.observer, self.board, self.region = observer, board, region
        self.connect(telegram_api, endpoint_url)
        self.last_message_id: int | None = None
        self._outage_timer: threading.Timer | None = None

    def connect(self, telegram_api: str, endpoint_url: str) -> None:
        """Point the controls at a sandbox (again, after a restart that may have changed its ports)."""
        self.telegram_api, self.endpoint_url = telegram_api.rstrip("/"), endpoint_url.rstrip("/")
        session = boto3.session.Session(region_name=self.region)
        # Like notebook 04's invoker: never a second invocation after a slow answer.
        self.lambda_ = session.client(
            "lambda",
            endpoint_url=endpoint_url,
            config=Config(read_timeout=930, retries={"total_max_attempts": 1}),
        )
        self.s3 = session.client("s3", endpoint_url=endpoint_url)

    def _telegram(self, method: str, path: str, body: dict | None = None):
        try:
            return telegram_control(method, path, body, api_url=self.telegram_api, timeout=60)
        except sandbox.SandboxError as error:
            raise ControlError(str(error)) from None

    def participants(self) -> list[dict]:
        people = self._telegram("GET", "participants")
        return [
            {"id": p["id"], "name": " ".join(filter(None, (p["first_name"], p.get("last_name"))))}
            for p in people
            if not p["is_bot"] and p.get("in_group")
        ]

    def post(self, kind: str, text: str, who: int | None) -> dict:
        text = (text or "").strip()
        if who is None:  # the page's list was empty when it loaded: the first participant writes
            people = self.participants()
            if not people:
                raise ControlError("Ninguém da turma está no grupo.")
            who = people[0]["id"]
        if kind == "texto":
            result = self._telegram("POST", "chat/text", {"from": who, "text": text or "Olá, turma!"})
        elif kind == "foto":
            result = self._telegram("POST", "chat/photo", {"from": who, "caption": text or None})
        elif kind in ("edicao", "resposta"):
            if self.last_message_id is None:
                raise ControlError("Primeiro publique uma mensagem: a edição e a resposta usam a última.")
            if kind == "edicao":
                body = {"message_id": self.last_message_id, "text": text or "(mensagem editada)"}
                return self._summary(self._telegram("POST", "chat/edit", body), "edição")
            body = {"from": who, "text": text or "Concordo!", "reply_to": self.last_message_id}
            result = self._telegram("POST", "chat/text", body)
        else:
            raise ControlError(f"Tipo de publicação desconhecido: {kind!r}.")
        self.last_message_id = result["message"]["message_id"]
        return self._summary(result, kind)

    @staticmethod
    def _summary(result: dict, kind: str) -> dict:
        return {
            "update_id": result.get("update_id"),
            "message_id": result["message"]["message_id"],
            "kind": kind,
        }

    def unsigned_request(self) -> dict:
        """A POST to the webhook URL without X-Telegram-Bot-Api-Secret-Token: the function must refuse it."""
        url = self.observer.webhook_url if self.observer else ""
        if not url:
            raise ControlError("O webhook ainda não existe: rode os notebooks 02 e 03.")
        fake = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "group"}}}
        response = requests.post(url, json=fake, timeout=30)
        return {"status": response.status_code, "body": response.text[:200]}

    def outage(self, seconds: int) -> dict:
        if not isinstance(seconds, int) or isinstance(seconds, bool) or not 1 <= seconds <= MAX_OUTAGE_S:
            raise ControlError(f"A queda do S3 dura de 1 a {MAX_OUTAGE_S} segundos.")
        self._s3_faults({"fail": True, "status": 503})
        if self._outage_timer is not None:
            self._outage_timer.cancel()
        self._outage_timer = threading.Timer(seconds, self.end_outage)
        self._outage_timer.daemon = True
        self._outage_timer.start()
        if self.board is not None:
            self.board.set_section("queda", {"active": True, "seconds": seconds})
        return {"seconds": seconds}

    def end_outage(self) -> None:
        try:
            self._s3_faults({"fail": False})
        except (requests.RequestException, ControlError, sandbox.SandboxError):
            pass  # the sandbox stopped meanwhile: a new one starts without the outage
        if self.board is not None:
            self.board.set_section("queda", {"active": False, "seconds": 0})

    def _s3_faults(self, body: dict) -> dict:
        response = requests.post(
            f"{self.endpoint_url}/_sandbox/s3", json=body, headers=sandbox.control_headers(), timeout=30
        )
        if response.status_code != 200:
            raise ControlError(f"o sandbox recusou a falha do S3: {response.text[:200]}")
        return response.json()

    def migrate(self) -> dict:
        result = self._telegram("POST", "chat/migrate", {})
        return {"old_chat_id": result["old_chat_id"], "new_chat_id": result["new_chat_id"]}

    def run_etl(self) -> dict:
        """Notebook 04's backfill: every day of the raw bucket, from the first partition to the last."""
        raw_bucket = self.observer.raw_bucket if self.observer else ""
        if not raw_bucket:
            raise ControlError("O pipeline ainda não foi implantado.")
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=raw_bucket, Prefix=KEY_PREFIX, Delimiter="/"
        )
        days = sorted(
            p["Prefix"].split("context_date=")[1].rstrip("/")
            for page in pages
            for p in page.get("CommonPrefixes", [])
        )
        if not days:
            raise ControlError("O bucket bruto está vazio: não há o que transformar.")
        try:
            response = self.lambda_.invoke(
                FunctionName=ETL_FUNCTION, Payload=json.dumps({"start_date": days[0], "end_date": days[-1]})
            )
        except self.lambda_.exceptions.ResourceNotFoundException:
            raise ControlError("A função do ETL não existe: rode o notebook 04.") from None
        result = json.loads(response["Payload"].read())
        if response.get("FunctionError"):
            raise ControlError(f"o ETL falhou: {result.get('errorType')}: {result.get('errorMessage')}")
        return {"rows": result["rows_written"], "skipped": len(result["skipped"]), "days": len(days)}

    def resend(self, sent: list[tuple[str, dict]]) -> dict[str, int]:
        """Send again, in order, what the class sent before the sandbox restarted empty; row key -> new update id.

        A restarted emulator counts update ids from its first one again, so the class's messages are posted
        again by the same people (new ids that later posts will not reuse, edits and replies pointing at the
        new copies); what did not come from the simulated group (the bridge's real updates) is delivered to the
        webhook as it came. What happened to the group itself (a migration) is not redone.
        """
        people = {person["id"] for person in self._telegram("GET", "participants")}
        copies: dict[int, int] = {}  # old message id -> its copy's
        resent: dict[str, int] = {}
        for key, update in sent:
            kind = next((name for name in update if name != "update_id"), "")
            payload = update.get(kind) if isinstance(update.get(kind), dict) else {}
            if any(field in payload for field in SERVICE_FIELDS):
                continue
            try:
                answer = self._post_again(kind, payload, people, copies)
            except ControlError:
                answer = None
            if answer is None:  # not the simulated group's, or refused there: as it came
                try:
                    delivered = self._telegram("POST", "webhook/deliver", {"update": update})
                except ControlError:
                    continue
                if delivered.get("delivered"):
                    resent[key] = update["update_id"]
                continue
            if "message_id" in payload:
                copies[payload["message_id"]] = answer["message"]["message_id"]
            if answer.get("update_id") is not None:
                resent[key] = answer["update_id"]
        return resent

    def _post_again(self, kind: str, payload: dict, people: set[int], copies: dict[int, int]) -> dict | None:
        sender = (payload.get("from") or {}).get("id")
        if sender not in people:
            return None
        replied = (payload.get("reply_to_message") or {}).get("message_id")
        reply_to = copies.get(replied, replied) if replied else None
        if kind == "message" and "text" in payload:
            body = {"from": sender, "text": payload["text"], "reply_to": reply_to}
            return self._telegram("POST", "chat/text", body)
        if kind == "message" and "photo" in payload:
            body = {"from": sender, "caption": payload.get("caption"), "reply_to": reply_to}
            return self._telegram("POST", "chat/photo", body)
        if kind == "edited_message" and ("text" in payload or "caption" in payload):
            original = payload.get("message_id")
            body = {
                "message_id": copies.get(original, original),
                "text": payload.get("text") or payload["caption"],
            }
            return self._telegram("POST", "chat/edit", body)
        return None
