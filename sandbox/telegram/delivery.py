"""Webhook delivery: the bot's webhook, a scheduler thread, one request in flight per chat, retries, last error."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .. import SandboxError
from . import webhook
from .clock import VirtualClock
from .updates import Pending, UpdateQueue, dumps

logger = logging.getLogger(__name__)

# POST (url, headers, body, timeout) -> (status, body) or (status, body, headers); raises OSError on failure.
Transport = Callable[[str, dict, bytes, float], tuple]


@dataclass(frozen=True)
class Webhook:
    url: str
    max_connections: int
    secret_token: str | None
    ip_address: str | None


class WebhookDelivery:
    """Sends the queue's updates to the webhook as Telegram does: in order within a chat, chats in parallel up
    to max_connections, failures retried on Telegram's schedule (times `time_scale`), the last one kept.

    `changed` is the emulator's lock; the scheduler thread takes it, other callers hold it.
    """

    def __init__(
        self,
        updates: UpdateQueue,
        clock: VirtualClock,
        changed: threading.Condition,
        transport: Transport,
        resolver: Callable[[str], bool],
        time_scale: float,
        on_reply: Callable[[bytes], None],
    ) -> None:
        self.updates, self.clock, self._changed = updates, clock, changed
        self.transport = transport
        self.resolver = resolver  # setWebhook refuses a host that does not resolve
        self.time_scale = time_scale
        self._on_reply = on_reply  # runs a method call carried in a webhook's answer
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._epoch = 0  # a request started in an older epoch (other webhook, reset) counts for nothing
        self.reset(random.Random())

    def reset(self, retry_rng: random.Random) -> None:
        self._retry_rng = retry_rng
        self._next_set_webhook = 0.0
        self.set_webhook(None)

    # ---- settings --------------------------------------------------------------------------------------
    def set_webhook(self, hook: Webhook | None) -> None:
        """A new or removed webhook: results in flight are void, every update is due at once."""
        self.webhook = hook
        self.last_error: tuple[int, str] | None = None  # (virtual date, Telegram's last_error_message)
        self._epoch += 1
        self._in_flight: dict[tuple, int] = {}  # queue -> update id being sent
        self._retries: dict[int, tuple[int, float]] = {}  # update id -> (failures, monotonic time due)

    def take_set_webhook_turn(self) -> bool:
        """Telegram allows one setWebhook per second per bot; False means answer 429."""
        now = self.clock.monotonic()
        if now < self._next_set_webhook:
            return False
        self._next_set_webhook = now + 1
        return True

    # ---- the scheduler ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    def start(self) -> None:
        """Start the scheduler thread (each request in flight gets a thread of its own)."""
        with self._changed:
            if self.running:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name="telegram-webhook", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop sending; requests in flight finish in the background and their results still count."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
            thread = self._thread
        if thread:
            thread.join(timeout=5)
        self._thread = None

    def _loop(self) -> None:
        with self._changed:
            while not self._stopping:
                self._changed.wait(timeout=self._dispatch_due())

    def _dispatch_due(self) -> float | None:
        """Start one request per queue whose head is due, within max_connections; seconds to the next due."""
        hook = self.webhook
        if hook is None:
            return None
        now = self.clock.monotonic()
        next_due = None
        heads = self.updates.heads()
        for update_id in self._retries.keys() - {p.update_id for p in heads}:
            del self._retries[update_id]  # confirmed or expired meanwhile
        for pending in heads:
            if pending.queue in self._in_flight:
                continue
            if len(self._in_flight) >= hook.max_connections:
                break
            _, due = self._retries.get(pending.update_id, (0, 0.0))
            if due > now:
                next_due = due if next_due is None else min(next_due, due)
                continue
            self._in_flight[pending.queue] = pending.update_id
            threading.Thread(target=self._deliver, args=(hook, pending, self._epoch), daemon=True).start()
        return None if next_due is None else max(0.0, next_due - now)

    def _deliver(self, hook: Webhook, pending: Pending, epoch: int) -> None:
        _, answer, error, retry_after = self._send(hook, pending.body, pending.update_id)
        with self._changed:
            if epoch != self._epoch:
                return  # the webhook changed or the emulator was reset meanwhile
            self._in_flight.pop(pending.queue, None)
            if error is None:
                self.updates.remove(pending.update_id)
                self._retries.pop(pending.update_id, None)
            else:
                self._failed(pending, error, retry_after)
            self._changed.notify_all()
        if error is None and answer:
            self._on_reply(answer)

    def _failed(self, pending: Pending, error: str, retry_after: int) -> None:
        """WebhookActor::on_update_error: the next attempt waits Retry-After (up to an hour) or the backoff;
        an update whose next attempt would fall after its expiry (its date + 24 h) is dropped instead."""
        self.last_error = (self.clock(), error)
        failures = self._retries.get(pending.update_id, (0, 0.0))[0] + 1
        delay = retry_after or webhook.retry_delay(failures, self._retry_rng)
        if self.clock() + delay > pending.expires_at:
            self.updates.remove(pending.update_id)
            self._retries.pop(pending.update_id, None)
            logger.info(
                "update %s descartado: passou de 24 h da data sem entrega: %s", pending.update_id, error
            )
            return
        self._retries[pending.update_id] = (failures, self.clock.monotonic() + delay * self.time_scale)
        logger.info("a entrega do update %s ao webhook falhou: %s", pending.update_id, error)

    def _send(self, hook: Webhook, body: bytes, update_id: int) -> tuple[int | None, bytes, str | None, int]:
        """One request as Telegram sends it: (status, answer, the last_error_message it shows or None, the
        seconds its Retry-After asks for, 0 when none). A transport answers (status, body[, headers])."""
        headers = webhook.request_headers(body, hook.secret_token)
        try:
            status, answer, *rest = self.transport(hook.url, headers, body, webhook.DELIVERY_TIMEOUT)
        except OSError as exc:
            return None, b"", webhook.connection_error_text(exc), 0
        except Exception:
            logger.exception("erro inesperado ao enviar o update %s ao webhook", update_id)
            return None, b"", "Webhook connection closed", 0
        if 200 <= status < 300:
            return status, answer, None, 0
        return (
            status,
            answer,
            webhook.wrong_response_text(status),
            webhook.retry_after(rest[0] if rest else {}),
        )

    # ---- an update from elsewhere ----------------------------------------------------------------------
    def deliver_external(self, update: object) -> dict:
        """Deliver, now and once, an update that came from elsewhere (the live bridge) to the webhook.

        The request is the one Telegram sends (same body encoding, headers and secret). It bypasses the
        queue: the caller confirms the update at its source only after a 2xx and retries otherwise, which
        keeps its order. A failure is kept as last_error, as getWebhookInfo shows it. A method call in the
        answer is not executed: it would act on this bot, not on the one the update came from.
        """
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool) or len(update) < 2:
            raise SandboxError(
                "O update precisa ser um objeto JSON com update_id inteiro e um tipo (message...)."
            )
        with self._changed:
            hook = self.webhook
        if hook is None:
            raise SandboxError(
                "O sandbox ainda não tem webhook: rode os notebooks 02 e 03 "
                "(ou python -m tutorial demo) antes."
            )
        status, _, error, _ = self._send(hook, dumps(update), update_id)
        if error is not None:
            with self._changed:
                self.last_error = (self.clock(), error)
        return {"update_id": update_id, "delivered": error is None, "status": status, "error": error}
