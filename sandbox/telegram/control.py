"""JSON control routes under /_sandbox/ (used by the CLI, notebooks and tests); answers and errors in pt-BR."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from .. import SandboxError

if TYPE_CHECKING:
    from .emulator import TelegramSandbox


def _answer(payload: dict, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status, content_type="application/json")


def _int(body: dict, name: str, default: int | None = None) -> int | None:
    value = body.get(name, default)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SandboxError(f"'{name}' precisa ser um número inteiro (recebi {value!r}).") from None


def _routes(sb: TelegramSandbox, body: dict) -> dict:
    """(method, path) -> callable returning the JSON result."""
    who = body.get("from")
    reply_to = _int(body, "reply_to")
    return {
        ("GET", "status"): sb.status,
        ("GET", "participants"): sb.participants,
        ("GET", "updates"): sb.pending_updates,
        ("POST", "reset"): lambda: (sb.reset(_int(body, "seed")), sb.status())[1],
        ("POST", "clock/advance"): lambda: {"unix": sb.advance_clock(_int(body, "seconds", 0))},
        ("POST", "chat/text"): lambda: sb.post(
            who, str(body.get("text", "")), reply_to=reply_to, private=bool(body.get("private"))
        ),
        ("POST", "chat/photo"): lambda: sb.post_photo(who, body.get("caption"), reply_to=reply_to),
        ("POST", "chat/sticker"): lambda: sb.post_sticker(who, body.get("emoji"), reply_to=reply_to),
        ("POST", "chat/voice"): lambda: sb.post_voice(who, _int(body, "duration"), reply_to=reply_to),
        ("POST", "chat/document"): lambda: sb.post_document(
            who, body.get("file_name") or "material.pdf", body.get("caption")
        ),
        ("POST", "chat/poll"): lambda: sb.post_poll(
            who, str(body.get("question", "")), list(body.get("options", []))
        ),
        ("POST", "chat/location"): lambda: sb.post_location(
            who, float(body.get("latitude", 0)), float(body.get("longitude", 0))
        ),
        ("POST", "chat/edit"): lambda: sb.edit(_int(body, "message_id", 0), str(body.get("text", ""))),
        ("POST", "chat/join"): lambda: sb.join(who),
        ("POST", "chat/leave"): lambda: sb.leave(who),
        ("POST", "chat/migrate"): lambda: sb.migrate(who),
        ("POST", "chat/generate"): lambda: sb.generate(
            _int(body, "participants", 12),
            _int(body, "days", 7),
            _int(body, "messages", 2000),
            _int(body, "seed"),
        ),
        ("POST", "botfather/setprivacy"): lambda: sb.set_privacy(
            bool(body.get("enabled", True)), bool(body.get("readd", True))
        ),
        ("POST", "webhook/deliver"): lambda: sb.deliver_external(body.get("update")),
    }


def handle(sb: TelegramSandbox, request: Request) -> Response:
    body: dict = {}
    if request.method == "POST" and request.get_data().strip():
        try:
            body = json.loads(request.get_data())
        except ValueError:
            return _answer({"ok": False, "error": "O corpo da requisição não é um JSON válido."}, 400)
        if not isinstance(body, dict):
            return _answer({"ok": False, "error": "O corpo da requisição precisa ser um objeto JSON."}, 400)
    path = request.path.removeprefix("/_sandbox/").strip("/")
    try:
        action = _routes(sb, body).get((request.method, path))
        if action is None:
            return _answer(
                {"ok": False, "error": f"Rota desconhecida do sandbox: {request.method} /_sandbox/{path}"},
                404,
            )
        return _answer({"ok": True, "result": action()})
    except (SandboxError, ValueError, TypeError) as error:
        return _answer({"ok": False, "error": str(error)}, 400)
