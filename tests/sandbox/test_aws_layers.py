"""The AWSSDKPandas layer as AWS publishes it: its ARN from the SSM public parameter, and no other version exists."""

from __future__ import annotations

import boto3
import nbformat
import pytest
from botocore.exceptions import ClientError

from sandbox.aws.layers import PUBLISHED_LAYERS, pandas_layer_arn, parameter_name
from tests.sandbox.aws_fixtures import REGION, create_function, create_role, start_sandbox, stop_sandbox
from tutorial.harness import NOTEBOOKS, zip_files

HANDLER = "def lambda_handler(event, context):\n    return 1\n"
NOTEBOOK = NOTEBOOKS / "04-etl.ipynb"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    running = start_sandbox(tmp_path_factory.mktemp("sandbox-layers"))
    yield running
    stop_sandbox(running)


def test_every_published_region_resolves_its_own_arn(sandbox):
    for region in PUBLISHED_LAYERS:
        value = sandbox.client("ssm", region).get_parameter(Name=parameter_name())["Parameter"]["Value"]
        assert value == pandas_layer_arn(region)
        assert f":lambda:{region}:" in value and value.split(":")[6] == "AWSSDKPandas-Python312"
    # Facts from release 3.17.0's table: most regions publish from 336392948345, some from an account of their own.
    assert (
        pandas_layer_arn("sa-east-1")
        == "arn:aws:lambda:sa-east-1:336392948345:layer:AWSSDKPandas-Python312:29"
    )
    assert (
        pandas_layer_arn("ap-east-1")
        == "arn:aws:lambda:ap-east-1:839552336658:layer:AWSSDKPandas-Python312:26"
    )
    assert pandas_layer_arn("sa-east-1", architecture="arm64").endswith(":AWSSDKPandas-Python312-Arm64:29")


@pytest.mark.parametrize("region", ["sa-east-1", "us-east-1", "ap-east-1", "ca-west-1"])
def test_the_resolved_layer_is_accepted_by_lambda_in_its_region(sandbox, region):
    arn = sandbox.client("ssm", region).get_parameter(Name=parameter_name())["Parameter"]["Value"]
    config = sandbox.client("lambda", region).create_function(
        FunctionName=f"etl-{region}",
        Runtime="python3.12",
        Role=create_role(sandbox),  # IAM is global
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": zip_files({"lambda_function.py": HANDLER})},
        Layers=[arn],
    )
    assert config["Layers"][0]["Arn"] == arn


@pytest.mark.parametrize(
    "arn",
    [
        # The versions the notebook had written down: a stale build and the Python 3.11 row's number.
        "arn:aws:lambda:sa-east-1:336392948345:layer:AWSSDKPandas-Python312:26",
        "arn:aws:lambda:sa-east-1:336392948345:layer:AWSSDKPandas-Python312:31",
        "arn:aws:lambda:sa-east-1:336392948345:layer:AWSSDKPandas-Python312:30",
        "arn:aws:lambda:sa-east-1:839552336658:layer:AWSSDKPandas-Python312:29",  # another region's account
    ],
)
def test_a_version_aws_does_not_publish_fails_like_aws(sandbox, arn):
    with pytest.raises(ClientError) as error:
        create_function(sandbox, "wrong-layer", HANDLER, Layers=[arn])
    assert error.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert error.value.response["Error"]["Message"] == f"Layer version {arn} does not exist."
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def layer_cell() -> str:
    (source,) = [
        c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if "LAYER_PARAMETER" in c.source
    ]
    return source


def run_layer_cell(namespace: dict) -> dict:
    import os

    namespace = {"os": os, "boto3": boto3, **namespace}
    exec(compile(layer_cell(), "<04-etl>", "exec"), namespace)  # noqa: S102 - the notebook's own code
    return namespace


def test_the_notebook_resolves_the_layer_from_ssm(sandbox, monkeypatch):
    monkeypatch.delenv("PANDAS_LAYER_ARN", raising=False)
    boto = type("Boto", (), {"client": staticmethod(lambda service: sandbox.client(service, REGION))})
    assert run_layer_cell({"boto3": boto, "REGION": REGION})["LAYER_ARN"] == pandas_layer_arn(REGION)


def test_an_unsupported_region_stops_in_portuguese_before_anything_is_created(sandbox, monkeypatch):
    monkeypatch.delenv("PANDAS_LAYER_ARN", raising=False)
    region = "ap-southeast-7"  # a real region without the layer in release 3.17.0
    boto = type("Boto", (), {"client": staticmethod(lambda service: sandbox.client(service, region))})
    with pytest.raises(RuntimeError) as error:
        run_layer_cell({"boto3": boto, "REGION": region})
    assert str(error.value).startswith(
        "A camada AWSSDKPandas 3.17.0 para Python 3.12 não é publicada na região ap-southeast-7."
    )
    assert "defina PANDAS_LAYER_ARN" in str(error.value) and "Nada foi criado ainda." in str(error.value)
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_the_override_variable_pins_the_layer_without_asking_ssm(monkeypatch):
    pinned = "arn:aws:lambda:sa-east-1:111122223333:layer:meu-pyarrow:3"
    monkeypatch.setenv("PANDAS_LAYER_ARN", f" {pinned} ")

    class NoAws:
        @staticmethod
        def client(service):
            raise AssertionError("SSM was asked although the layer is pinned")

    assert run_layer_cell({"boto3": NoAws, "REGION": "sa-east-1"})["LAYER_ARN"] == pinned


def test_the_layer_is_resolved_before_the_notebook_creates_anything():
    cells = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]
    layer = cells.index(layer_cell())
    creating = [i for i, source in enumerate(cells) if "create_" in source or "ensure_role(" in source]
    assert layer < min(creating)
