"""The Bot API over HTTP (werkzeug WSGI): /bot<token>/<method>, /file/bot<token>/<path>, /_sandbox/..."""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Request, Response

from .. import SandboxError
from . import control, markup, messages, webhook
from .delivery import Webhook
from .flood import FloodControl
from .people import GIFT_TYPES
from .updates import DEFAULT_UPDATES, UPDATE_TYPES, PollSuperseded, dumps

if TYPE_CHECKING:
    from .emulator import TelegramSandbox

logger = logging.getLogger(__name__)

_TOKEN_SHAPE = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{30,50}")
_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]+")
_TRUE = {"true", "yes", "1"}
LONG_POLL_MAX = 50


class ApiError(Exception):
    def __init__(
        self,
        code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after
        self.migrate_to_chat_id = migrate_to_chat_id


class Params:
    """Method parameters from any encoding; form values may be JSON-encoded, as python-telegram-bot sends."""

    def __init__(self, values: dict) -> None:
        self.values = values

    def raw(self, name: str):
        value = self.values.get(name)
        return None if value is None or value == "" else value

    def str(self, name: str) -> str | None:
        value = self.raw(name)
        return None if value is None else str(value)

    def int(self, name: str, default: int) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            return 0  # the Bot API server reads a non-number as 0

    def bool(self, name: str) -> bool:
        value = self.raw(name)
        return value is True or (isinstance(value, str) and value.strip().lower() in _TRUE) or value == 1

    def json(self, name: str):
        value = self.raw(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as exc:
                raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from exc
        return value


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


class BotApi:
    """Bot API methods. Every handler takes Params and returns the `result` (or raises ApiError)."""

    def __init__(self, sandbox: TelegramSandbox) -> None:
        self.sb = sandbox
        self.commands: list[dict] = []
        self.flood = FloodControl(lambda: sandbox.clock.monotonic())
        self.methods = {
            name.lower(): getattr(self, name)
            for name in (
                "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "sendMessage", "getChat",
                "getChatMemberCount", "getFile", "setMyCommands", "getMyCommands", "deleteMyCommands", "close",
                "logOut",
            )
        }  # fmt: skip

    # ---- identity --------------------------------------------------------------------------------------
    def getMe(self, p: Params) -> dict:
        """The bot's User with the getMe-only flags, in the order of the Bot API 10.0 server (Client::JsonUser)."""
        bot = self.sb.bot
        return {
            **bot.to_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.sb.group.privacy,
            "supports_inline_queries": False,
            "supports_guest_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
            "has_topics_enabled": False,
            "allows_users_to_create_topics": False,
            "can_manage_bots": False,
        }

    def close(self, p: Params) -> bool:
        return True  # nothing to hand over to another server

    def logOut(self, p: Params) -> bool:
        return True

    # ---- updates ---------------------------------------------------------------------------------------
    def _set_allowed(self, p: Params) -> None:
        """allowed_updates as Client::get_allowed_update_types reads it: names lowercased, unknown ones ignored,
        no known name left means the default set; a malformed value changes nothing and is no error."""
        raw = p.raw("allowed_updates")
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                return
        if not isinstance(raw, list) or not all(isinstance(kind, str) for kind in raw):
            return
        known = [kind for kind in UPDATE_TYPES if kind in {name.lower() for name in raw}]
        self.sb.updates.allowed_updates = None if set(known) in (set(), DEFAULT_UPDATES) else known

    def getUpdates(self, p: Params) -> bytes:
        sb = self.sb
        offset = p.int("offset", 0)
        limit = _clamp(p.int("limit", 100), 1, 100)
        timeout = _clamp(p.int("timeout", 0), 0, LONG_POLL_MAX)
        with sb.lock:
            if sb.delivery.webhook is not None:
                raise ApiError(409, _WEBHOOK_ACTIVE)
            self._set_allowed(p)
            try:
                bodies = sb.updates.poll(offset, limit, timeout)
            except PollSuperseded as ended:
                raise ApiError(409, str(ended)) from None
        return b"[" + b",".join(bodies) + b"]"

    # ---- webhook ---------------------------------------------------------------------------------------
    def setWebhook(self, p: Params) -> tuple[bool, str]:
        """Client::process_set_webhook_query: the rate limit and "already set" come first; then a long poll is
        ended, the old webhook is closed, and only then is the new URL checked, so a refused URL leaves none."""
        sb = self.sb
        url = p.str("url") or ""
        if not url:
            return self.deleteWebhook(p)
        with sb.lock:
            if not sb.delivery.take_set_webhook_turn():
                raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
            secret = p.str("secret_token")
            hook = Webhook(url, _clamp(p.int("max_connections", 40), 1, 100), secret, p.str("ip_address"))
            drop = p.bool("drop_pending_updates")
            if hook == sb.delivery.webhook and not drop:
                self._set_allowed(p)
                return True, "Webhook is already set"
            sb.updates.interrupt_polls(_ENDED_BY_SET_WEBHOOK)
            sb.delivery.set_webhook(None)
            if drop:
                sb.updates.drop()
            self._check_webhook(url, secret)
            self._set_allowed(p)
            sb.delivery.set_webhook(hook)
            return True, "Webhook was set"

    def _check_webhook(self, url: str, secret: str | None) -> None:
        """The checks of Client::do_set_webhook, then those WebhookActor makes before it delivers anything."""
        try:
            parts = urlsplit(url if "://" in url else f"https://{url}")  # no scheme means https
            port = parts.port
        except ValueError as exc:
            raise ApiError(400, "Bad Request: invalid webhook URL specified") from exc
        if not parts.hostname:
            raise ApiError(400, "Bad Request: invalid webhook URL specified")
        if secret is not None and len(secret) > 256:
            raise ApiError(400, "Bad Request: secret token is too long")
        if secret is not None and not _SECRET_SHAPE.fullmatch(secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if parts.scheme.lower() != "https":
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        if (port or 443) not in webhook.ALLOWED_PORTS:
            raise ApiError(
                400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        address = webhook.literal_address(parts.hostname) or self.sb.delivery.resolver(parts.hostname)
        if address is None:
            raise ApiError(400, "Bad Request: bad webhook: Failed to resolve host: Name or service not known")
        if refusal := webhook.address_refusal(address):
            raise ApiError(400, f"Bad Request: bad webhook: {refusal}")

    def deleteWebhook(self, p: Params) -> tuple[bool, str]:
        sb = self.sb
        with sb.lock:
            if p.bool("drop_pending_updates"):
                sb.updates.drop()
            if sb.delivery.webhook is None:
                sb.delivery.last_error = None
                return True, "Webhook is already deleted"
            sb.delivery.set_webhook(None)
            return True, "Webhook was deleted"

    def getWebhookInfo(self, p: Params) -> dict:
        sb = self.sb
        with sb.lock:
            hook, error, allowed = sb.delivery.webhook, sb.delivery.last_error, sb.updates.allowed_updates
            info: dict = {
                "url": hook.url if hook else "",
                "has_custom_certificate": False,
                "pending_update_count": len(sb.updates),
            }
            if error:
                info["last_error_date"], info["last_error_message"] = error
            if hook:
                info["max_connections"] = hook.max_connections
                if hook.ip_address:
                    info["ip_address"] = hook.ip_address
            if allowed:
                info["allowed_updates"] = list(allowed)
            return info

    # ---- chats and messages ----------------------------------------------------------------------------
    def _chat(self, p: Params) -> dict:
        group = self.sb.group
        raw = p.raw("chat_id")
        if raw is None:
            raise ApiError(400, "Bad Request: chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "Bad Request: chat not found") from exc
        if chat_id in group.upgraded:
            # What Telegram answers for a group that became a supergroup; clients read the new id from it.
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=group.upgraded[chat_id],
            )
        chat = group.chat_for(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        if chat["type"] in ("group", "supergroup") and not group.bot_in_group:
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat['type']} chat")
        if chat["type"] == "private" and not group.started_private_chat(chat_id):
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def sendMessage(self, p: Params) -> dict:
        """The text and its markup are checked before the chat (Client::process_send_message_query)."""
        with self.sb.lock:
            text = p.str("text")
            if text is None:
                raise ApiError(400, "Bad Request: message text is empty")
            try:
                text, entities = markup.parse(text, p.str("parse_mode"))
            except markup.UnsupportedParseMode:
                raise ApiError(400, "Bad Request: unsupported parse_mode") from None
            except markup.MarkupError as refused:
                raise ApiError(400, f"Bad Request: can't parse entities: {refused}") from None
            chat = self._chat(p)
            if not text.strip():
                raise ApiError(400, "Bad Request: message text is empty")
            if len(text) > 4096:
                raise ApiError(400, "Bad Request: message is too long")
            reply_to = p.int("reply_to_message_id", 0) or None
            parameters = p.json("reply_parameters")
            if isinstance(parameters, dict):
                reply_to = int(parameters.get("message_id") or 0) or None
            if reply_to is not None and self.sb.group.message(chat["id"], reply_to) is None:
                raise ApiError(400, "Bad Request: message to be replied not found")
            if wait := self.flood.retry_after(chat["id"]):
                raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
            self.flood.sent(chat["id"])
            # The bot's own messages are stored (people can reply to them) but never come back as updates.
            return self.sb.group.send_as_bot(chat, text, entities, reply_to)

    def getChat(self, p: Params) -> dict:
        with self.sb.lock:
            chat = self._chat(p)
        # ChatFullInfo's required keys (accepted_gift_types since Bot API 9.0): clients refuse it without them.
        # People accept every gift by default; a group cannot receive gifts.
        accepts = chat["type"] == "private"
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(GIFT_TYPES, accepts),
        }

    def getChatMemberCount(self, p: Params) -> int:
        with self.sb.lock:
            chat = self._chat(p)
            return 2 if chat["type"] == "private" else self.sb.group.member_count()

    def getFile(self, p: Params) -> dict:
        with self.sb.lock:
            stored = self.sb.group.files.by_id.get(p.str("file_id") or "")
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return messages.file_json(stored, file_path=stored.file_path)

    def setMyCommands(self, p: Params) -> bool:
        commands = p.json("commands")
        if not isinstance(commands, list):
            raise ApiError(400, 'Bad Request: parameter "commands" is required')
        self.commands = [
            {"command": str(c["command"]), "description": str(c["description"])} for c in commands
        ]
        return True

    def getMyCommands(self, p: Params) -> list[dict]:
        return self.commands

    def deleteMyCommands(self, p: Params) -> bool:
        self.commands = []
        return True

    # ---- dispatch --------------------------------------------------------------------------------------
    def call(self, method: str, params: Params) -> Response:
        handler = self.methods.get(method.lower())
        if handler is None:
            raise ApiError(404, "Not Found")
        result = handler(params)
        if isinstance(result, bytes):  # pre-serialized updates, byte-identical to webhook bodies
            return _json_response(b'{"ok":true,"result":' + result + b"}", 200)
        if isinstance(result, tuple):
            return _json_response(dumps({"ok": True, "result": result[0], "description": result[1]}), 200)
        return _json_response(dumps({"ok": True, "result": result}), 200)

    def run_webhook_reply(self, answer: bytes) -> None:
        """Telegram executes a method call carried in a webhook's 2xx answer; its errors go nowhere."""
        try:
            payload = json.loads(answer)
        except ValueError:
            return
        if not isinstance(payload, dict) or not isinstance(payload.get("method"), str):
            return
        method = payload["method"].lower()
        if method in _NOT_FROM_WEBHOOK or method.startswith("get"):
            return
        try:
            self.call(payload["method"], Params(payload))
        except ApiError as exc:
            logger.info("método pedido na resposta do webhook recusado: %s", exc.description)


_WEBHOOK_ACTIVE = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
_ENDED_BY_SET_WEBHOOK = "Conflict: terminated by setWebhook request"  # Client::abort_long_poll
# Methods a webhook's answer may not call (WebhookActor::handle): these and every get* method are ignored.
_NOT_FROM_WEBHOOK = frozenset({"deletewebhook", "setwebhook", "close", "logout"})


def _json_response(body: bytes, status: int, headers: dict | None = None) -> Response:
    return Response(body, status=status, headers=headers, content_type="application/json")


def _error_response(error: ApiError) -> Response:
    payload: dict = {"ok": False, "error_code": error.code, "description": error.description}
    headers = None
    if error.retry_after is not None:
        payload["parameters"] = {"retry_after": error.retry_after}
        headers = {"Retry-After": str(error.retry_after)}
    if error.migrate_to_chat_id is not None:
        payload["parameters"] = {"migrate_to_chat_id": error.migrate_to_chat_id}
    return _json_response(dumps(payload), error.code, headers)


def request_params(request: Request) -> Params:
    """Query string, then the body: JSON, urlencoded or multipart."""
    values: dict = dict(request.args.items())
    if request.mimetype == "application/json":
        data = request.get_data()
        if data.strip():
            try:
                body = json.loads(data)
            except ValueError as exc:
                raise ApiError(400, "Bad Request: can't parse JSON object") from exc
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: can't parse JSON object")
            values.update(body)
    else:
        values.update(request.form.items())
    return Params(values)


class TelegramApp:
    """The WSGI application: api.telegram.org's routes plus the sandbox's control routes."""

    def __init__(self, sandbox: TelegramSandbox) -> None:
        self.sandbox = sandbox
        self.api = BotApi(sandbox)

    def __call__(self, environ, start_response):
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def _check_token(self, token: str) -> None:
        if not _TOKEN_SHAPE.fullmatch(token):
            raise ApiError(404, "Not Found")
        if token != self.sandbox.token:
            raise ApiError(401, "Unauthorized")

    def dispatch(self, request: Request) -> Response:
        path = request.path
        try:
            if path.startswith("/_sandbox/"):
                return control.handle(self.sandbox, request)
            if match := re.fullmatch(r"/bot([^/]*)/([A-Za-z]+)", path):
                self._check_token(match.group(1))
                return self.api.call(match.group(2), request_params(request))
            if match := re.fullmatch(r"/file/bot([^/]*)/(.+)", path):
                self._check_token(match.group(1))
                with self.sandbox.lock:
                    stored = self.sandbox.group.files.by_path.get(match.group(2))
                if stored is None:
                    raise ApiError(404, "Not Found")
                return Response(messages.Files.content(stored), content_type="application/octet-stream")
            raise ApiError(404, "Not Found")
        except ApiError as error:
            return _error_response(error)
        except BadRequest:
            return _error_response(ApiError(400, "Bad Request: can't parse request"))
        except SandboxError as error:
            return _error_response(ApiError(400, f"Bad Request: {error}"))


def make_wsgi_app(sandbox: TelegramSandbox) -> TelegramApp:
    return TelegramApp(sandbox)
