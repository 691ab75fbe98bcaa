"""Helpers for the AWS-side sandbox tests: a `python -m sandbox serve` process on free ports, tiny zips."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import boto3
import requests
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
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

    def client(self, service: str, **config):
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
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


def start_sandbox(home: Path, seed: int = 42, timeout: float = 30.0) -> RunningSandbox:
    """Start the serve process on free ports (port 0) with its state in `home`; waits until it answers."""
    env = {**os.environ, "SANDBOX_HOME": str(home), "SANDBOX_AWS_PORT": "0", "SANDBOX_TELEGRAM_PORT": "0"}
    env.pop("AWS_ENDPOINT_URL", None)
    log = (home / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--seed", str(seed)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((home / "serve.log").read_text())
        try:
            state = json.loads((home / "state.json").read_text())
            sandbox = RunningSandbox(process, home, state)
            if sandbox.control("/_sandbox/health")["status"] == "ok":
                return sandbox
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("sandbox did not start in time")


def stop_sandbox(sandbox: RunningSandbox) -> None:
    sandbox.process.terminate()
    try:
        sandbox.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        sandbox.process.kill()
        sandbox.process.wait()


def zip_bytes(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


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
        Code={"ZipFile": zip_bytes({"lambda_function.py": source})},
        **extra,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return response


def invoke(sandbox: RunningSandbox, name: str, event: dict | None = None, **extra) -> tuple[dict, object]:
    response = sandbox.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event or {}), **extra)
    return response, json.loads(response["Payload"].read() or b"null")
