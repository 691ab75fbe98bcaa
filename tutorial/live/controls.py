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


class ControlError(ValueError):
    """A control the sandbox refused or a bad request; the message (pt-BR) is shown to the teacher."""


class Controls:
    def __init__(
        self, telegram_api: str, endpoint_url: str, region: str | None = None, observer=None, board=None
    ) -> None:
        self.telegram_api, self.endpoint_url = telegram_api.rstrip("/"), endpoint_url.rstrip("/")
        self.observer, self.board = observer, board
        session = boto3.session.Session(region_name=region)
        # Like notebook 04's invoker: never a second invocation after a slow answer.
        self.lambda_ = session.client(
            "lambda",
            endpoint_url=endpoint_url,
            config=Config(read_timeout=930, retries={"total_max_attempts": 1}),
        )
        self.s3 = session.client("s3", endpoint_url=endpoint_url)
        self.last_message_id: int | None = None
        self._outage_timer: threading.Timer | None = None

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
        self._s3_faults({"fail": False})
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
