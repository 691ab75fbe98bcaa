"""Lambda's limits in the sandbox (issue 13, section 3): 50 MB zipped upload, 250 MB unzipped, MemorySize."""

from __future__ import annotations

import base64
import io
import os
import zipfile

import pytest
from botocore.exceptions import ClientError

from sandbox.aws.lambda_runner import UNZIPPED_LIMIT, CodeTooLarge, extract_bounded, unzipped_size
from tests.sandbox.aws_fixtures import create_function, create_role, invoke, start_sandbox, stop_sandbox
from tutorial.harness import zip_files


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    running = start_sandbox(tmp_path_factory.mktemp("sandbox-limits"))
    yield running
    stop_sandbox(running)


HUNGRY = """
def lambda_handler(event, context):
    if event.get("mb"):
        hog = b"x" * (event["mb"] * 1024 * 1024)  # written, so resident: RSS grows
        return len(hog)
    return "ok"
"""


def test_a_function_over_its_memory_is_killed_like_lambda_and_the_next_call_works(sandbox):
    create_function(sandbox, "hungry", HUNGRY, MemorySize=128)
    response, payload = invoke(sandbox, "hungry", {"mb": 300}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.OutOfMemory"
    assert payload["errorMessage"] == (
        f"RequestId: {response['ResponseMetadata']['HTTPHeaders']['x-amzn-requestid']} "
        "Error: Runtime exited with error: signal: killed"
    )
    log = base64.b64decode(response["LogResult"]).decode().splitlines()
    assert (
        log[-3].startswith("REPORT RequestId: ")
        and "\tMemory Size: 128 MB\tMax Memory Used: 128 MB" in log[-3]
    )
    assert log[-2:] == [payload["errorMessage"], "Runtime.OutOfMemory"]  # after REPORT, as Lambda writes them
    response, payload = invoke(sandbox, "hungry", {}, LogType="Tail")
    assert "FunctionError" not in response and payload == "ok"
    assert "Init Duration" in base64.b64decode(response["LogResult"]).decode()  # a fresh environment


def test_a_function_within_its_memory_runs(sandbox):
    create_function(sandbox, "fits", HUNGRY, MemorySize=512)
    response, payload = invoke(sandbox, "fits", {"mb": 200})
    assert "FunctionError" not in response and payload == 200 * 1024 * 1024


def big_zip(declared_mb: int) -> bytes:
    """A zip whose one file unzips to `declared_mb` MB of zeros (a few hundred KB compressed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lambda_function.py", "def lambda_handler(event, context):\n    return 1\n")
        with archive.open("data.bin", "w", force_zip64=True) as sink:
            for _ in range(declared_mb):
                sink.write(bytes(1024 * 1024))
    return buffer.getvalue()


def test_code_unzipping_beyond_250_mb_is_refused_on_create_and_update(sandbox):
    lam = sandbox.client("lambda")
    bomb = big_zip(260)
    assert len(bomb) < 2 * 1024 * 1024 and unzipped_size(bomb) > UNZIPPED_LIMIT
    with pytest.raises(ClientError) as error:
        lam.create_function(
            FunctionName="bomb", Runtime="python3.12", Role=create_role(sandbox),
            Handler="lambda_function.lambda_handler", Code={"ZipFile": bomb},
        )  # fmt: skip
    assert error.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert error.value.response["Error"]["Message"] == "Unzipped size must be smaller than 262144000 bytes"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName="bomb")
    create_function(sandbox, "small", "def lambda_handler(event, context):\n    return 1\n")
    with pytest.raises(ClientError) as error:
        lam.update_function_code(FunctionName="small", ZipFile=bomb)
    assert error.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert invoke(sandbox, "small")[1] == 1  # the old code stays


def test_a_zip_over_50_mb_is_refused_like_lambda(sandbox):
    lam = sandbox.client("lambda")
    create_function(sandbox, "grows", "def lambda_handler(event, context):\n    return 1\n")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("lambda_function.py", "def lambda_handler(event, context):\n    return 2\n")
        archive.writestr("noise.bin", os.urandom(51 * 1024 * 1024))  # incompressible
    with pytest.raises(ClientError) as error:
        lam.update_function_code(FunctionName="grows", ZipFile=buffer.getvalue())
    assert error.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert error.value.response["Error"]["Message"] == (
        "Request must be smaller than 69905067 bytes for the UpdateFunctionCode operation"
    )
    assert invoke(sandbox, "grows")[1] == 1


def test_extraction_stops_at_its_budget_whatever_the_zip_says(tmp_path):
    code = big_zip(20)
    with pytest.raises(CodeTooLarge):
        extract_bounded(code, tmp_path, budget=5 * 1024 * 1024)
    written = sum(path.stat().st_size for path in tmp_path.rglob("*") if path.is_file())
    assert written <= 5 * 1024 * 1024
    assert extract_bounded(zip_files({"a/b.py": "x = 1\n", "../evil.py": "x"}), tmp_path / "ok", 1024) == 6
    assert (tmp_path / "ok" / "a" / "b.py").read_text() == "x = 1\n"
    assert not (tmp_path / "evil.py").exists()


def test_layers_count_toward_the_250_mb(sandbox):
    lam = sandbox.client("lambda")
    layer = lam.publish_layer_version(LayerName="pesada", Content={"ZipFile": big_zip(200)})[
        "LayerVersionArn"
    ]
    create_function(
        sandbox, "with-layer", "def lambda_handler(event, context):\n    return 1\n", Layers=[layer]
    )
    before = lam.get_function_configuration(FunctionName="with-layer")["CodeSha256"]
    with pytest.raises(ClientError) as error:
        lam.update_function_code(FunctionName="with-layer", ZipFile=big_zip(100))
    assert error.value.response["Error"]["Code"] == "InvalidParameterValueException"
    message = error.value.response["Error"]["Message"]
    assert message.startswith(
        "Function code combined with layers exceeds the maximum allowed size of 262144000 bytes. The actual size is "
    )
    assert int(message.rsplit(" ", 2)[1]) > 300 * 1024 * 1024
    create_function(sandbox, "no-layer", "def lambda_handler(event, context):\n    return 1\n")
    lam.update_function_code(FunctionName="no-layer", ZipFile=big_zip(100))
    lam.get_waiter("function_updated_v2").wait(FunctionName="no-layer")
    with pytest.raises(ClientError) as error:
        lam.update_function_configuration(FunctionName="no-layer", Layers=[layer])
    assert error.value.response["Error"]["Message"].startswith("Function code combined with layers exceeds")
    with pytest.raises(ClientError) as error:
        lam.create_function(
            FunctionName="too-much", Runtime="python3.12", Role=create_role(sandbox),
            Handler="lambda_function.lambda_handler", Code={"ZipFile": big_zip(100)}, Layers=[layer],
        )  # fmt: skip
    assert error.value.response["Error"]["Message"].startswith("Function code combined with layers exceeds")
    # Refused changes leave the function as it was (not invoked: its layer would unzip 200 MB to disk).
    assert lam.get_function_configuration(FunctionName="with-layer")["CodeSha256"] == before
    assert lam.get_function_configuration(FunctionName="no-layer").get("Layers", []) == []


def test_code_from_s3_is_held_to_the_same_250_mb(sandbox):
    s3, lam = sandbox.client("s3"), sandbox.client("lambda")
    s3.create_bucket(Bucket="pacotes", CreateBucketConfiguration={"LocationConstraint": "sa-east-1"})
    s3.put_object(Bucket="pacotes", Key="bomba.zip", Body=big_zip(260))
    with pytest.raises(ClientError) as error:
        lam.create_function(
            FunctionName="from-s3", Runtime="python3.12", Role=create_role(sandbox),
            Handler="lambda_function.lambda_handler", Code={"S3Bucket": "pacotes", "S3Key": "bomba.zip"},
        )  # fmt: skip
    assert error.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert error.value.response["Error"]["Message"] == "Unzipped size must be smaller than 262144000 bytes"
