"""The live bridge (`python -m tutorial bridge`): a real Telegram group feeding the offline sandbox.

A teacher with a bot token but no AWS account lets the class write in the real group while the sandbox plays
AWS. The bridge long-polls the real Bot API (the SOURCE) with getUpdates and hands each update to the running
sandbox (the TARGET) through its Telegram emulator, which POSTs it to the webhook URL and secret that
notebook 03 set (`POST /_sandbox/webhook/deliver`): same body, same headers, same API Gateway route, same
Lambda. From there the notebooks' ETL and analysis see what the class just wrote.

Nothing lost, nothing repeated: an update's offset is confirmed at the source (the next getUpdates' `offset`)
only after the webhook answered 2xx, that is, after the Lambda stored it (or kept it in quarantine, or ignored
it on purpose). A failed delivery is retried, with a backoff, before any later update, so the order is kept. A crash or Ctrl+C between delivery and confirmation
makes the source hand the update out again on the next run; it is stored again under the same S3 key
(`{update_id}.json`), which overwrites instead of duplicating. Ctrl+C confirms what was delivered and exits 0.

Chat ids: the deployed function stores only the chats in its TELEGRAM_CHAT_ID (a comma-separated list), and
the real group's id is not the simulated group's. The bridge adds every group or supergroup it sees to that
list (update_function_configuration on the sandbox, other variables kept) before delivering the group's first
update, and says so: the teacher does not need to know the id beforehand, and a group that becomes a
supergroup (new id) keeps landing. Private chats are not added: the function ignores them, as on AWS. With
`--chat-id` the list gets exactly the ids given, and other groups' updates are delivered but not stored.

Safety: before each delivery the bridge asks the real bot for its webhook; if someone set one meanwhile, the
updates belong to it and the bridge stops instead of taking them. A custom API URL must be https (the token is
in every URL); plain http only to this machine, for a stand-in Telegram in tests. A failure that lasts
MAX_CONSECUTIVE_FAILURES attempts in a row (about 3 minutes with the backoff) stops the bridge with a pt-BR
message, after confirming what was stored, instead of retrying forever.
"""

from __future__ import annotations

import getpass
import os
import re
import time
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import boto3
import requests

import sandbox
from tutorial.contract import ALLOWED_UPDATES, INGESTION_FUNCTION
from tutorial.control import telegram_control

DEFAULT_API_URL = "https://api.telegram.org"
POLL_TIMEOUT_S = 30
# Seconds before the next attempt after the 1st, 2nd, ... failure (then the last one, again and again).
BACKOFF_S = (1, 2, 4, 8, 16, 30)
# The emulator waits up to 60 s for the webhook, as Telegram does; ours waits a little longer.
DELIVERY_TIMEOUT_S = 75
GROUP_TYPES = frozenset({"group", "supergroup"})
# Consecutive failed attempts (network, 5xx, 429, or an update the sandbox did not store) after which the
# problem is taken as persistent and the bridge stops: with BACKOFF_S that is about 3 minutes of retrying.
MAX_CONSECUTIVE_FAILURES = 10
# Plain http carries the token in the clear: allowed only to this machine (a stand-in Telegram in tests).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_TOKEN_SHAPE = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{30,50}")


class BridgeError(sandbox.SandboxError):
    """A failure the teacher has to fix (pt-BR message, never the token); `python -m tutorial` prints it."""


class Unavailable(Exception):
    """A failure that may pass (network, 5xx, 429): retried after `retry_after` or the backoff."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# ---- pure helpers ------------------------------------------------------------------------------------------
def resolve_token(
    environ: dict[str, str], sandbox_token: str | None, ask: Callable[[str], str] = getpass.getpass
) -> str:
    """The real bot's token: BRIDGE_TELEGRAM_BOT_TOKEN, else TELEGRAM_BOT_TOKEN unless it is the sandbox's
    own fake token (`python -m sandbox env` sets it), else asked without echo."""
    token = environ.get("BRIDGE_TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        candidate = environ.get("TELEGRAM_BOT_TOKEN", "").strip()
        token = candidate if candidate != sandbox_token else ""
    if not token:
        token = ask("Token do bot (do @BotFather; não aparece na tela): ").strip()
    if not token:
        raise BridgeError(
            "Nenhum token informado. Defina BRIDGE_TELEGRAM_BOT_TOKEN ou digite o token do bot."
        )
    if token == sandbox_token:
        raise BridgeError(
            "Esse é o token falso do sandbox: a ponte precisa do token do seu bot real (@BotFather)."
        )
    if not _TOKEN_SHAPE.fullmatch(token):
        raise BridgeError(
            "O token não tem o formato dos tokens do @BotFather (números, dois-pontos, ~35 letras). "
            "Copie de novo com /token no @BotFather."
        )
    return token


def check_api_url(url: str) -> str:
    """The source's Bot API URL: https, or http only on this machine; anything else is refused (pt-BR)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url
    raise BridgeError(
        f"O endereço da API do Telegram precisa usar https:// ({url!r} não usa): por http o token do bot "
        "viajaria sem criptografia. Só http://127.0.0.1 ou http://localhost são aceitos, para testes."
    )


def update_kind(update: dict) -> str:
    return next((key for key in update if key != "update_id"), "?")


def update_chat(update: dict) -> dict | None:
    payload = update.get(update_kind(update))
    chat = payload.get("chat") if isinstance(payload, dict) else None
    return chat if isinstance(chat, dict) and isinstance(chat.get("id"), int) else None


def parse_chat_ids(value: str) -> set[int]:
    return {int(part) for part in value.split(",") if part.strip()}


def backoff(failures: int) -> float:
    return float(BACKOFF_S[min(failures, len(BACKOFF_S)) - 1])


# ---- the two ends ------------------------------------------------------------------------------------------
class TelegramSource:
    """The Bot API the class writes to (the real one, or a stand-in in tests); keeps the token to itself."""

    def __init__(self, api_url: str, token: str, session: requests.Session | None = None) -> None:
        self.api_url = check_api_url(api_url).rstrip("/")
        self._token = token
        self.session = session or requests.Session()

    def call(self, method: str, http_timeout: float = 30, **params) -> object:
        """POST a method with JSON params; returns `result`. Errors never show the URL: it has the token."""
        try:
            response = self.session.post(
                f"{self.api_url}/bot{self._token}/{method}", json=params, timeout=http_timeout
            )
        except requests.RequestException as exc:
            raise Unavailable(
                f"sem conexão com o Telegram em {self.api_url} ({type(exc).__name__})"
            ) from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.ok and answer.get("ok"):
            return answer["result"]
        status, description = response.status_code, str(answer.get("description") or response.reason)
        if status in (401, 404):
            raise BridgeError(
                f"O Telegram recusou o token ({status} {description}). Confira o token do bot no @BotFather "
                "(/token) e rode de novo."
            )
        if status == 409:
            raise BridgeError(
                f"O Telegram recusou o getUpdates ({description}). Outro programa (ou outra ponte) está "
                "recebendo as atualizações deste bot, ou alguém configurou um webhook nele: pare-o e rode "
                "de novo."
            )
        if status == 429 or status >= 500:
            retry_after = (answer.get("parameters") or {}).get("retry_after")
            raise Unavailable(f"o Telegram respondeu {status} ({description})", retry_after)
        raise BridgeError(f"O Telegram recusou {method}: {status} {description}")


class SandboxTarget:
    """The running sandbox: its Telegram emulator (webhook, delivery) and its ingestion function."""

    def __init__(
        self,
        api_url: str,
        token: str,
        aws: dict[str, str],
        function_name: str = INGESTION_FUNCTION,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.function_name = function_name
        # The sandbox's own endpoint and fake credentials: never the teacher's AWS account.
        self.lambda_ = boto3.client(
            "lambda",
            endpoint_url=aws["AWS_ENDPOINT_URL"],
            region_name=aws["AWS_DEFAULT_REGION"],
            aws_access_key_id=aws["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=aws["AWS_SECRET_ACCESS_KEY"],
        )

    @classmethod
    def running(cls) -> SandboxTarget:
        """The sandbox this process's environment points at (SANDBOX_HOME and ports); it must be up."""
        variables = sandbox.env()
        if "TELEGRAM_API_URL" not in variables:
            raise BridgeError(
                "O sandbox está no ar sem o emulador do Telegram: rode python -m sandbox down e up."
            )
        return cls(variables["TELEGRAM_API_URL"], variables["TELEGRAM_BOT_TOKEN"], variables)

    def webhook_url(self) -> str:
        response = requests.get(f"{self.api_url}/bot{self.token}/getWebhookInfo", timeout=30)
        return response.json()["result"]["url"]

    def deliver(self, update: dict) -> dict:
        """Have the emulator POST the update to its webhook; {"delivered", "status", "error"}."""
        try:
            return telegram_control(
                "POST",
                "webhook/deliver",
                {"update": update},
                api_url=self.api_url,
                timeout=DELIVERY_TIMEOUT_S,
            )
        except (requests.RequestException, ValueError) as exc:
            raise Unavailable(f"o sandbox não respondeu ({type(exc).__name__})") from None
        except sandbox.SandboxError as error:
            raise BridgeError(str(error)) from None

    def _variables(self) -> dict[str, str]:
        try:
            configuration = self.lambda_.get_function_configuration(FunctionName=self.function_name)
        except self.lambda_.exceptions.ResourceNotFoundException:
            raise BridgeError(
                f"A função {self.function_name} não existe no sandbox: rode os notebooks 02 e 03 "
                "(ou python -m tutorial demo) antes."
            ) from None
        return dict((configuration.get("Environment") or {}).get("Variables") or {})

    def chat_ids(self) -> set[int]:
        return parse_chat_ids(self._variables().get("TELEGRAM_CHAT_ID", ""))

    def set_chat_ids(self, ids: Iterable[int]) -> None:
        """Rewrite TELEGRAM_CHAT_ID, keeping every other variable, and wait until the function uses it."""
        variables = self._variables()
        variables["TELEGRAM_CHAT_ID"] = ",".join(str(chat_id) for chat_id in ids)
        self.lambda_.update_function_configuration(
            FunctionName=self.function_name, Environment={"Variables": variables}
        )
        self.lambda_.get_waiter("function_updated_v2").wait(
            FunctionName=self.function_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )


# ---- the bridge --------------------------------------------------------------------------------------------
class Bridge:
    """getUpdates at the source -> webhook delivery in the sandbox -> offset confirmed at the source."""

    def __init__(
        self,
        source: TelegramSource,
        target: SandboxTarget,
        *,
        poll_timeout: int = POLL_TIMEOUT_S,
        chat_ids: Iterable[int] | None = None,
        out: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.source, self.target = source, target
        self.poll_timeout = poll_timeout
        self.fixed_chat_ids = None if chat_ids is None else list(dict.fromkeys(chat_ids))
        self.out, self.sleep = out, sleep
        self.offset: int | None = None  # next update_id to ask for; everything below it was stored
        self.forwarded = 0
        self.chat_ids: set[int] = set()

    def prepare(self) -> dict:
        """Check both ends before polling: the sandbox's webhook, the bot, its privacy mode, its webhook."""
        if not self.target.webhook_url():
            raise BridgeError(
                "O sandbox ainda não tem webhook: rode os notebooks 02 e 03 (ou python -m tutorial demo) e "
                "depois a ponte de novo."
            )
        self.chat_ids = self.target.chat_ids()
        if self.fixed_chat_ids is not None and set(self.fixed_chat_ids) != self.chat_ids:
            self.target.set_chat_ids(self.fixed_chat_ids)
            self.chat_ids = set(self.fixed_chat_ids)
            listed = ", ".join(map(str, self.fixed_chat_ids))
            self.out(f"TELEGRAM_CHAT_ID da função {self.target.function_name} agora é {listed}.")
        me = self._retrying(lambda: self.source.call("getMe"))
        self.out(f"Bot @{me.get('username')} (id {me['id']}) conectado ao Telegram em {self.source.api_url}.")
        if not me.get("can_read_all_group_messages"):
            self.out(
                "Aviso: o modo de privacidade do bot está ativado, então nos grupos ele só recebe comandos, "
                "respostas a ele e entradas e saídas de membros. Para receber todas as mensagens da turma: "
                "no @BotFather, /setprivacy -> escolha o bot -> Disable; depois remova o bot do grupo e "
                "adicione de novo."
            )
        # A webhook at the source would make getUpdates fail with 409.
        if self._retrying(lambda: self.source.call("getWebhookInfo"))["url"]:
            self._retrying(lambda: self.source.call("deleteWebhook", drop_pending_updates=False))
            self.out(
                "O bot tinha um webhook no Telegram: removi (as atualizações pendentes continuam na fila) "
                "para ler com getUpdates. Para voltar a usar a AWS, rode o setWebhook do notebook 03."
            )
        return me

    def run(self, max_updates: int | None = None, exit_when_idle: bool = False) -> int:
        """Forward until Ctrl+C (or `max_updates` forwarded, or an empty poll with `exit_when_idle`)."""
        self.out(
            "Ponte ativa: cada mensagem do grupo vai para o webhook do sandbox. Ctrl+C para parar."
            if not exit_when_idle
            else "Ponte ativa até a fila do Telegram esvaziar."
        )
        try:
            while max_updates is None or self.forwarded < max_updates:
                updates = self._retrying(self._poll)
                if not updates and exit_when_idle:
                    break
                for update in updates:
                    if max_updates is not None and self.forwarded >= max_updates:
                        break
                    if self.offset is not None and update["update_id"] < self.offset:
                        continue  # already stored; the source has not seen our confirmation yet
                    self._forward_until_stored(update)
        except KeyboardInterrupt:
            self.out(
                "Interrompida (Ctrl+C). Uma atualização em andamento, se havia, não foi confirmada: "
                "ela vem de novo na próxima vez, sem duplicar."
            )
        finally:
            # Also when a BridgeError ends the run: what was stored is confirmed, then the error is shown.
            self._confirm_on_exit()
            self.out(f"{self.forwarded} atualização(ões) encaminhada(s) ao sandbox.")
        return self.forwarded

    def _poll(self) -> list[dict]:
        params = {"timeout": self.poll_timeout, "allowed_updates": ALLOWED_UPDATES}
        if self.offset is not None:
            params["offset"] = self.offset  # confirms everything below it
        return self.source.call("getUpdates", http_timeout=self.poll_timeout + 15, **params)

    def confirm(self) -> None:
        """Confirm at the source what was stored, without waiting for new updates."""
        if self.offset is not None:
            self.source.call("getUpdates", offset=self.offset, limit=1, timeout=0)

    def _confirm_on_exit(self) -> None:
        try:
            self.confirm()
        except (Unavailable, BridgeError, KeyboardInterrupt):
            self.out(
                "Não consegui confirmar ao Telegram as últimas atualizações: na próxima vez elas chegam de "
                "novo e são regravadas no mesmo arquivo, sem duplicar."
            )

    def check_source_webhook(self) -> None:
        """Stop when someone set a webhook on the real bot meanwhile: its updates now go there, not to us."""
        if self._retrying(lambda: self.source.call("getWebhookInfo"))["url"]:
            raise BridgeError(
                "Alguém configurou um webhook no bot real enquanto a ponte rodava: as mensagens agora vão "
                "para esse webhook, e a ponte parou para não desviá-las nem duplicá-las. Se foi você (por "
                "exemplo, o setWebhook do notebook 03 na AWS), está tudo certo; para voltar à ponte, remova o "
                "webhook (deleteWebhook) e rode a ponte de novo."
            )

    def forward(self, update: dict) -> bool:
        """Deliver one update to the sandbox once; True when stored (2xx): only then its offset advances."""
        self.check_source_webhook()
        chat = update_chat(update)
        if chat and chat.get("type") in GROUP_TYPES and chat["id"] not in self.chat_ids:
            self._add_group(chat)
        result = self.target.deliver(update)
        kind = update_kind(update)
        where = f"chat {chat['id']} ({chat.get('type')})" if chat else "sem chat"
        if not result["delivered"]:
            self.out(
                f"update {update['update_id']} · {kind} · {where} · o sandbox não gravou: {result['error']}"
            )
            return False
        self.offset = update["update_id"] + 1  # before any output: a Ctrl+C must not undo a stored update
        self.forwarded += 1
        decision = (
            "gravado" if chat and chat["id"] in self.chat_ids else "entregue; a função ignora este chat"
        )
        self.out(f"update {update['update_id']} · {kind} · {where} · {decision} (HTTP {result['status']})")
        return True

    def _add_group(self, chat: dict) -> None:
        if self.fixed_chat_ids is not None:
            return  # the teacher chose the list with --chat-id
        ids = sorted(self.chat_ids | {chat["id"]})
        self.target.set_chat_ids(ids)
        self.chat_ids = set(ids)
        self.out(
            f'Grupo "{chat.get("title", "")}" (id {chat["id"]}) adicionado a TELEGRAM_CHAT_ID da função '
            f"{self.target.function_name}: as mensagens dele passam a ser gravadas."
        )

    def _forward_until_stored(self, update: dict) -> None:
        failures = 0
        while not self._retrying(lambda: self.forward(update)):
            failures += 1
            if failures >= MAX_CONSECUTIVE_FAILURES:
                raise BridgeError(
                    f"O sandbox não gravou o update {update['update_id']} em {failures} tentativas seguidas: "
                    "a ponte parou (o que já foi gravado está confirmado; este update volta na próxima vez). "
                    "Veja o erro acima e o log da função (notebook 03) e rode a ponte de novo."
                )
            delay = backoff(failures)
            self.out(f"Nova tentativa do update {update['update_id']} em {delay:.0f} s.")
            self.sleep(delay)

    def _retrying(self, action: Callable[[], object]):
        """Run `action`, waiting and retrying while the failure may pass (network, 5xx, 429)."""
        failures = 0
        while True:
            try:
                return action()
            except Unavailable as problem:
                failures += 1
                if failures >= MAX_CONSECUTIVE_FAILURES:
                    raise BridgeError(
                        f"Falha persistente: {problem} em {failures} tentativas seguidas. A ponte parou (o que "
                        "já foi gravado está confirmado). Confira a conexão e o sandbox e rode de novo."
                    ) from None
                delay = problem.retry_after or backoff(failures)
                self.out(f"Falha temporária: {problem}. Nova tentativa em {delay:.0f} s.")
                self.sleep(delay)


# ---- command line ------------------------------------------------------------------------------------------
def main(
    api_url: str | None = None,
    poll_timeout: int = POLL_TIMEOUT_S,
    max_updates: int | None = None,
    exit_when_idle: bool = False,
    chat_ids: list[int] | None = None,
) -> int:
    """`python -m tutorial bridge`: connect to the running sandbox and to the real bot, then forward."""
    if not 0 <= poll_timeout <= 50:
        raise BridgeError("--timeout vai de 0 a 50 segundos (o limite do getUpdates).")
    if max_updates is not None and max_updates < 1:
        raise BridgeError("--max-updates precisa ser pelo menos 1.")
    target = SandboxTarget.running()
    api_url = api_url or os.environ.get("BRIDGE_TELEGRAM_API_URL") or DEFAULT_API_URL
    if api_url.rstrip("/") == target.api_url:
        raise BridgeError(
            "A origem é o próprio emulador do sandbox: use --api-url com o Telegram de verdade."
        )
    token = resolve_token(dict(os.environ), target.token)
    bridge = Bridge(
        TelegramSource(api_url, token),
        target,
        poll_timeout=poll_timeout,
        chat_ids=chat_ids,
        out=lambda line: print(line, flush=True),
    )
    bridge.prepare()
    bridge.run(max_updates=max_updates, exit_when_idle=exit_when_idle)
    return 0
