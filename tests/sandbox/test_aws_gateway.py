"""The API Gateway data plane: execute-api URLs invoke Lambda with real-shaped events and fail like AWS."""

from __future__ import annotations

import base64
import json

import pytest
import requests

import sandbox as sandbox_api
from sandbox.aws.gateway import allows_api_gateway, parse_v2_response
from tests.sandbox.aws_fixtures import REGION, create_function, start_sandbox, stop_sandbox

ACCOUNT = "123456789012"
ECHO = """
import json
import time


def lambda_handler(event, context):
    path = event.get("rawPath") or event.get("path")
    if path.endswith("/plain"):
        return {"ok": True}
    if path.endswith("/boom"):
        raise RuntimeError("falhou")
    if path.endswith("/bad"):
        return {"statusCode": "não é número"}
    if path.endswith("/slow"):
        time.sleep(3)
    return {"statusCode": 201, "headers": {"x-echo": "sim", "content-type": "application/json"},
            "body": json.dumps(event)}
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    running = start_sandbox(tmp_path_factory.mktemp("sandbox-gateway"))
    yield running
    stop_sandbox(running)


def _allow(sandbox, function: str, source_arn: str) -> None:
    sandbox.client("lambda").add_permission(
        FunctionName=function,
        StatementId="apigateway",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=source_arn,
    )


@pytest.fixture(scope="module")
def http_api(sandbox):
    """An HTTP API ($default stage, auto-deployed) whose routes go to the echo function."""
    echo_arn = create_function(sandbox, "echo", ECHO, Timeout=10)["FunctionArn"]
    closed_arn = create_function(sandbox, "closed", ECHO)["FunctionArn"]
    gateway = sandbox.client("apigatewayv2")
    api_id = gateway.create_api(Name="bot", ProtocolType="HTTP")["ApiId"]

    def integrate(arn: str, **extra) -> str:
        return gateway.create_integration(
            ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="2.0", **extra
        )["IntegrationId"]

    echo, closed, short = (
        integrate(echo_arn),
        integrate(closed_arn),
        integrate(echo_arn, TimeoutInMillis=1000),
    )
    for route_key, integration in [
        ("POST /webhook", echo),
        ("GET /items/{id}", echo),
        ("ANY /plain", echo),
        ("POST /boom", echo),
        ("POST /bad", echo),
        ("POST /slow", short),
        ("POST /closed", closed),
    ]:
        gateway.create_route(ApiId=api_id, RouteKey=route_key, Target=f"integrations/{integration}")
    gateway.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    _allow(sandbox, "echo", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/*/*")
    return f"{api_id}.execute-api.{REGION}.amazonaws.com"


def call(sandbox, host: str, path: str, method: str = "POST", **kwargs) -> requests.Response:
    url = f"{sandbox.endpoint_url}/_sandbox/execute-api/{host}{path}"
    return requests.request(method, url, timeout=30, **kwargs)


def test_http_api_sends_a_payload_2_0_event(sandbox, http_api):
    update = {"update_id": 1, "message": {"text": "olá"}}
    response = call(
        sandbox, http_api, "/webhook?a=1&a=2", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s"}
    )
    event = json.loads(response.text)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /webhook"
    assert event["rawPath"] == "/webhook"
    assert event["rawQueryString"] == "a=1&a=2"
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["headers"]["x-telegram-bot-api-secret-token"] == "s"
    assert event["headers"]["content-type"] == "application/json"
    assert all(name == name.lower() for name in event["headers"])
    assert json.loads(event["body"]) == update
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["accountId"] == ACCOUNT
    assert context["apiId"] == http_api.split(".")[0]
    assert context["domainName"] == http_api
    assert context["domainPrefix"] == http_api.split(".")[0]
    assert context["http"]["method"] == "POST"
    assert context["http"]["path"] == "/webhook"
    assert context["http"]["protocol"] == "HTTP/1.1"
    assert context["http"]["userAgent"].startswith("python-requests")
    assert context["stage"] == "$default"
    assert context["routeKey"] == "POST /webhook"
    assert isinstance(context["timeEpoch"], int) and context["requestId"]


def test_lambda_status_headers_and_body_come_back(sandbox, http_api):
    response = call(sandbox, http_api, "/webhook", json={})
    assert response.status_code == 201
    assert response.headers["x-echo"] == "sim"
    assert response.headers["content-type"] == "application/json"


def test_path_parameters_are_extracted(sandbox, http_api):
    event = call(sandbox, http_api, "/items/42", method="GET").json()
    assert event["pathParameters"] == {"id": "42"}
    assert event["routeKey"] == "GET /items/{id}"
    assert "body" not in event


def test_binary_body_is_base64_encoded(sandbox, http_api):
    photo = bytes(range(256))
    event = call(sandbox, http_api, "/webhook", data=photo, headers={"Content-Type": "image/jpeg"}).json()
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == photo


def test_result_without_status_code_becomes_200_json(sandbox, http_api):
    response = call(sandbox, http_api, "/plain", method="GET")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


@pytest.mark.parametrize(
    ("path", "method"),
    [("/nothing", "POST"), ("/webhook", "GET"), ("/items", "GET")],
)
def test_request_without_route_is_404_not_found(sandbox, http_api, path, method):
    response = call(sandbox, http_api, path, method=method)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


@pytest.mark.parametrize(
    "path", ["/boom", "/bad", "/closed"], ids=["lambda-error", "bad-response", "no-permission"]
)
def test_lambda_failures_are_500_internal_server_error(sandbox, http_api, path):
    response = call(sandbox, http_api, path, json={})
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_integration_timeout_is_503(sandbox, http_api):
    response = call(sandbox, http_api, "/slow", json={})
    assert response.status_code == 503
    assert response.json() == {"message": "Service Unavailable"}


def test_stage_not_deployed_is_404(sandbox):
    gateway = sandbox.client("apigatewayv2")
    api_id = gateway.create_api(Name="undeployed", ProtocolType="HTTP")["ApiId"]
    gateway.create_stage(ApiId=api_id, StageName="prod")
    response = call(sandbox, f"{api_id}.execute-api.{REGION}.amazonaws.com", "/prod/webhook", json={})
    assert response.status_code == 404


def test_rest_api_sends_a_v1_proxy_event(sandbox):
    arn = create_function(sandbox, "echo-rest", ECHO)["FunctionArn"]
    rest = sandbox.client("apigateway")
    api_id = rest.create_rest_api(name="bot-rest")["id"]
    root = next(r["id"] for r in rest.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resource = rest.create_resource(restApiId=api_id, parentId=root, pathPart="webhook")["id"]
    rest.put_method(restApiId=api_id, resourceId=resource, httpMethod="POST", authorizationType="NONE")
    rest.put_integration(
        restApiId=api_id,
        resourceId=resource,
        httpMethod="POST",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations",
    )
    rest.create_deployment(restApiId=api_id, stageName="prod")
    _allow(sandbox, "echo-rest", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/POST/webhook")
    host = f"{api_id}.execute-api.{REGION}.amazonaws.com"

    response = call(sandbox, host, "/prod/webhook?x=1", json={"update_id": 9})
    assert response.status_code == 201
    event = response.json()
    assert event["resource"] == "/webhook"
    assert event["path"] == "/webhook"
    assert event["httpMethod"] == "POST"
    assert event["queryStringParameters"] == {"x": "1"}
    assert json.loads(event["body"]) == {"update_id": 9}
    assert event["requestContext"]["stage"] == "prod"
    assert event["requestContext"]["path"] == "/prod/webhook"
    # Unknown resources on a REST API: API Gateway's famous 403.
    missing = call(sandbox, host, "/prod/other", json={})
    assert (missing.status_code, missing.json()) == (403, {"message": "Missing Authentication Token"})


def test_requests_reaches_execute_api_urls_after_start(sandbox, http_api, monkeypatch):
    monkeypatch.setenv("SANDBOX_HOME", str(sandbox.home))
    sandbox_api.install_requests_adapter()
    try:
        response = requests.post(f"https://{http_api}/webhook", json={"update_id": 3}, timeout=30)
        assert response.status_code == 201
        assert response.url == f"https://{http_api}/webhook"
        assert json.loads(response.json()["body"]) == {"update_id": 3}
        with pytest.raises(requests.ConnectionError):
            requests.post(f"https://nonexistent.execute-api.{REGION}.amazonaws.com/webhook", timeout=30)
    finally:
        sandbox_api.uninstall_requests_adapter()


def test_source_arn_must_match_for_api_gateway_to_invoke():
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "apigateway.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Condition": {
            "ArnLike": {"AWS:SourceArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abc/*/*/webhook"}
        },
    }
    allowed = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abc/$default/POST/webhook"
    other_api = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:xyz/$default/POST/webhook"
    assert allows_api_gateway([statement], [allowed])
    assert not allows_api_gateway([statement], [other_api])
    assert not allows_api_gateway([{**statement, "Principal": {"Service": "s3.amazonaws.com"}}], [allowed])


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"statusCode": 200, "body": "ok"}, (200, b"ok")),
        ({"statusCode": 204}, (204, b"")),
        (
            {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True},
            (200, b"\x00\x01"),
        ),
        ({"ok": True}, (200, b'{"ok": true}')),
        ("texto", (200, b"texto")),
    ],
)
def test_payload_2_0_response_rules(result, expected):
    status, _, body = parse_v2_response(json.dumps(result).encode())
    assert (status, body) == expected


def test_repeated_statement_id_is_refused_like_aws(sandbox, http_api):
    client = sandbox.client("lambda")
    api_id = http_api.split(".")[0]

    # The http_api fixture already added "apigateway"; AWS refuses a second statement with the same id.
    with pytest.raises(client.exceptions.ResourceConflictException, match="already exists"):
        _allow(sandbox, "echo", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/*/*")

    statements = json.loads(client.get_policy(FunctionName="echo")["Policy"])["Statement"]
    assert [statement["Sid"] for statement in statements] == ["apigateway"]
