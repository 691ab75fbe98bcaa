"""The page's own server: loopback only, same-origin only, teacher controls behind a per-run token.

Like the sandbox's ports (sandbox/guard.py), it refuses what another web page could start: a `Host` that is not
a loopback name with this port (DNS rebinding), `Sec-Fetch-Site` cross-site/same-site, and an `Origin` other
than the page's own (`http://` + its Host). The page itself is same-origin, so its requests pass. Every POST
also needs the token embedded in the page (`X-Aula-Token`) and a JSON body: a custom header a foreign page
cannot send without a CORS preflight, which this server never answers.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable
from importlib.resources import files

import requests
from botocore.exceptions import BotoCoreError, ClientError
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import sandbox
from sandbox.guard import loopback_host

from .charts import Charts
from .controls import ControlError, Controls
from .observer import UNREACHABLE, Board, Observer

log = logging.getLogger(__name__)
TOKEN_HEADER = "X-Aula-Token"  # noqa: S105 - a header name
STATIC = files(__package__) / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
FOREIGN_ORIGIN = "A aula ao vivo só aceita pedidos da própria página (origem {origin!r} recusada)."
FOREIGN_HOST = "A aula ao vivo só atende em 127.0.0.1, localhost ou [::1] na porta {port} (Host {host!r})."
NO_TOKEN = "Controle do professor sem o token desta página: recarregue a página da aula."  # noqa: S105
NOT_JSON = "Os controles só aceitam corpo JSON (Content-Type: application/json)."
# What the page says when the sandbox is away, and how to bring it back (`{python}`: this interpreter's command).
DOWN = (
    "O sandbox parou: o Telegram e a AWS simulados não respondem. Para trazê-lo de volta, num terminal nesta "
    "pasta: {python} -m sandbox up. A página se reconecta sozinha e guarda o que a turma já mandou."
)
REDEPLOYING = (
    "O sandbox voltou vazio (ele guarda tudo na memória): refazendo o pipeline com os notebooks 02 a 05, "
    "cerca de um minuto. Depois a página reenvia {count} que a turma mandou."
)
RECOVERED = "O sandbox voltou: pipeline refeito e {count}."
NOT_RECOVERED = (
    "O sandbox voltou, mas não consegui refazer o pipeline. Pare a página (Ctrl+C) e rode make aula de novo; "
    "detalhes em {log}."
)
EMPTIED = (
    "O pipeline não existe mais neste sandbox (o notebook 06 o removeu, ou python -m sandbox reset). Rode os "
    "notebooks 02 a 05 de novo: a página volta a mostrá-lo sozinha."
)
REFUSED = "O sandbox recusou o pedido agora (a AWS respondeu {code}); tente de novo em alguns segundos."
UNEXPECTED = "Erro inesperado da página; tento de novo em seguida (detalhes em {log})."
CHARTS_DOWN = "O Athena não respondeu agora; os gráficos voltam quando o sandbox responder."
# Failures of the sandbox's services as a control meets them (a stopped sandbox, a refused call).
SERVICE_ERRORS = (requests.RequestException, BotoCoreError, ClientError, sandbox.SandboxError, OSError)


def messages(count: int) -> str:
    return "1 mensagem" if count == 1 else f"{count} mensagens"


def resent(count: int) -> str:
    return (
        "1 mensagem da turma enviada de novo"
        if count == 1
        else f"{count} mensagens da turma enviadas de novo"
    )


def refusal(environ: dict, port: int, token: str) -> tuple[int, str] | None:
    host = environ.get("HTTP_HOST", "")
    if not loopback_host(host, port):
        return 403, FOREIGN_HOST.format(port=port, host=host)
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and origin != f"http://{host}":
        return 403, FOREIGN_ORIGIN.format(origin=origin)
    if environ.get("HTTP_SEC_FETCH_SITE", "").strip().lower() in ("cross-site", "same-site"):
        return 403, FOREIGN_ORIGIN.format(origin=origin or environ.get("HTTP_SEC_FETCH_SITE"))
    if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
        given = environ.get("HTTP_X_AULA_TOKEN", "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            return 403, NO_TOKEN
        if environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower() != "application/json":
            return 415, NOT_JSON
    return None


class LiveView:
    """Poller + chart refresher + WSGI app. `serve()` blocks; `start()` runs it in a thread (tests)."""

    def __init__(
        self,
        telegram_api: str,
        token: str,
        endpoint_url: str,
        region: str | None = None,
        port: int = 0,
        interval: float = 0.5,
        locate: Callable[[], dict] | None = None,
        redeploy: Callable[[dict], None] | None = None,
        python: str = "python",
        log_file: str = "o log da aula",
        history: bool = True,
    ) -> None:
        """`locate()` returns the running sandbox's variables (`sandbox.env`; raises SandboxError while it is
        stopped): with it the page follows a sandbox that restarts. `redeploy(variables)` rebuilds the pipeline
        in a sandbox that came back empty; the class's messages are then sent again. `history=False` (`--vazia`):
        the page shows nothing the services logged before it opened."""
        self.board = Board()
        self.observer = Observer(telegram_api, token, endpoint_url, region, self.board, history=history)
        self.charts = Charts(endpoint_url, region)
        self.controls = Controls(telegram_api, endpoint_url, region, self.observer, self.board)
        self.interval = interval
        self.locate, self.redeploy = locate, redeploy
        self.variables: dict = {}
        self.python, self.log_file = python, log_file
        self.where = (telegram_api, token, endpoint_url)
        self.health = "ok"
        self._went_down = False  # the sandbox stopped answering since the pipeline was last seen
        self._recovered_at: float | None = None
        self._emptied = False  # the pipeline vanished from a sandbox that kept running: a new one is awaited
        self.page_token = secrets.token_urlsafe(24)
        self._charts_due = threading.Event()
        self.observer.on_enriched_change = self._charts_due.set
        self._stop = threading.Event()
        # Bound here: werkzeug's own bind prints English and exits the process when the port is taken; this
        # raises OSError instead, for the command to choose another port.
        with socket.create_server(("127.0.0.1", port)) as listener:
            self.server = make_server(
                "127.0.0.1", listener.getsockname()[1], self, threaded=True, fd=listener.fileno()
            )
        self.port = self.server.port
        self.url = f"http://127.0.0.1:{self.port}/"

    # ---- background work ---------------------------------------------------------------------------------
    def _poll(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._step()
                self.board.set_section("erro", "")
            except Exception:  # shown on the page (the details in the log file); the next tick tries again
                log.exception("a aula ao vivo não conseguiu ler o pipeline")
                self.board.set_section("erro", UNEXPECTED.format(log=self.log_file))
            self._stop.wait(max(0.05, self.interval - (time.monotonic() - started)))

    def _step(self) -> None:
        found = self.observer.tick()
        if found == "down":
            self._went_down = True
            self._set_health("down", DOWN.format(python=self.python))
            self.board.set_section("aviso", "")  # the services one by one: said at once by the notice above
            self._relocate()
        elif found == "lost":
            self._recover()
        elif found == "ok" and self._went_down:
            # A tick lists S3 only now and then: back from a stop, whether the pipeline survived is asked at once.
            try:
                intact = self.observer.deployed()
            except UNREACHABLE:
                return
            if intact:
                self._went_down = False
                self._set_health("ok", "")
            else:
                self._recover()
        else:
            self._emptied = self._emptied and found != "ok"
            if self._recovered_at is not None and time.monotonic() - self._recovered_at > 60:
                self._recovered_at = None
                self.board.set_section("sandbox", {"state": "ok", "message": ""})
            if self._recovered_at is None:
                self._set_health("ok", "")

    def _set_health(self, state: str, message: str) -> None:
        self.health = state
        self.board.set_section("sandbox", {"state": state, "message": message})

    def _relocate(self) -> bool:
        """Follow the running sandbox (a restart may bring new ports); False while none runs."""
        if self.locate is None:
            return False
        try:
            variables = self.locate()
        except (sandbox.SandboxError, OSError, ValueError):
            return False
        where = (
            variables["TELEGRAM_API_URL"],
            variables["TELEGRAM_BOT_TOKEN"],
            variables["AWS_ENDPOINT_URL"],
        )
        if where != self.where:
            self.where = where
            self._went_down = True  # another sandbox than the one the pipeline was seen in
            self.observer.connect(*where)
            self.controls.connect(where[0], where[2])
            self.charts.connect(where[2])
        self.variables = variables
        return True

    def _recover(self) -> None:
        """The sandbox answers without the pipeline: restarted (it keeps everything in memory), or emptied."""
        if self.locate is not None and not self._relocate():
            self._went_down = True
            self._set_health("down", DOWN.format(python=self.python))
            return
        if not (self._went_down and self.redeploy is not None):
            # Emptied on purpose (notebook 06, `sandbox reset`): counted anew once, then a deployment is awaited.
            if not self._emptied:
                self._emptied = True
                self.observer.new_sandbox()
            self.board.set_section("aviso", EMPTIED)
            return
        sent = list(self.observer.sent.items())
        self._set_health("redeploying", REDEPLOYING.format(count=messages(len(sent))))
        try:
            self.redeploy(self.variables)
        except Exception:
            log.exception("a aula ao vivo não conseguiu refazer o pipeline")
            self._set_health("down", NOT_RECOVERED.format(log=self.log_file))
            return
        self.observer.new_sandbox()  # what the notebooks logged while redeploying is not the class's
        self.observer.discover()
        try:
            copies = self.controls.resend(sent)
        except (ControlError, *SERVICE_ERRORS):  # stopped again meanwhile: `sent` is kept for the next return
            log.exception("a aula ao vivo não conseguiu reenviar as mensagens da turma")
            return
        self.observer.record_resent(copies)
        self._went_down = False
        self._recovered_at = time.monotonic()
        self._set_health("ok", RECOVERED.format(count=resent(len(copies))))
        self._charts_due.set()
        self._load_participants()

    def _refresh_charts(self) -> None:
        version = 0
        while not self._stop.is_set():
            if not self._charts_due.wait(1):
                continue
            self._charts_due.clear()
            try:
                self.charts.refresh()
            except UNREACHABLE:
                self.charts.error = CHARTS_DOWN
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("a aula ao vivo não conseguiu atualizar os gráficos")
                self.charts.error = CHARTS_DOWN
            version += 1
            self.board.set_section(
                "graficos",
                {
                    "version": version,
                    "names": sorted(self.charts.images),
                    "error": self.charts.error,
                    "refreshed": self.charts.refreshed,
                },
            )

    def _load_participants(self) -> None:
        try:
            self.board.set_section("pessoas", self.controls.participants())
        except (ControlError, *SERVICE_ERRORS, ValueError):
            self.board.set_section("pessoas", [])

    def start(self) -> LiveView:
        for target in (self._poll, self._refresh_charts, self.server.serve_forever):
            threading.Thread(target=target, daemon=True).start()
        self._charts_due.set()
        self._load_participants()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self.board.changed:
            self.board.changed.notify_all()
        self.server.shutdown()
        self.server.server_close()

    # ---- HTTP --------------------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        refused = refusal(environ, self.port, self.page_token)
        if refused is not None:
            status, reason = refused
            response = self._json({"ok": False, "error": reason}, status)
        else:
            response = self.route(Request(environ))
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response(environ, start_response)

    def route(self, request: Request) -> Response:
        path = request.path
        if request.method == "GET":
            if path == "/":
                html = (STATIC / "aula.html").read_text(encoding="utf-8")
                return Response(
                    html.replace("{{TOKEN}}", self.page_token), content_type="text/html; charset=utf-8"
                )
            if path in ("/static/aula.css", "/static/aula.js"):
                name = path.rsplit("/", 1)[1]
                kind = "text/css" if name.endswith(".css") else "text/javascript"
                return Response((STATIC / name).read_bytes(), content_type=f"{kind}; charset=utf-8")
            if path == "/eventos":
                return self._stream(request)
            if path.startswith("/graficos/") and path.endswith(".png"):
                image = self.charts.images.get(path.removeprefix("/graficos/").removesuffix(".png"))
                if image is not None:
                    return Response(image, content_type="image/png")
            return self._json({"ok": False, "error": "Página não encontrada."}, 404)
        if request.method == "POST" and path.startswith("/controle/"):
            return self._control(path.removeprefix("/controle/"), request)
        return self._json({"ok": False, "error": "Método não permitido."}, 405)

    def _control(self, action: str, request: Request) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return self._json({"ok": False, "error": "O corpo precisa ser um objeto JSON."}, 400)
        who = body.get("from")
        actions = {
            "publicar": lambda: self.controls.post(
                str(body.get("tipo", "texto")), str(body.get("texto", "")), who
            ),
            "sem-segredo": self.controls.unsigned_request,
            "queda-s3": lambda: self.controls.outage(body.get("segundos")),
            "migrar": self.controls.migrate,
            "etl": self.controls.run_etl,
        }
        if action not in actions:
            return self._json({"ok": False, "error": f"Controle desconhecido: {action}"}, 404)
        if self.health in ("down", "redeploying"):
            message = self.board.sections.get("sandbox", (0, {}))[1].get("message", "")
            return self._json({"ok": False, "error": message}, 503)
        try:
            return self._json({"ok": True, "result": actions[action]()})
        except ControlError as error:
            return self._json({"ok": False, "error": str(error)}, 400)
        except UNREACHABLE:  # the sandbox stopped between two readings of the page
            return self._json({"ok": False, "error": DOWN.format(python=self.python)}, 503)
        except ClientError as error:  # an S3 outage the teacher started, say
            code = error.response.get("Error", {}).get("Code", "?")
            return self._json({"ok": False, "error": REFUSED.format(code=code)}, 503)
        except Exception:
            log.exception("controle %s falhou", action)
            return self._json({"ok": False, "error": UNEXPECTED.format(log=self.log_file)}, 500)

    def _stream(self, request: Request) -> Response:
        """Server-sent events: everything once, then only what changed (a keep-alive comment every 15 s)."""

        def events():
            seen = 0
            while not self._stop.is_set():
                version, sections, rows = self.board.since(seen)
                if version > seen:
                    payload = json.dumps({"sections": sections, "rows": rows}, ensure_ascii=False)
                    yield f"data: {payload}\n\n".encode()
                    seen = version
                else:
                    yield b": ok\n\n"
                self.board.wait(seen, 15)

        response = Response(events(), content_type="text/event-stream; charset=utf-8")
        response.headers["X-Accel-Buffering"] = "no"
        return response

    @staticmethod
    def _json(payload: dict, status: int = 200) -> Response:
        return Response(
            json.dumps(payload, ensure_ascii=False), status=status, content_type="application/json"
        )
