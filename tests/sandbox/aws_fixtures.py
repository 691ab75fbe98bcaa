"""Helpers for the AWS-side sandbox tests: a `python -m sandbox serve` process on free ports, tiny functions."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import boto3
import requests
from botocore.config import Config

import sandbox as sandbox_package
from tutorial.harness import zip_files

REGION = "sa-east-1"
ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@dataclass
class RunningSandbox:
    process: subprocess.Popen
    home: Path
    state: dict

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.state['aws_port']}"

    def client(self, service: str, region: str = REGION, **config):
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(**config) if config else None,
        )

    def control(self, path: str, body: dict | None = None) -> dict:
        """A control route, with the per-run secret the state file holds (as the CLI sends it)."""
        headers = {"X-Sandbox-Secret": self.state["control_secret"]}
        if body is None:
            response = requests.get(self.endpoint_url + path, headers=headers, timeout=30)
        else:
            response = requests.post(self.endpoint_url + path, json=body, headers=headers, timeout=30)
        response.raise_for_status()
        return response.json()


def start_sandbox(home: Path, seed: int = 42) -> RunningSandbox:
    """Start the serve process on free ports (port 0) with its state in `home`; waits until it answers.

    The server gets this process's whole environment (but AWS_ENDPOINT_URL), not the allowlist `up` uses: the
    tests check that nothing of it leaks further (into a Lambda function, say).
    """
    environ = {name: value for name, value in os.environ.items() if name != "AWS_ENDPOINT_URL"}
    process, state = sandbox_package.launch(home, seed, environ=environ)
    return RunningSandbox(process, home, state)


def stop_sandbox(sandbox: RunningSandbox) -> None:
    sandbox.process.terminate()
    try:
        sandbox.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        sandbox.process.kill()
        sandbox.process.wait()


def create_role(sandbox: RunningSandbox, name: str = "lambda-role") -> str:
    """A Lambda execution role that may write its logs (AWSLambdaBasicExecutionRole) and nothing else."""
    iam = sandbox.client("iam")
    try:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    iam.attach_role_policy(
        RoleName=name, PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    )
    return arn


def create_function(sandbox: RunningSandbox, name: str, source: str, **extra) -> dict:
    """A python3.12 function whose lambda_function.py is `source` (handler lambda_function.lambda_handler)."""
    lam = sandbox.client("lambda")
    response = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=create_role(sandbox),
        Handler=extra.pop("Handler", "lambda_function.lambda_handler"),
        Code={"ZipFile": zip_files({"lambda_function.py": source})},
        **extra,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return response


def invoke(sandbox: RunningSandbox, name: str, event: dict | None = None, **extra) -> tuple[dict, object]:
    response = sandbox.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event or {}), **extra)
    return response, json.loads(response["Payload"].read() or b"null")


def error_of(call, *args, **kwargs) -> tuple[int, str, str]:
    """(HTTP status, error code, message) of a call that must fail with a ClientError."""
    import pytest
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    error = raised.value.response
    return (
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Code"],
        error["Error"].get("Message", ""),
    )


ANALYSIS_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "05-analise.ipynb"


def notebook_cell(marker: str, notebook: Path = ANALYSIS_NOTEBOOK) -> str:
    """The source of the one code cell of `notebook` (05 by default) that contains `marker`."""
    cells = json.loads(notebook.read_text())["cells"]
    (source,) = [
        "".join(c["source"]) for c in cells if c["cell_type"] == "code" and marker in "".join(c["source"])
    ]
    return source
