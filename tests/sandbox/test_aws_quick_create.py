"""HTTP API quick create (the console's "Add trigger > API Gateway"), with the original course's handler behind it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

from tests.sandbox.aws_fixtures import REGION, ROLE_POLICY, start_sandbox, stop_sandbox
from tutorial.harness import zip_files

EVENTS = Path(__file__).resolve().parents[1] / "events" / "updates"
BUCKET = "curso-telegram-raw"
CHAT_ID = -1001987654321  # the chat of tests/events/updates/*.json

# The ingestion handler of the original course ("pipeline de dados do Telegram", EBAC's data engineering course,
# README of its repository), reproduced unchanged for this compatibility test: it reads its configuration inside
# the handler, dates files in a fixed UTC-3, and answers statusCode as a STRING ("200" / "500").
COURSE_HANDLER = """
import os
import json
import logging
from datetime import datetime, timezone, timedelta

import boto3


def lambda_handler(event: dict, context: dict) -> dict:

  '''
  Recebe uma mensagens do Telegram via AWS API Gateway, verifica no
  seu conteúdo se foi produzida em um determinado grupo e a escreve,
  em seu formato original JSON, em um bucket do AWS S3.
  '''

  # vars de ambiente

  BUCKET = os.environ['AWS_S3_BUCKET']
  TELEGRAM_CHAT_ID = int(os.environ['TELEGRAM_CHAT_ID'])

  # vars lógicas

  tzinfo = timezone(offset=timedelta(hours=-3))
  date = datetime.now(tzinfo).strftime('%Y-%m-%d')
  timestamp = datetime.now(tzinfo).strftime('%Y%m%d%H%M%S%f')

  filename = f'{timestamp}.json'

  # código principal

  client = boto3.client('s3')

  try:

    message = json.loads(event["body"])
    chat_id = message["message"]["chat"]["id"]

    if chat_id == TELEGRAM_CHAT_ID:

      with open(f"/tmp/{filename}", mode='w', encoding='utf8') as fp:
        json.dump(message, fp)

      client.upload_file(f'/tmp/{filename}', BUCKET, f'telegram/context_date={date}/{filename}')

  except Exception as exc:
      logging.error(msg=exc)
      return dict(statusCode="500")

  else:
      return dict(statusCode="200")
"""
# Answers without statusCode: payload format 2.0 infers a 200 whose body is the returned JSON.
INFERRED_HANDLER = """
def lambda_handler(event, context):
    return {"recebido": True}
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    running = start_sandbox(tmp_path_factory.mktemp("sandbox-quick-create"))
    yield running
    stop_sandbox(running)


def _function(sandbox, name: str, source: str, **extra) -> str:
    iam = sandbox.client("iam")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
    for policy in ("service-role/AWSLambdaBasicExecutionRole", "AmazonS3FullAccess"):
        iam.attach_role_policy(RoleName=f"{name}-role", PolicyArn=f"arn:aws:iam::aws:policy/{policy}")
    lam = sandbox.client("lambda")
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": zip_files({"lambda_function.py": source})},
        **extra,
    )["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return arn


def _allow(sandbox, name: str, api_id: str) -> None:
    """What the console adds next to quick create: API Gateway may invoke the function from this API."""
    account = sandbox.client("sts").get_caller_identity()["Account"]
    sandbox.client("lambda").add_permission(
        FunctionName=name,
        StatementId=f"apigateway-{api_id}",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{account}:{api_id}/*",
    )


def call(sandbox, api_id: str, path: str, method: str = "POST", **kwargs) -> requests.Response:
    host = f"{api_id}.execute-api.{REGION}.amazonaws.com"
    return requests.request(
        method, f"{sandbox.endpoint_url}/_sandbox/execute-api/{host}{path}", timeout=60, **kwargs
    )


@pytest.fixture(scope="module")
def course_api(sandbox):
    sandbox.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    arn = _function(
        sandbox,
        "curso-ingestao",
        COURSE_HANDLER,
        Environment={"Variables": {"AWS_S3_BUCKET": BUCKET, "TELEGRAM_CHAT_ID": str(CHAT_ID)}},
    )
    api_id = sandbox.client("apigatewayv2").create_api(Name="curso-api", ProtocolType="HTTP", Target=arn)[
        "ApiId"
    ]
    _allow(sandbox, "curso-ingestao", api_id)
    return api_id, arn


def test_quick_create_makes_the_default_route_integration_and_stage(sandbox, course_api):
    api_id, arn = course_api
    gateway = sandbox.client("apigatewayv2")
    (integration,) = gateway.get_integrations(ApiId=api_id)["Items"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["IntegrationUri"] == arn
    assert integration["PayloadFormatVersion"] == "2.0"
    (route,) = gateway.get_routes(ApiId=api_id)["Items"]
    assert route["RouteKey"] == "$default"
    assert route["Target"] == f"integrations/{integration['IntegrationId']}"
    (stage,) = gateway.get_stages(ApiId=api_id)["Items"]
    assert stage["StageName"] == "$default"
    assert stage["AutoDeploy"] is True


def test_quick_create_adds_no_invoke_permission(sandbox):
    """On AWS the console adds the permission separately: without it API Gateway answers 500."""
    arn = _function(sandbox, "sem-permissao", INFERRED_HANDLER)
    api_id = sandbox.client("apigatewayv2").create_api(Name="fechada", ProtocolType="HTTP", Target=arn)[
        "ApiId"
    ]
    response = call(sandbox, api_id, "/")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    _allow(sandbox, "sem-permissao", api_id)
    # The $default route catches every method and path; with no statusCode, 2.0 infers a 200 with the JSON.
    for method, path in [("POST", "/"), ("GET", "/a/b?c=1"), ("DELETE", "/x")]:
        answer = call(sandbox, api_id, path, method=method)
        assert (answer.status_code, answer.json()) == (200, {"recebido": True})


def test_course_handler_stores_a_message_and_answers_string_200(sandbox, course_api):
    api_id, _ = course_api
    update = json.loads((EVENTS / "text_with_entities.json").read_text())
    # The $default route catches any path and method.
    response = call(sandbox, api_id, "/qualquer/caminho", json=update)
    assert response.status_code == 200
    assert response.content == b""
    keys = [o["Key"] for o in sandbox.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert len(keys) == 1 and keys[0].startswith("telegram/context_date=")
    stored = sandbox.client("s3").get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()
    assert json.loads(stored) == update


def test_course_handler_answers_string_500_on_an_edited_message(sandbox, course_api):
    api_id, _ = course_api
    before = sandbox.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount", 0)
    update = json.loads((EVENTS / "edited_message.json").read_text())
    response = call(sandbox, api_id, "/", json=update)
    # The handler's KeyError on "message" becomes {"statusCode": "500"}: API Gateway passes the 500 on.
    assert response.status_code == 500
    assert response.content == b""
    assert sandbox.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == before


def test_a_route_key_names_the_quick_created_route(sandbox):
    arn = _function(sandbox, "rota", INFERRED_HANDLER)
    gateway = sandbox.client("apigatewayv2")
    api_id = gateway.create_api(Name="rota", ProtocolType="HTTP", Target=arn, RouteKey="POST /webhook")[
        "ApiId"
    ]
    _allow(sandbox, "rota", api_id)
    assert [r["RouteKey"] for r in gateway.get_routes(ApiId=api_id)["Items"]] == ["POST /webhook"]
    answer = call(sandbox, api_id, "/webhook")
    assert (answer.status_code, answer.json()) == (200, {"recebido": True})
    assert call(sandbox, api_id, "/outro").status_code == 404


@pytest.mark.parametrize("field", ["Target", "RouteKey", "CredentialsArn"])
def test_quick_create_fields_are_only_for_http_apis(sandbox, field):
    value = {
        "Target": f"arn:aws:lambda:{REGION}:123456789012:function:x",
        "RouteKey": "$default",
        "CredentialsArn": "arn:aws:iam::123456789012:role/x",
    }[field]
    gateway = sandbox.client("apigatewayv2")
    with pytest.raises(ClientError) as raised:
        gateway.create_api(
            Name="ws",
            ProtocolType="WEBSOCKET",
            RouteSelectionExpression="$request.body.action",
            **{field: value},
        )
    assert raised.value.response["Error"]["Code"] == "BadRequestException"
    assert field in raised.value.response["Error"]["Message"]
    assert not [a for a in gateway.get_apis()["Items"] if a["Name"] == "ws"]
