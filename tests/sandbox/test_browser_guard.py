"""A web page the learner visits must not drive the sandbox (issue 13, section 1).

Each test sends what a browser would send on a hostile page's behalf: an `Origin` header (fetch, forms), a
`Sec-Fetch-Site: cross-site` GET (an `<img>` tag), a rebinding `Host` (the attacker's name resolving to
127.0.0.1), a `text/plain` JSON body (no preflight). Real clients (boto3, requests) keep working.
"""

from __future__ import annotations

import json
import os
import random
import stat
from pathlib import Path

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

import sandbox
from sandbox.telegram.people import make_token
from tutorial.harness import isolated_sandbox

EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def running():
    with isolated_sandbox() as variables:
        state = json.loads((Path(os.environ["SANDBOX_HOME"]) / "state.json").read_text())
        s3 = client(variables, "s3")
        s3.create_bucket(Bucket="turma-raw", CreateBucketConfiguration={"LocationConstraint": "sa-east-1"})
        yield variables, state


def client(variables: dict, service: str, endpoint: str | None = None):
    return boto3.client(
        service,
        endpoint_url=endpoint or variables["AWS_ENDPOINT_URL"],
        region_name=variables["AWS_DEFAULT_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's placeholder
    )


def secret_headers(state: dict) -> dict:
    return {"X-Sandbox-Secret": state["control_secret"]}


def assert_refused(response: requests.Response, status: int = 403) -> None:
    assert response.status_code == status, response.text
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]


# ---- the AWS port ----------------------------------------------------------------------------------------
def test_a_cross_origin_page_cannot_list_buckets_nor_read_the_answer(running):
    variables, _ = running
    url = variables["AWS_ENDPOINT_URL"] + "/"
    assert "turma-raw" in requests.get(url, timeout=10).text  # the same request, from a program
    refused = requests.get(url, headers={"Origin": EVIL}, timeout=10)
    assert_refused(refused)
    assert "turma-raw" not in refused.text
    assert "<Code>AccessDenied</Code>" in refused.text and "página web" in refused.text


def test_a_cors_preflight_gets_no_access_control_headers(running):
    variables, _ = running
    preflight = requests.options(
        variables["AWS_ENDPOINT_URL"] + "/turma-raw/x",
        headers={"Origin": EVIL, "Access-Control-Request-Method": "PUT"},
        timeout=10,
    )
    assert_refused(preflight)


def test_moto_itself_sends_no_cors_headers_behind_the_guard():
    # moto wraps its apps in flask-cors (Access-Control-Allow-Origin: * to any Origin); the guard refuses
    # Origin first, but the app behind it must not open CORS either, should a request ever get through.
    from werkzeug.test import Client

    from sandbox.aws.app import AwsSandbox

    app = AwsSandbox("http://127.0.0.1:9")
    try:
        signed = "AWS4-HMAC-SHA256 Credential=testing/20250317/sa-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"
        answer = Client(app).get("/", headers={"Origin": EVIL, "Authorization": signed})
        assert answer.status_code == 200
        assert not [name for name in answer.headers.keys() if name.lower().startswith("access-control-")]
    finally:
        app.runner.close()


def test_a_cross_origin_page_cannot_reset_the_sandbox(running):
    variables, state = running
    url = variables["AWS_ENDPOINT_URL"] + "/_sandbox/reset"
    # A form or a no-cors fetch: Origin, text/plain body, no secret.
    assert_refused(
        requests.post(
            url, data='{"seed": 1}', headers={"Origin": EVIL, "Content-Type": "text/plain"}, timeout=10
        )
    )
    # Even without Origin (an old browser): no secret, no reset.
    assert_refused(requests.post(url, data='{"seed": 1}', headers={"Content-Type": "text/plain"}, timeout=10))
    # With the secret, a text/plain body is still refused: only JSON control bodies.
    text_plain = requests.post(
        url, data='{"seed": 1}', headers={**secret_headers(state), "Content-Type": "text/plain"}, timeout=10
    )
    assert_refused(text_plain, 415)
    assert "application/json" in text_plain.json()["error"]
    assert "turma-raw" in requests.get(variables["AWS_ENDPOINT_URL"] + "/", timeout=10).text  # nothing wiped


def test_a_cross_origin_page_cannot_invoke_a_function(running):
    variables, _ = running
    url = variables["AWS_ENDPOINT_URL"] + "/2015-03-31/functions/telegram-ingestao/invocations"
    refused = requests.post(
        url, data="{}", headers={"Origin": EVIL, "Content-Type": "text/plain"}, timeout=10
    )
    assert_refused(refused)
    assert refused.headers["x-amzn-ErrorType"] == "AccessDeniedException"


def test_an_img_tag_get_is_refused_by_its_fetch_metadata(running):
    variables, state = running
    img = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}
    assert_refused(requests.get(variables["AWS_ENDPOINT_URL"] + "/", headers=img, timeout=10))
    # The learner typing the URL in the address bar (Sec-Fetch-Site: none) is not a page acting for them.
    typed = {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"}
    assert requests.get(variables["AWS_ENDPOINT_URL"] + "/_sandbox/health", headers=typed, timeout=10).ok


@pytest.mark.parametrize("port_variable", ["AWS_ENDPOINT_URL", "TELEGRAM_API_URL"])
def test_a_rebinding_host_is_refused_on_both_ports(running, port_variable):
    variables, _ = running
    base = variables[port_variable]
    port = base.rsplit(":", 1)[1]
    path = (
        "/_sandbox/health"
        if port_variable == "AWS_ENDPOINT_URL"
        else f"/bot{variables['TELEGRAM_BOT_TOKEN']}/getMe"
    )
    rebound = (
        f"evil.example:{port}",
        "evil.example",
        f"127.0.0.1:{int(port) + 1}",
        f"localhost.evil.example:{port}",
    )
    for host in rebound:
        refused = requests.get(base + path, headers={"Host": host}, timeout=10)
        assert_refused(refused)
        assert "endereço local" in refused.text
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"turma-raw.localhost:{port}"):
        assert requests.get(base + path, headers={"Host": host}, timeout=10).ok, host


def test_control_routes_need_the_run_secret_but_health_stays_open(running):
    variables, state = running
    base = variables["AWS_ENDPOINT_URL"]
    assert requests.get(base + "/_sandbox/health", timeout=10).json() == {"status": "ok"}
    for path in ("/_sandbox/status", "/_sandbox/s3", "/moto-api/data.json"):
        assert_refused(requests.get(base + path, timeout=10))
        assert_refused(requests.get(base + path, headers={"X-Sandbox-Secret": "x" * 43}, timeout=10))
    assert_refused(requests.post(base + "/moto-api/reset", timeout=10))
    assert requests.get(base + "/_sandbox/status", headers=secret_headers(state), timeout=10).ok


def test_the_state_file_holding_the_secret_is_private_and_the_secret_never_shown(running):
    _, state = running
    home = Path(os.environ["SANDBOX_HOME"])
    for name in ("state.json", "telegram-token"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name
    assert state["control_secret"] not in json.dumps(sandbox.status())


def test_boto3_works_with_a_localhost_endpoint_too(running):
    variables, _ = running
    s3 = client(variables, "s3", variables["AWS_ENDPOINT_URL"].replace("127.0.0.1", "localhost"))
    s3.put_object(Bucket="turma-raw", Key="k.json", Body=b"{}")
    assert s3.get_object(Bucket="turma-raw", Key="k.json")["Body"].read() == b"{}"


# ---- the Telegram port -----------------------------------------------------------------------------------
def seed_derived_token(seed: int = 42) -> str:
    """The token every install had before: derived from the (default) seed alone."""
    return make_token(random.Random(f"telegram:{seed}:world"))[1]


def test_the_default_seed_token_no_longer_opens_the_bot(running):
    variables, _ = running
    base, token = variables["TELEGRAM_API_URL"], variables["TELEGRAM_BOT_TOKEN"]
    guessed = seed_derived_token()
    assert token.split(":")[0] == guessed.split(":")[0]  # same bot id (notebooks print it) ...
    assert token != guessed  # ... but not the same secret half
    hook = f"{base}/bot{guessed}/setWebhook?url=https://evil.example/hook"
    refused = requests.get(hook, timeout=10)
    assert refused.status_code == 401 and refused.json()["description"] == "Unauthorized"
    info = requests.get(f"{base}/bot{token}/getWebhookInfo", timeout=10).json()["result"]
    assert info["url"] != "https://evil.example/hook"


def test_a_page_cannot_set_the_webhook_even_knowing_the_token(running):
    variables, _ = running
    base, token = variables["TELEGRAM_API_URL"], variables["TELEGRAM_BOT_TOKEN"]
    url = f"{base}/bot{token}/setWebhook?url=https://evil.example/hook"
    img = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}
    for headers in ({"Origin": EVIL}, img):
        refused = requests.get(url, headers=headers, timeout=10)
        assert_refused(refused)
        assert refused.json()["ok"] is False and refused.json()["error_code"] == 403
    info = requests.get(f"{base}/bot{token}/getWebhookInfo", timeout=10).json()["result"]
    assert info["url"] != "https://evil.example/hook"


def test_telegram_control_routes_need_the_secret_and_a_json_body(running):
    variables, state = running
    url = variables["TELEGRAM_API_URL"] + "/_sandbox/chat/text"
    body = '{"from": "ana", "text": "oi"}'
    assert_refused(requests.post(url, data=body, headers={"Content-Type": "text/plain"}, timeout=10))
    assert_refused(
        requests.post(
            url, data=body, headers={**secret_headers(state), "Content-Type": "text/plain"}, timeout=10
        ),
        415,
    )
    assert_refused(requests.get(variables["TELEGRAM_API_URL"] + "/_sandbox/status", timeout=10))
    ok = requests.post(
        url, data=body, headers={**secret_headers(state), "Content-Type": "application/json"}, timeout=10
    )
    assert ok.json()["ok"] is True


def test_each_home_gets_its_own_token_and_keeps_it(running):
    variables, _ = running
    first = variables["TELEGRAM_BOT_TOKEN"]
    with isolated_sandbox() as other:
        assert other["TELEGRAM_BOT_TOKEN"].split(":")[0] == first.split(":")[0]
        assert other["TELEGRAM_BOT_TOKEN"] != first
        kept = other["TELEGRAM_BOT_TOKEN"]
        sandbox.stop()
        assert sandbox.start(seed=42)["TELEGRAM_BOT_TOKEN"] == kept  # same home, same token


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("s3", lambda c: c.list_buckets(), "AccessDenied"),  # rest-xml
        ("sts", lambda c: c.get_caller_identity(), "AccessDenied"),  # query
        ("iam", lambda c: c.list_roles(), "AccessDenied"),  # query
        ("lambda", lambda c: c.list_functions(), "AccessDeniedException"),  # rest-json
        ("athena", lambda c: c.list_query_executions(), "AccessDeniedException"),  # json
    ],
)
def test_boto3_shows_the_refusal_reason_in_every_protocol(running, service, call, code):
    variables, _ = running
    port = variables["AWS_ENDPOINT_URL"].rsplit(":", 1)[1]
    aws = client(variables, service)

    def rebind(request, **_):  # what a DNS-rebinding page's requests carry
        request.headers["Host"] = f"evil.example:{port}"

    aws.meta.events.register("before-send", rebind)
    with pytest.raises(ClientError) as error:
        call(aws)
    assert error.value.response["Error"]["Code"] == code
    assert error.value.response["Error"]["Message"].startswith("O sandbox só atende pelo endereço local")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
