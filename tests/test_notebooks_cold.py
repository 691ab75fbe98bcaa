"""A learner opens any notebook cold (fresh kernel, fresh sandbox) or runs one again: both must just work."""

from __future__ import annotations

import json

import boto3
import nbformat
import pytest

import sandbox
from tutorial import runner
from tutorial.harness import isolated_sandbox

pytestmark = pytest.mark.slow  # deploys the pipeline with the notebooks themselves


@pytest.fixture(scope="module")
def fresh_sandbox():
    with isolated_sandbox():
        yield


def aws(service: str):
    # The suite's autouse fixture removes AWS_ENDPOINT_URL from each test: point the client explicitly.
    return boto3.client(service, endpoint_url=sandbox.env()["AWS_ENDPOINT_URL"])


def last_output(path) -> str:
    """The notebook's verdict: its last "Tudo ..." line (its Desafios, unanswered, come after it)."""
    cells = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    lines = "".join(output.get("text", "") for cell in cells for output in cell.outputs).splitlines()
    return next((line for line in reversed(lines) if line.startswith("Tudo ")), "")


def test_analysis_notebook_opened_cold_rebuilds_what_earlier_notebooks_leave(fresh_sandbox, tmp_path):
    # Nothing exists yet: the setup cell of 05 must run 01-04 headless before its own cells.
    runner.run_notebooks(["05-analise"], output_dir=tmp_path)

    assert "Tudo certo" in last_output(tmp_path / "05-analise.ipynb")
    names = {f["FunctionName"] for f in aws("lambda").list_functions()["Functions"]}
    assert {"telegram-ingestao", "telegram-etl"} <= names


def test_running_notebooks_again_updates_instead_of_duplicating(fresh_sandbox, tmp_path):
    runner.run_notebooks(["02-ingestao-aws", "04-etl", "05-analise"], output_dir=tmp_path)

    apigw = aws("apigatewayv2")
    apis = [api for api in apigw.get_apis()["Items"] if api["Name"] == "telegram-webhook"]
    assert len(apis) == 1
    assert len(apigw.get_routes(ApiId=apis[0]["ApiId"])["Items"]) == 1
    assert len(apigw.get_integrations(ApiId=apis[0]["ApiId"])["Items"]) == 1
    policy = json.loads(aws("lambda").get_policy(FunctionName="telegram-ingestao")["Policy"])
    assert [statement["Sid"] for statement in policy["Statement"]] == [f"apigateway-{apis[0]['ApiId']}"]
    assert len(aws("scheduler").list_schedules()["Schedules"]) == 1
    for name in ("02-ingestao-aws", "04-etl", "05-analise"):
        assert "Tudo certo" in last_output(tmp_path / f"{name}.ipynb")


def test_teardown_twice_is_harmless(fresh_sandbox, tmp_path):
    runner.run_notebooks(["06-limpeza"], output_dir=tmp_path / "first")
    runner.run_notebooks(["06-limpeza"], output_dir=tmp_path / "second")

    assert "Tudo limpo" in last_output(tmp_path / "second" / "06-limpeza.ipynb")
    assert "já não existia" in "".join(
        output.get("text", "")
        for cell in nbformat.read(tmp_path / "second" / "06-limpeza.ipynb", as_version=4).cells
        for output in cell.get("outputs", [])
    )
