"""The API Gateway data plane moto lacks: serves https://{api-id}.execute-api.{region}.amazonaws.com URLs.

HTTP APIs (v2) send payload format 2.0 events to their AWS_PROXY Lambda integrations; REST APIs (v1) send
proxy events. Failures answer as API Gateway does (404 route, 500 Lambda error or missing permission,
503/504 integration timeout).
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

from ..telegram.webhook import dns_resolver

HOST_PATTERN = re.compile(
    r"^(?P<api>[a-z0-9]+)\.execute-api\.(?P<region>[a-z]{2}(-[a-z]+)+-\d)\.amazonaws\.com$"
)
# Quotas: an HTTP API takes request bodies up to 10 MB; a synchronous Lambda invocation, events up to 6 MB.
# Any address outside Telegram's reserved blocks stands for an execute-api host's public one; nothing connects to it.
STAND_IN_ADDRESS = "54.232.0.1"
HTTP_API_MAX_BODY = 10 * 1024 * 1024
LAMBDA_MAX_SYNC_PAYLOAD = 6_291_456
TEXT_TYPES = re.compile(r"^(text/.*|application/([\w.+-]*\+)?(json|xml|javascript))(;.*)?$", re.IGNORECASE)
LAMBDA_ARN = re.compile(r"arn:aws:lambda:(?P<region>[\w-]+):(?P<account>\d{12}):function:(?P<name>[\w-]+)")

Response = tuple[int, dict[str, str], bytes]
# (region, function name, event) -> (payload, function error or None); raises LookupError if no function.
Invoker = Callable[[str, str, bytes], tuple[bytes, "str | None"]]
# (region, function name) -> the function's resource policy statements.
PolicyReader = Callable[[str, str], list[dict]]


def _json(status: int, message: str) -> Response:
    return status, {"content-type": "application/json"}, json.dumps({"message": message}).encode()


NOT_FOUND = (404, "Not Found")


class UnknownHost(LookupError):
    """No API with this id exists in the sandbox (on AWS the name would not resolve)."""


@dataclass
class Match:
    route_key: str
    template: str
    params: dict[str, str]
    target: object


def parse_host(host: str | None) -> tuple[str, str] | None:
    match = HOST_PATTERN.match((host or "").lower().split(":")[0])
    return (match["api"], match["region"]) if match else None


def _template_regex(template: str) -> re.Pattern:
    parts = []
    for segment in template.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            parts.append(f"(?P<{segment[1:-2]}>.+)")
        elif segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "$")


def _specificity(template: str, any_method: bool) -> tuple[int, int, int]:
    # Exact paths beat parameters, parameters beat greedy {proxy+}, a method beats ANY.
    return (template.count("+}"), template.count("{"), int(any_method))


def arn_like(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def allows_api_gateway(statements: list[dict], source_arns: list[str]) -> bool:
    """Does the function's resource policy let API Gateway invoke it from one of these ARNs?"""
    for statement in statements:
        principal = statement.get("Principal")
        service = principal.get("Service") if isinstance(principal, dict) else principal
        actions = statement.get("Action")
        actions = [actions] if isinstance(actions, str) else actions or []
        if statement.get("Effect") != "Allow" or service != "apigateway.amazonaws.com":
            continue
        if not {"lambda:InvokeFunction", "lambda:*"} & set(actions):
            continue
        conditions = statement.get("Condition") or {}
        patterns = [
            value
            for operator in ("ArnLike", "ArnEquals", "StringLike", "StringEquals")
            for key, value in (conditions.get(operator) or {}).items()
            if key.lower() == "aws:sourcearn"
        ]
        if not patterns or any(arn_like(p, arn) for p in patterns for arn in source_arns):
            return True
    return False


def function_name_from_uri(uri: str) -> tuple[str, str] | None:
    """(region, name) from a Lambda ARN or an apigateway ...:lambda:path/.../functions/ARN/invocations URI."""
    match = LAMBDA_ARN.search(uri or "")
    return (match["region"], match["name"]) if match else None


class Gateway:
    def __init__(
        self,
        account_id: str,
        invoke: Invoker,
        policy: PolicyReader,
        seed: int = 0,
        clock: Callable[[], datetime] | None = None,
    ):
        self.account_id = account_id
        self.invoke = invoke
        self.policy = policy
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def reset(self, seed: int) -> None:
        with self._lock:
            self._rng = random.Random(seed)

    # ---- lookups in moto ------------------------------------------------------------------------------
    @staticmethod
    def _http_api(api_id: str, region: str):
        from moto.apigatewayv2.models import apigatewayv2_backends

        return apigatewayv2_backends[_account()][region].apis.get(api_id)

    @staticmethod
    def _rest_api(api_id: str, region: str):
        from moto.apigateway.models import apigateway_backends

        return apigateway_backends[_account()][region].apis.get(api_id)

    def api_exists(self, host: str | None) -> bool:
        parsed = parse_host(host)
        if parsed is None:
            return False
        return self._http_api(*parsed) is not None or self._rest_api(*parsed) is not None

    def resolves(self, host: str) -> str | None:
        """The address Telegram would connect to for `host`, or None when the name does not resolve.

        An existing API's execute-api host resolves, as on AWS, to a public address: the sandbox serves it
        in-process and never connects to STAND_IN_ADDRESS. Other names go to the real DNS, so `localhost` gives
        127.0.0.1, which the Telegram emulator then refuses as reserved, as Telegram does."""
        if parse_host(host) is not None:
            return STAND_IN_ADDRESS if self.api_exists(host) else None
        return dns_resolver(host)

    # ---- data plane -----------------------------------------------------------------------------------
    def handle(self, method: str, url: str, headers: dict[str, str], body: bytes, source_ip: str) -> Response:
        """Serve one request to an execute-api URL; raises UnknownHost when no such API exists."""
        parts = urlsplit(url)
        parsed = parse_host(parts.hostname)
        if parsed is None:
            raise UnknownHost(parts.hostname)
        api_id, region = parsed
        request = _Request(
            method.upper(), parts.hostname, parts.path or "/", parts.query, headers, body, source_ip
        )
        http_api = self._http_api(api_id, region)
        if http_api is not None:
            return self._serve_http_api(http_api, region, request)
        rest_api = self._rest_api(api_id, region)
        if rest_api is not None:
            return self._serve_rest_api(rest_api, region, request)
        raise UnknownHost(parts.hostname)

    def transport(
        self, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> tuple[int, bytes, dict[str, str]]:
        """POST for the Telegram deliverer: execute-api URLs in-process, anything else over the network."""
        host = urlsplit(url).hostname
        if parse_host(host) is None:
            return _post_over_network(url, headers, body, timeout)
        result: list = []

        def call() -> None:
            try:
                result.append(self.handle("POST", url, headers, body, "149.154.167.220"))
            except Exception as exc:  # handed to the caller's thread below
                result.append(exc)

        worker = threading.Thread(target=call, daemon=True)
        worker.start()
        worker.join(timeout)
        if not result:
            raise TimeoutError(f"timed out after {timeout} s waiting for {host}")
        if isinstance(result[0], UnknownHost):
            raise OSError(f"Failed to resolve '{host}' (Name or service not known)")
        if isinstance(result[0], Exception):
            raise result[0]
        status, response_headers, payload = result[0]
        return status, payload, response_headers

    # ---- HTTP API (v2) --------------------------------------------------------------------------------
    def _serve_http_api(self, api, region: str, request: _Request) -> Response:
        if len(request.body) > HTTP_API_MAX_BODY:
            return _json(413, "Request Entity Too Large")
        segments = request.path.lstrip("/").split("/", 1)
        if segments[0] in api.stages and segments[0] != "$default":
            stage_name, path = segments[0], "/" + (segments[1] if len(segments) > 1 else "")
        elif "$default" in api.stages:
            stage_name, path = "$default", request.path
        else:
            return _json(*NOT_FOUND)
        if not api.stages[stage_name].auto_deploy:
            return _json(*NOT_FOUND)  # a stage without deployment serves nothing
        match = self._match_http_route(api, request.method, path)
        if match is None or not match.target:
            return _json(*NOT_FOUND)
        integration = api.integrations.get(str(match.target).split("/")[-1])
        function = function_name_from_uri(integration.integration_uri) if integration else None
        if function is None or integration.integration_type != "AWS_PROXY":
            return _json(500, "Internal Server Error")
        source_arns = [
            f"arn:aws:execute-api:{region}:{self.account_id}:{api.api_id}/{stage_name}/{request.method}{p}"
            for p in {match.template, path}
        ]
        if match.route_key == "$default":
            source_arns.append(
                f"arn:aws:execute-api:{region}:{self.account_id}:{api.api_id}/{stage_name}/$default"
            )
        version = integration.payload_format_version or "2.0"
        event = self._http_event(api, region, request, stage_name, path, match, version)
        timeout = (integration.timeout_in_millis or 30000) / 1000
        outcome = self._call_lambda(function, source_arns, event, timeout)
        if outcome is None:
            return _json(503, "Service Unavailable")
        payload, error = outcome
        if error:
            return _json(500, "Internal Server Error")
        parsed = parse_v2_response(payload) if version == "2.0" else parse_v1_response(payload)
        return parsed or _json(500, "Internal Server Error")

    @staticmethod
    def _match_http_route(api, method: str, path: str) -> Match | None:
        candidates = []
        for route in api.routes.values():
            if route.route_key == "$default":
                continue
            route_method, _, template = route.route_key.partition(" ")
            if route_method not in (method, "ANY"):
                continue
            found = _template_regex(template).match(path)
            if found:
                rank = _specificity(template, route_method == "ANY")
                candidates.append((rank, Match(route.route_key, template, found.groupdict(), route.target)))
        if candidates:
            return min(candidates, key=lambda c: c[0])[1]
        default = next((r for r in api.routes.values() if r.route_key == "$default"), None)
        return Match("$default", path, {}, default.target) if default else None

    def _http_event(self, api, region, request, stage_name, path, match, version) -> dict:
        now = self.clock()
        headers = {k.lower(): v for k, v in request.headers.items()}
        headers.update(self._forwarding_headers(request, now))
        cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
        if version != "2.0":
            return self._rest_event(
                api.api_id, region, request, stage_name, path, match.template, match.params
            )
        request_id = self._request_id()
        text = _is_text(headers.get("content-type", ""))
        event = {
            "version": "2.0",
            "routeKey": match.route_key,
            "rawPath": request.path,
            "rawQueryString": request.query,
            "headers": headers,
            "requestContext": {
                "accountId": self.account_id,
                "apiId": api.api_id,
                "domainName": request.host,
                "domainPrefix": api.api_id,
                "http": {
                    "method": request.method,
                    "path": request.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": request.source_ip,
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": request_id,
                "routeKey": match.route_key,
                "stage": stage_name,
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": bool(request.body) and not text,
        }
        if cookies:
            event["cookies"] = cookies
        if request.query:
            merged: dict[str, list[str]] = {}
            for key, value in parse_qsl(request.query, keep_blank_values=True):
                merged.setdefault(key, []).append(value)
            event["queryStringParameters"] = {k: ",".join(v) for k, v in merged.items()}
        if match.params:
            event["pathParameters"] = match.params
        if request.body:
            try:
                event["body"] = request.body.decode() if text else None
            except UnicodeDecodeError:
                text = False  # not valid UTF-8 whatever its Content-Type: passed on base64-encoded
            if not text:
                event["body"] = base64.b64encode(request.body).decode()
            event["isBase64Encoded"] = not text
        return event

    # ---- REST API (v1) --------------------------------------------------------------------------------
    def _serve_rest_api(self, api, region: str, request: _Request) -> Response:
        stage_name, _, rest = request.path.lstrip("/").partition("/")
        if stage_name not in api.stages:
            return _json(403, "Forbidden")
        path = "/" + rest
        found = None
        for resource in api.resources.values():
            template = resource.get_path()
            params = _template_regex(template).match(path) if template != "/" else re.match("^/$", path)
            method = resource.resource_methods.get(request.method) or resource.resource_methods.get("ANY")
            if params and method is not None:
                rank = _specificity(template, request.method not in resource.resource_methods)
                if found is None or rank < found[0]:
                    found = (rank, resource, method, params)
        if found is None:
            return _json(403, "Missing Authentication Token")
        _, resource, method, params = found
        integration = method.method_integration
        function = function_name_from_uri(integration.uri) if integration else None
        if function is None or integration.integration_type != "AWS_PROXY":
            return _json(500, "Internal server error")
        template = resource.get_path()
        source_arns = [
            f"arn:aws:execute-api:{region}:{self.account_id}:{api.id}/{stage_name}/{request.method}{p}"
            for p in {template, path}
        ]
        event = self._rest_event(
            api.id, region, request, stage_name, path, template, params.groupdict(), api.binaryMediaTypes
        )
        outcome = self._call_lambda(function, source_arns, event, 29.0)
        if outcome is None:
            return _json(504, "Endpoint request timed out")
        payload, error = outcome
        if error in ("AccessDenied", "ResourceNotFound", "InvalidParameterValueException"):
            return _json(500, "Internal server error")
        if error:
            return _json(502, "Internal server error")
        return parse_v1_response(payload) or _json(502, "Internal server error")

    def _rest_event(self, api_id, region, request, stage, path, template, params, binary_types=()) -> dict:
        now = self.clock()
        headers = dict(request.headers)
        headers.update({k.title(): v for k, v in self._forwarding_headers(request, now).items()})
        query = parse_qsl(request.query, keep_blank_values=True)
        multi_query: dict[str, list[str]] = {}
        for key, value in query:
            multi_query.setdefault(key, []).append(value)
        content_type = headers.get("Content-Type") or headers.get("content-type") or ""
        binary = any(content_type.startswith(t) or t == "*/*" for t in binary_types or ())
        request_id = str(_uuid(self._next_bits()))
        body = None
        if request.body:
            body = (
                base64.b64encode(request.body).decode() if binary else request.body.decode(errors="replace")
            )
        return {
            "resource": template,
            "path": path,
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": dict(query) or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": self.account_id,
                "apiId": api_id,
                "domainName": request.host,
                "domainPrefix": api_id,
                "extendedRequestId": self._request_id(),
                "httpMethod": request.method,
                "identity": {"sourceIp": request.source_ip, "userAgent": headers.get("User-Agent", "")},
                "path": f"/{stage}{path}",
                "protocol": "HTTP/1.1",
                "requestId": request_id,
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "resourcePath": template,
                "stage": stage,
            },
            "body": body,
            "isBase64Encoded": binary and body is not None,
        }

    # ---- shared ---------------------------------------------------------------------------------------
    def _call_lambda(self, function: tuple[str, str], source_arns, event: dict, timeout: float):
        """(payload, error) from the Lambda, ("", "Unhandled") when API Gateway may not invoke it, or None
        when the integration timed out."""
        region, name = function
        try:
            statements = self.policy(region, name)
        except LookupError:
            return b"", "ResourceNotFound"
        if not allows_api_gateway(statements, source_arns):
            return b"", "AccessDenied"  # API Gateway logs "Invalid permissions on Lambda function"
        result: list = []

        payload = json.dumps(event).encode()
        if len(payload) > LAMBDA_MAX_SYNC_PAYLOAD:
            return b"", "RequestEntityTooLargeException"  # Invoke refuses it; API Gateway answers 500

        def call() -> None:
            try:
                result.append(self.invoke(region, name, payload))
            except Exception as exc:
                result.append((b"", f"{type(exc).__name__}: {exc}"))

        thread = threading.Thread(target=call, daemon=True)
        thread.start()
        thread.join(timeout)  # the Lambda keeps running after API Gateway gives up, as on AWS
        return result[0] if result else None

    def _forwarding_headers(self, request: _Request, now: datetime) -> dict[str, str]:
        trace = f"Root=1-{int(now.timestamp()):08x}-{self._next_bits() & (2**96 - 1):024x}"
        headers = {
            "host": request.host,
            "x-amzn-trace-id": trace,
            "x-forwarded-for": request.source_ip,
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        }
        if request.body:
            headers["content-length"] = str(len(request.body))
        return headers

    def _next_bits(self) -> int:
        with self._lock:
            return self._rng.getrandbits(128)

    def _request_id(self) -> str:
        # HTTP API request ids look like "HqT1bFq2GjQEJbQ=" (base64 of 11 bytes).
        return base64.b64encode(self._next_bits().to_bytes(16, "big")[:11]).decode()


@dataclass
class _Request:
    method: str
    host: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    source_ip: str


def _is_text(content_type: str) -> bool:
    return bool(TEXT_TYPES.match(content_type.strip()))


def _uuid(bits: int):
    import uuid

    return uuid.UUID(int=bits, version=4)


def _account() -> str:
    from sandbox import config

    return config.ACCOUNT_ID


def parse_v2_response(payload: bytes) -> Response | None:
    """Payload format 2.0: a dict with statusCode is used as is; any other JSON becomes a 200 body."""
    try:
        value = json.loads(payload or b"null")
    except ValueError:
        return None
    if not (isinstance(value, dict) and "statusCode" in value):
        body = value if isinstance(value, str) else json.dumps(value)
        return 200, {"content-type": "application/json"}, body.encode()
    return _proxy_response(value, cookies=True)


def parse_v1_response(payload: bytes) -> Response | None:
    try:
        value = json.loads(payload or b"null")
    except ValueError:
        return None
    if not isinstance(value, dict) or "statusCode" not in value:
        return None
    return _proxy_response(value, cookies=False)


def _proxy_response(value: dict, cookies: bool) -> Response | None:
    try:
        status = int(value["statusCode"])
    except (TypeError, ValueError):
        return None
    body = value.get("body") or ""
    if not isinstance(body, str):
        return None
    raw = base64.b64decode(body) if value.get("isBase64Encoded") else body.encode()
    headers = {str(k).lower(): str(v) for k, v in (value.get("headers") or {}).items()}
    for key, values in (value.get("multiValueHeaders") or {}).items():
        headers[str(key).lower()] = ",".join(str(v) for v in values)
    if cookies and value.get("cookies"):
        headers["set-cookie"] = ", ".join(value["cookies"])
    headers.setdefault("content-type", "application/json")
    return status, headers, raw


def _post_over_network(
    url: str, headers: dict[str, str], body: bytes, timeout: float
) -> tuple[int, bytes, dict[str, str]]:
    import requests

    try:
        response = requests.post(url, headers=headers, data=body, timeout=timeout, allow_redirects=False)
    except requests.Timeout as exc:
        raise TimeoutError(str(exc)) from exc
    except requests.RequestException as exc:
        raise OSError(str(exc)) from exc
    return response.status_code, response.content, dict(response.headers)
