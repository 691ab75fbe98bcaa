"""The class policy (iam/politica-da-turma.json) is exactly enough: the whole tutorial runs as a user holding only
it, and a user missing one of its permissions is stopped where AWS would stop them.

The notebooks run as they are in the repository (02 to 06, in order, each in a fresh kernel), as an IAM user a
teacher created in the sandbox: SANDBOX_AWS_ACCESS_KEY_ID / SANDBOX_AWS_SECRET_ACCESS_KEY make the setup cell hand
that user's key to the notebook instead of the sandbox's administrator credentials.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from nbclient.exceptions import CellExecutionError

import sandbox
from tests.students import outputs, run_as
from tutorial.harness import isolated_sandbox

pytestmark = pytest.mark.slow

POLICY = json.loads((Path(__file__).resolve().parent.parent / "iam" / "politica-da-turma.json").read_text())
TUTORIAL = ["02-ingestao-aws", "03-webhook", "04-etl", "05-analise", "06-limpeza"]


@pytest.fixture(scope="module")
def fresh_sandbox():
    with isolated_sandbox() as variables:
        yield variables


def admin(service: str):
    # The suite's autouse fixture removes AWS_ENDPOINT_URL from each test: point the client explicitly.
    return boto3.client(service, endpoint_url=sandbox.env()["AWS_ENDPOINT_URL"], aws_session_token=None)


def student(name: str, policy: dict) -> dict:
    """A teacher's setup: a group holding the policy, a user in it, and the user's access key."""
    iam = admin("iam")
    arn = iam.create_policy(PolicyName=f"{name}-turma", PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
    iam.create_group(GroupName=f"{name}-turma")
    iam.attach_group_policy(GroupName=f"{name}-turma", PolicyArn=arn)
    iam.create_user(UserName=name)
    iam.add_user_to_group(GroupName=f"{name}-turma", UserName=name)
    return iam.create_access_key(UserName=name)["AccessKey"]


def test_the_whole_tutorial_runs_with_only_the_class_policy(fresh_sandbox, tmp_path, monkeypatch):
    key = student("aluna", POLICY)

    run_as(key, TUTORIAL, tmp_path, monkeypatch)

    for name in TUTORIAL[:-1]:
        assert "Tudo certo" in outputs(tmp_path / f"{name}.ipynb"), name
    assert "Tudo limpo" in outputs(tmp_path / "06-limpeza.ipynb")


def test_without_pass_role_deploying_the_function_stops_with_the_missing_permission(
    fresh_sandbox, tmp_path, monkeypatch
):
    policy = {**POLICY, "Statement": [s for s in POLICY["Statement"] if s["Action"] != "iam:PassRole"]}
    key = student("aluno-sem-passrole", policy)

    with pytest.raises(sandbox.SandboxError, match="02-ingestao-aws") as failed:
        run_as(key, ["02-ingestao-aws"], tmp_path, monkeypatch)

    assert isinstance(failed.value.__cause__, CellExecutionError)
    message = str(failed.value.__cause__)
    assert "AccessDeniedException" in message
    assert (
        "User: arn:aws:iam::123456789012:user/aluno-sem-passrole is not authorized to perform: iam:PassRole "
        "on resource: arn:aws:iam::123456789012:role/telegram-ingestao-role" in message
    )
    # The setup cell made the traceback end with what it means, in Portuguese.
    assert (
        "A AWS negou a permissão iam:PassRole no recurso arn:aws:iam::123456789012:role/telegram-ingestao-role"
        in (outputs(tmp_path / "02-ingestao-aws.ipynb"))
    )
    # Nothing half-made: the function was not created.
    names = {f["FunctionName"] for f in admin("lambda").list_functions()["Functions"]}
    assert "telegram-ingestao" not in names
