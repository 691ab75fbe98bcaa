"""What AWS does that a lenient sandbox would hide: a recreated API, us-east-1 buckets, versioning, slow invokes."""

from __future__ import annotations

import json
import os
import time

import boto3
import nbformat
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from tests.sandbox.aws_fixtures import create_function, start_sandbox, stop_sandbox
from tutorial.contract import INGESTION_FUNCTION
from tutorial.harness import Stack, deployed_stack, notebook_cell, run_cell, run_notebook


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    running = start_sandbox(tmp_path_factory.mktemp("sandbox-real-world"))
    yield running
    stop_sandbox(running)


# ---- us-east-1: creating a bucket you own again answers 200 -------------------------------------------------
def test_us_east_1_answers_200_when_you_create_your_own_bucket_again(aws):
    s3 = aws.client("s3", "us-east-1")
    s3.create_bucket(Bucket="telegram-again-us-east-1")
    again = s3.create_bucket(Bucket="telegram-again-us-east-1")  # AWS's legacy behaviour in us-east-1
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    other = aws.client("s3", "sa-east-1")
    location = {"LocationConstraint": "sa-east-1"}
    other.create_bucket(Bucket="telegram-again-sa-east-1", CreateBucketConfiguration=location)
    with pytest.raises(ClientError, match="BucketAlreadyOwnedByYou"):  # every other region refuses
        other.create_bucket(Bucket="telegram-again-sa-east-1", CreateBucketConfiguration=location)


@pytest.mark.parametrize("region", ["us-east-1", "sa-east-1"])
def test_notebook_02_says_ja_existia_on_a_second_run_in_every_region(aws, region, capsys):
    source = notebook_cell("02-ingestao-aws", "def create_bucket(name: str)")
    names = {
        "RAW_BUCKET": f"telegram-rerun-{region}-raw",
        "ENRICHED_BUCKET": f"telegram-rerun-{region}-enriched",
    }
    for _ in range(2):
        run_cell(
            source, {"s3": aws.client("s3", region), "REGION": region, "ClientError": ClientError, **names}
        )
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"criado: {names['RAW_BUCKET']}", f"criado: {names['ENRICHED_BUCKET']}"] + [
        f"já existia: {names['RAW_BUCKET']}",
        f"já existia: {names['ENRICHED_BUCKET']}",
    ]


# ---- teardown of a bucket with versioning on ----------------------------------------------------------------
def versioned_bucket(s3, name: str) -> None:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "sa-east-1"})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for text in ("primeira", "segunda"):
        s3.put_object(Bucket=name, Key="telegram/context_date=2025-03-17/1.json", Body=text.encode())
    s3.put_object(Bucket=name, Key="telegram/context_date=2025-03-17/2.json", Body=b"{}")
    s3.delete_object(Bucket=name, Key="telegram/context_date=2025-03-17/2.json")  # a delete marker


def test_deleting_the_objects_of_a_versioned_bucket_leaves_it_not_empty_as_on_aws(aws):
    s3 = aws.client("s3")
    versioned_bucket(s3, "telegram-versioned-old-way")
    current = s3.list_objects_v2(Bucket="telegram-versioned-old-way")["Contents"]
    s3.delete_objects(
        Bucket="telegram-versioned-old-way", Delete={"Objects": [{"Key": o["Key"]} for o in current]}
    )
    assert s3.list_objects_v2(Bucket="telegram-versioned-old-way")["KeyCount"] == 0
    with pytest.raises(ClientError) as error:
        s3.delete_bucket(Bucket="telegram-versioned-old-way")
    assert error.value.response["Error"]["Code"] == "BucketNotEmpty"


def test_notebook_06_empties_and_deletes_a_versioned_bucket(aws, monkeypatch, capsys):
    s3 = aws.client("s3")
    versioned_bucket(s3, "telegram-versioned-raw")
    monkeypatch.setenv("CONFIRMAR_LIMPEZA", "sim")
    run_cell(
        notebook_cell("06-limpeza", "list_object_versions"),
        {"s3": s3, "os": os, "BUCKETS": ["telegram-versioned-raw"]},
    )
    assert "telegram-versioned-raw" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert (
        "apagado: bucket telegram-versioned-raw (4 objetos)" in capsys.readouterr().out
    )  # 3 versions, 1 marker


# ---- a synchronous invoke longer than the client's read timeout ---------------------------------------------
SLOW = "import time\n\ndef lambda_handler(event, context):\n    print('rodando')\n    time.sleep(2)\n    return 'ok'\n"


def starts(aws, name: str) -> int:
    logs = aws.client("logs")
    try:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    except logs.exceptions.ResourceNotFoundException:
        return 0  # no invocation has finished yet
    return sum(event["message"].startswith("START RequestId") for event in events)


def test_a_read_timeout_makes_botocore_invoke_again_so_the_function_runs_twice(aws):
    """What a backfill longer than 60 s does with boto3's defaults (here 1 s stands for 60 s)."""
    create_function(aws, "slow", SLOW, Timeout=10)
    impatient = aws.client("lambda", read_timeout=1, retries={"total_max_attempts": 2})
    with pytest.raises(ReadTimeoutError):
        impatient.invoke(FunctionName="slow", Payload=b"{}")
    deadline = time.monotonic() + 15
    while starts(aws, "slow") < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert starts(aws, "slow") == 2  # the handler ran once per attempt


def test_notebook_04_invokes_the_etl_once_and_waits_its_whole_timeout(aws):
    source = notebook_cell("04-etl", "def invoke_etl(event: dict)")
    definitions = source.split("\ndays = raw_days()", 1)[0]
    namespace = run_cell(
        definitions, {"boto3": boto3, "Config": Config, "json": json, "etl": {"Timeout": 300}}
    )
    invoker = namespace["etl_invoker"]
    assert invoker.meta.config.read_timeout > 300  # longer than the function may run
    assert invoker.meta.config.retries["total_max_attempts"] == 1  # never a second run of the ETL


# ---- the API recreated while the function survives -----------------------------------------------------------
@pytest.fixture(scope="module")
def stack():
    with deployed_stack() as deployed:
        yield deployed


def api_gateway_sources(stack: Stack) -> list[str]:
    policy = json.loads(stack.client("lambda").get_policy(FunctionName=INGESTION_FUNCTION)["Policy"])
    return [s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in policy["Statement"]]


@pytest.mark.slow
def test_a_recreated_api_gets_its_own_permission_and_the_old_one_goes(stack, tmp_path, capsys):
    old_api = stack.api_id
    assert stack.send("{}", secret=None).status_code == 401  # the deployed API reaches the function
    stack.client("apigatewayv2").delete_api(ApiId=old_api)

    os.environ["AWS_ENDPOINT_URL"] = (
        stack.endpoint_url
    )  # the suite's conftest clears it; the notebook needs it
    try:
        output = run_notebook("02-ingestao-aws", tmp_path)
    finally:
        os.environ.pop("AWS_ENDPOINT_URL")
    stack.read_back()
    assert stack.api_id != old_api
    printed = json.dumps(nbformat.read(output, as_version=4).cells, ensure_ascii=False)
    assert "permissão de outra API removida: apigateway-" in printed and "permissão criada" in printed
    assert api_gateway_sources(stack) == [
        f"arn:aws:execute-api:{stack.region}:{stack.account}:{stack.api_id}/*/*/webhook"
    ]
    assert stack.send("{}", secret=None).status_code == 401  # the function answers through the new API

    # The sandbox, like API Gateway, refuses the call when the only permission names another API.
    lambda_ = stack.client("lambda")
    lambda_.remove_permission(FunctionName=INGESTION_FUNCTION, StatementId=f"apigateway-{stack.api_id}")
    lambda_.add_permission(
        FunctionName=INGESTION_FUNCTION,
        StatementId="apigateway-webhook",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{stack.region}:{stack.account}:{old_api}/*/*/webhook",
    )
    assert stack.send("{}", secret=None).status_code == 500
