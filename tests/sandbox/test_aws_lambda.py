"""The Lambda runner: handlers run from the uploaded zip, behave and fail as on AWS."""

from __future__ import annotations

import base64
import json
import time

import pytest
from botocore.exceptions import ClientError

from sandbox.aws.layers import pandas_layer_arn
from tests.sandbox.aws_fixtures import REGION, create_function, invoke, start_sandbox, stop_sandbox
from tutorial.harness import zip_files

COUNTER = """
import os
import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)
INVOCATIONS = 0


def lambda_handler(event, context):
    global INVOCATIONS
    INVOCATIONS += 1
    print("evento recebido", event.get("n"))
    logger.info("contagem %s", INVOCATIONS)
    return {
        "invocations": INVOCATIONS,
        "pid": os.getpid(),
        "my_var": os.environ.get("MY_VAR"),
        "runtime": {k: os.environ.get(k) for k in
                    ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME",
                     "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "_HANDLER", "AWS_ENDPOINT_URL")},
        "context": {"function_name": context.function_name, "request_id": context.aws_request_id,
                    "memory": context.memory_limit_in_mb, "arn": context.invoked_function_arn,
                    "remaining": context.get_remaining_time_in_millis(),
                    "log_group": context.log_group_name, "log_stream": context.log_stream_name},
    }
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    running = start_sandbox(tmp_path_factory.mktemp("sandbox-lambda"))
    yield running
    stop_sandbox(running)


@pytest.fixture(scope="module")
def counter(sandbox):
    create_function(
        sandbox, "counter", COUNTER, Environment={"Variables": {"MY_VAR": "valor"}}, MemorySize=256
    )
    return "counter"


def test_invoke_returns_the_handler_result(sandbox, counter):
    response, payload = invoke(sandbox, counter, {"n": 1})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert payload["invocations"] >= 1


def test_function_sees_its_environment_and_the_runtime_variables(sandbox, counter):
    _, payload = invoke(sandbox, counter)
    assert payload["my_var"] == "valor"
    assert payload["runtime"] == {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": "counter",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "_HANDLER": "lambda_function.lambda_handler",
        "AWS_ENDPOINT_URL": sandbox.endpoint_url,
    }


def test_context_looks_like_lambdas(sandbox, counter):
    response, payload = invoke(sandbox, counter)
    context = payload["context"]
    assert context["function_name"] == "counter"
    assert context["memory"] == "256"
    assert context["arn"] == f"arn:aws:lambda:{REGION}:123456789012:function:counter"
    assert 0 < context["remaining"] <= 3000
    assert context["log_group"] == "/aws/lambda/counter"
    assert context["request_id"] == response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]


def test_warm_worker_keeps_module_state_between_invocations(sandbox, counter):
    _, first = invoke(sandbox, counter)
    _, second = invoke(sandbox, counter)
    assert second["pid"] == first["pid"]
    assert second["invocations"] == first["invocations"] + 1


def test_new_code_runs_in_a_new_worker(sandbox):
    create_function(sandbox, "versioned", "def lambda_handler(event, context):\n    return 'v1'\n")
    assert invoke(sandbox, "versioned")[1] == "v1"
    lam = sandbox.client("lambda")
    lam.update_function_code(
        FunctionName="versioned",
        ZipFile=zip_files({"lambda_function.py": "def lambda_handler(event, context):\n    return 'v2'\n"}),
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName="versioned")
    assert invoke(sandbox, "versioned")[1] == "v2"


def test_unhandled_error_comes_back_as_lambda_reports_it(sandbox):
    source = "def lambda_handler(event, context):\n    raise ValueError('mensagem inválida')\n"
    create_function(sandbox, "failing", source)
    response, payload = invoke(sandbox, "failing")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "mensagem inválida"
    assert payload["requestId"] == response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert payload["stackTrace"][0].startswith(
        '  File "/var/task/lambda_function.py", line 2, in lambda_handler'
    )


def test_timeout_kills_the_worker_and_reports_task_timed_out(sandbox):
    source = (
        "import time\nSTATE = []\n"
        "def lambda_handler(event, context):\n"
        "    STATE.append(1)\n"
        "    if event.get('sleep'):\n        time.sleep(event['sleep'])\n"
        "    return len(STATE)\n"
    )
    create_function(sandbox, "slow", source, Timeout=1)
    assert invoke(sandbox, "slow")[1] == 1
    started = time.monotonic()
    response, payload = invoke(sandbox, "slow", {"sleep": 10})
    assert time.monotonic() - started < 5
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in payload["errorMessage"]
    # The environment was destroyed: module state starts over.
    assert invoke(sandbox, "slow")[1] == 1


@pytest.mark.parametrize("module", ["requests", "moto", "pyarrow"])
def test_only_the_runtime_modules_are_importable(sandbox, module):
    name = f"imports-{module}"
    create_function(sandbox, name, f"import {module}\n\ndef lambda_handler(event, context):\n    return 1\n")
    response, payload = invoke(sandbox, name)
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert payload["errorMessage"] == f"Unable to import module 'lambda_function': No module named '{module}'"


def test_boto3_is_importable_without_layers(sandbox):
    create_function(
        sandbox, "sdk", "import boto3\n\ndef lambda_handler(event, context):\n    return boto3.__name__\n"
    )
    assert invoke(sandbox, "sdk")[1] == "boto3"


def test_pandas_layer_at_its_real_arn_makes_pyarrow_importable(sandbox):
    source = (
        "import pyarrow\nimport pandas\n\ndef lambda_handler(event, context):\n    return pandas.__name__\n"
    )
    arn = pandas_layer_arn(REGION, "3.12")
    # Configured like notebook 04's ETL: importing pandas and pyarrow needs more than the 3 s / 128 MB defaults.
    config = create_function(sandbox, "with-layer", source, Layers=[arn], MemorySize=512, Timeout=60)
    assert (
        config["Layers"][0]["Arn"] == f"arn:aws:lambda:{REGION}:336392948345:layer:AWSSDKPandas-Python312:29"
    )
    response, payload = invoke(sandbox, "with-layer")
    assert "FunctionError" not in response, payload
    assert payload == "pandas"


def test_managed_layer_from_another_region_is_rejected(sandbox):
    with pytest.raises(ClientError) as error:
        create_function(sandbox, "wrong-region", "def lambda_handler(e, c):\n    return 1\n",
                        Layers=[pandas_layer_arn("us-east-1", "3.12")])  # fmt: skip
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 404)


def test_user_layer_content_is_on_the_path(sandbox):
    lam = sandbox.client("lambda")
    layer = lam.publish_layer_version(
        LayerName="helpers",
        Content={"ZipFile": zip_files({"python/helpers.py": "def greet():\n    return 'olá da layer'\n"})},
        CompatibleRuntimes=["python3.12"],
    )
    source = "import helpers\n\ndef lambda_handler(event, context):\n    return helpers.greet()\n"
    create_function(sandbox, "uses-layer", source, Layers=[layer["LayerVersionArn"]])
    assert invoke(sandbox, "uses-layer")[1] == "olá da layer"


def test_missing_handler_is_runtime_handler_not_found(sandbox):
    create_function(sandbox, "no-handler", "def other(event, context):\n    return 1\n")
    response, payload = invoke(sandbox, "no-handler")
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.HandlerNotFound"
    assert payload["errorMessage"] == "Handler 'lambda_handler' missing on module 'lambda_function'"


def test_logs_land_in_cloudwatch_logs_with_lambdas_format(sandbox, counter):
    response, payload = invoke(sandbox, counter, {"n": 77})
    request_id = payload["context"]["request_id"]
    logs = sandbox.client("logs")
    events = logs.get_log_events(
        logGroupName="/aws/lambda/counter", logStreamName=payload["context"]["log_stream"]
    )
    messages = [e["message"] for e in events["events"]]
    start = messages.index(f"START RequestId: {request_id} Version: $LATEST")
    mine = messages[start : start + 5]
    assert mine[1] == "evento recebido 77"
    assert mine[2].startswith("[INFO]\t") and mine[2].endswith(
        f"\t{request_id}\tcontagem {payload['invocations']}"
    )
    assert mine[3] == f"END RequestId: {request_id}"
    assert mine[4].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    assert "Memory Size: 256 MB" in mine[4]


def test_log_tail_is_the_base64_of_the_invocation_log(sandbox, counter):
    response, payload = invoke(sandbox, counter, {"n": 5}, LogType="Tail")
    tail = base64.b64decode(response["LogResult"]).decode()
    assert len(tail.encode()) <= 4096
    assert tail.startswith(f"START RequestId: {payload['context']['request_id']}")
    assert "evento recebido 5" in tail


def test_event_invocation_is_accepted_and_runs_in_background(sandbox):
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket="async-out", CreateBucketConfiguration={"LocationConstraint": REGION})
    source = (
        "import boto3\ns3 = boto3.client('s3')\n"
        "def lambda_handler(event, context):\n"
        "    s3.put_object(Bucket='async-out', Key=event['key'], Body=b'feito')\n"
    )
    # As on AWS, the function may only write what its role allows.
    sandbox.client("iam").put_role_policy(
        RoleName="lambda-role",
        PolicyName="async-out",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::async-out/*"}
                ],
            }
        ),
    )
    create_function(sandbox, "async-writer", source)
    response = sandbox.client("lambda").invoke(
        FunctionName="async-writer", InvocationType="Event", Payload=json.dumps({"key": "ok.txt"})
    )
    assert response["StatusCode"] == 202
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if s3.list_objects_v2(Bucket="async-out").get("KeyCount"):
            break
        time.sleep(0.1)
    assert s3.get_object(Bucket="async-out", Key="ok.txt")["Body"].read() == b"feito"


def test_dry_run_checks_without_running(sandbox, counter):
    response = sandbox.client("lambda").invoke(FunctionName=counter, InvocationType="DryRun")
    assert response["StatusCode"] == 204


def test_unknown_function_is_resource_not_found(sandbox):
    with pytest.raises(ClientError) as error:
        sandbox.client("lambda").invoke(FunctionName="does-not-exist", Payload=b"{}")
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
