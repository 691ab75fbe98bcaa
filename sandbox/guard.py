"""What keeps a web page from driving the sandbox: a WSGI guard in front of both ports.

A page the learner visits can reach 127.0.0.1 from the browser: with `fetch`/`<form>` (an `Origin` header), with
`<img>`/`<script>` (no `Origin`, but `Sec-Fetch-Site: cross-site` in current browsers), or through DNS
rebinding (its own name resolving to 127.0.0.1: the `Host` header keeps that name). Real clients (boto3, the AWS
CLI, requests, the Telegram libraries) send none of these, so the guard refuses them all:

- any `Origin` header, and `Sec-Fetch-Site` `cross-site`/`same-site` (a request another page started);
- a `Host` other than a loopback name (127.0.0.1, localhost or a subdomain of it, [::1]) with the port the
  request arrived on;
- control routes (`/_sandbox/...`, moto's `/moto-api/...`) without the per-run secret of the state file, in
  `X-Sandbox-Secret` (`/_sandbox/health`, which says only "ok", and the execute-api entry, which real API
  Gateway clients reach without any secret, stay open); control bodies other than `application/json`.

No answer carries `Access-Control-*` headers: without them a browser never hands a page what it read.
"""

from __future__ import annotations

import hmac
import json
import re
from urllib.parse import unquote

SECRET_HEADER = "X-Sandbox-Secret"  # noqa: S105 - a header name
# Open control routes: a liveness probe that reveals nothing, and API Gateway invoke URLs (public on AWS too).
OPEN_PATHS = frozenset({"/_sandbox/health"})
OPEN_PREFIXES = ("/_sandbox/execute-api/",)
CONTROL_PREFIXES = ("/_sandbox/", "/moto-api/")
_LOOPBACK = re.compile(r"^(?:127\.0\.0\.1|\[::1\]|(?:[a-z0-9-]+\.)*localhost)$")
_BROWSER_SITES = frozenset({"cross-site", "same-site"})

ORIGIN_REFUSED = (
    "O sandbox recusa requisições vindas de uma página web (cabeçalho Origin/Sec-Fetch-Site): "
    "só programas nesta máquina (boto3, requests, bibliotecas do Telegram) podem usá-lo."
)
HOST_REFUSED = (
    "O sandbox só atende pelo endereço local (127.0.0.1, localhost ou [::1]) na porta {port}; "
    "recebi Host {host!r}. Use o endereço de AWS_ENDPOINT_URL / TELEGRAM_API_URL."
)
SECRET_REFUSED = (
    "Rota de controle do sandbox sem o segredo desta execução. Use a CLI (python -m sandbox ...) ou "  # noqa: S105
    "o tutorial (tutorial/), que leem o segredo do arquivo de estado."
)
CONTENT_TYPE_REFUSED = (
    "As rotas de controle do sandbox só aceitam corpo JSON (Content-Type: application/json)."
)


def refusal(environ: dict, port: int, secret: str | None) -> tuple[int, str] | None:
    """(status, pt-BR reason) when the request must be refused; None when it may go on."""
    site = environ.get("HTTP_SEC_FETCH_SITE", "").strip().lower()
    if "HTTP_ORIGIN" in environ or site in _BROWSER_SITES:
        return 403, ORIGIN_REFUSED
    host = environ.get("HTTP_HOST")
    if host is not None and not loopback_host(host, port):
        return 403, HOST_REFUSED.format(port=port, host=host)
    path = environ.get("PATH_INFO", "")
    if not path.startswith(CONTROL_PREFIXES) or path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
        return None
    given = environ.get("HTTP_X_SANDBOX_SECRET", "")
    if secret is None or not hmac.compare_digest(given.encode(), secret.encode()):
        return 403, SECRET_REFUSED
    if (
        _has_body(environ)
        and environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower() != "application/json"
    ):
        return 415, CONTENT_TYPE_REFUSED
    return None


def loopback_host(host: str, port: int) -> bool:
    # "[::1]" without a port splits into "[:" and "1]", which the pattern refuses, as any port-less Host.
    name, _, given_port = host.strip().lower().rpartition(":")
    return given_port == str(port) and bool(_LOOPBACK.match(name))


def _has_body(environ: dict) -> bool:
    length = environ.get("CONTENT_LENGTH") or "0"
    return (length.isdigit() and int(length) > 0) or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "")


class Guard:
    """WSGI middleware: refuses browser-context requests, checks the control secret, drops CORS headers."""

    def __init__(self, app, port: int, secret: str | None, flavor: str) -> None:
        self.app, self.port, self.secret, self.flavor = app, port, secret, flavor

    def __call__(self, environ: dict, start_response):
        refused = refusal(environ, self.port, self.secret)
        if refused is not None:
            status, reason = refused
            headers, body = _refusal_body(self.flavor, environ, status, reason)
            start_response(f"{status} {'Forbidden' if status == 403 else 'Unsupported Media Type'}", headers)
            return [body]

        def start_without_cors(status, headers, exc_info=None):
            kept = [
                (name, value) for name, value in headers if not name.lower().startswith("access-control-")
            ]
            return start_response(status, kept, exc_info)

        return self.app(environ, start_without_cors)


def _refusal_body(
    flavor: str, environ: dict, status: int, reason: str
) -> tuple[list[tuple[str, str]], bytes]:
    """The refusal in the shape the port's clients parse, so they show the reason: Telegram's JSON, or the AWS
    error of the request's protocol (S3's XML, the query protocol's XML for IAM/STS, JSON for the others)."""
    if flavor == "telegram":
        payload = {"ok": False, "error_code": status, "description": f"Forbidden: {reason}", "error": reason}
        return [("Content-Type", "application/json")], json.dumps(payload, ensure_ascii=False).encode()
    from xml.sax.saxutils import escape

    scope = _CREDENTIAL_SCOPE.search(
        environ.get("HTTP_AUTHORIZATION", "") + " " + unquote(environ.get("QUERY_STRING", ""))
    )
    service = scope["service"] if scope else None
    error = f"<Error><Code>AccessDenied</Code><Message>{escape(reason)}</Message></Error>"
    if service in _QUERY_PROTOCOL:
        body = f"<ErrorResponse>{error.replace('<Code>', '<Type>Sender</Type><Code>', 1)}</ErrorResponse>"
        return [("Content-Type", "text/xml")], body.encode()
    if service == "s3" or (service is None and not _looks_json(environ)):
        return [("Content-Type", "application/xml")], error.encode()
    payload = {"__type": "AccessDeniedException", "message": reason, "Message": reason, "error": reason}
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", "AccessDeniedException")]
    return headers, json.dumps(payload, ensure_ascii=False).encode()


_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/\s]+/\d{8}/[\w-]+/(?P<service>[\w-]+)/aws4_request")
_QUERY_PROTOCOL = frozenset({"iam", "sts"})


def _looks_json(environ: dict) -> bool:
    return "HTTP_X_AMZ_TARGET" in environ or environ.get("PATH_INFO", "").startswith(("/_sandbox/", "/20"))
