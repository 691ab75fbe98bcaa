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
import threading
import time
from importlib.resources import files

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from sandbox.guard import loopback_host

from .charts import Charts
from .controls import ControlError, Controls
from .observer import Board, Observer

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
    ) -> None:
        self.board = Board()
        self.observer = Observer(telegram_api, token, endpoint_url, region, self.board)
        self.charts = Charts(endpoint_url, region)
        self.controls = Controls(telegram_api, endpoint_url, region, self.observer, self.board)
        self.interval = interval
        self.page_token = secrets.token_urlsafe(24)
        self._charts_due = threading.Event()
        self.observer.on_enriched_change = self._charts_due.set
        self._stop = threading.Event()
        self.server = make_server("127.0.0.1", port, self, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/"

    # ---- background work ---------------------------------------------------------------------------------
    def _poll(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.observer.tick()
                self.board.set_section("erro", "")
            except Exception as error:  # shown on the page; the next tick tries again
                log.exception("a aula ao vivo não conseguiu ler o pipeline")
                self.board.set_section("erro", f"Não consegui ler o pipeline: {error}")
            self._stop.wait(max(0.05, self.interval - (time.monotonic() - started)))

    def _refresh_charts(self) -> None:
        version = 0
        while not self._stop.is_set():
            if not self._charts_due.wait(1):
                continue
            self._charts_due.clear()
            try:
                self.charts.refresh()
            except Exception as error:
                if self._stop.is_set():
                    return
                log.exception("a aula ao vivo não conseguiu atualizar os gráficos")
                self.charts.error = f"Não consegui consultar o Athena: {error}"
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

    def start(self) -> LiveView:
        for target in (self._poll, self._refresh_charts, self.server.serve_forever):
            threading.Thread(target=target, daemon=True).start()
        self._charts_due.set()
        try:
            self.board.set_section("pessoas", self.controls.participants())
        except (ControlError, OSError, ValueError):
            self.board.set_section("pessoas", [])
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
        try:
            return self._json({"ok": True, "result": actions[action]()})
        except ControlError as error:
            return self._json({"ok": False, "error": str(error)}, 400)

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
