"""AWS's authorization errors and the tutorial's own errors show in a notebook as one short pt-BR block."""

from __future__ import annotations

import nbformat
import pytest
from botocore.exceptions import ClientError
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tutorial.permissions import hint

USER = "arn:aws:iam::123456789012:user/aluna"
ROLE = "arn:aws:iam::123456789012:role/telegram-etl-role"


def client_error(code: str, message: str, operation: str = "CreateFunction") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize(
    ("code", "message", "action", "resource"),
    [
        (
            "AccessDeniedException",
            f"User: {USER} is not authorized to perform: iam:PassRole on resource: {ROLE} because no "
            "identity-based policy allows the iam:PassRole action",
            "iam:PassRole",
            ROLE,
        ),
        (  # S3 quotes the resource
            "AccessDenied",
            f'User: {USER} is not authorized to perform: s3:CreateBucket on resource: "arn:aws:s3:::telegram-x" '
            "because no identity-based policy allows the s3:CreateBucket action",
            "s3:CreateBucket",
            "arn:aws:s3:::telegram-x",
        ),
    ],
)
def test_a_denial_names_the_missing_permission_and_the_class_policy(code, message, action, resource):
    text = hint(client_error(code, message))
    assert f"A AWS negou a permissão {action} no recurso {resource}: nenhuma política permite" in text
    assert "iam/politica-da-turma.json" in text


def test_an_explicit_deny_is_told_apart():
    message = f"User: {USER} is not authorized to perform: s3:DeleteBucket on resource: \"arn:aws:s3:::b\" with an explicit deny in an identity-based policy"  # fmt: skip
    assert "uma política nega explicitamente" in hint(client_error("AccessDenied", message))


def test_an_unknown_key_is_explained_and_other_errors_are_left_alone():
    bad_key = client_error("InvalidClientTokenId", "The security token included in the request is invalid.")
    assert hint(bad_key).startswith("A AWS não reconheceu as suas credenciais")
    assert hint(client_error("ResourceNotFoundException", "Function not found")) is None
    assert hint(KeyError("x")) is None


def test_a_failing_cell_keeps_failing_and_ends_with_the_explanation():
    denial = f"User: {USER} is not authorized to perform: iam:PassRole on resource: {ROLE} because no identity-based policy allows the iam:PassRole action"  # fmt: skip
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "from tutorial.permissions import explain_access_denied\nexplain_access_denied()"
        ),
        nbformat.v4.new_code_cell(
            "from botocore.exceptions import ClientError\n"
            f'raise ClientError({{"Error": {{"Code": "AccessDeniedException", "Message": "{denial}"}}}}, "CreateFunction")'
        ),
    ]
    with pytest.raises(CellExecutionError) as failed:
        NotebookClient(notebook, kernel_name="python3", timeout=120).execute()

    assert "A AWS negou a permissão iam:PassRole" in str(failed.value)
    [error] = notebook.cells[1].outputs
    assert error["output_type"] == "error" and error["ename"] == "ClientError"
    assert "iam/politica-da-turma.json" in error["traceback"][-1]
    assert len(error["traceback"]) == 1 and "Traceback" not in error["traceback"][0]  # no internal paths


def test_the_tutorials_own_error_is_one_block_and_an_unexpected_one_keeps_its_traceback():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell('import tutorial\ntutorial.configure("01", "produção")'),
        nbformat.v4.new_code_cell("{}['chave']"),
    ]
    client = NotebookClient(notebook, kernel_name="python3", timeout=120, allow_errors=True)
    client.execute()

    [configuration] = notebook.cells[0].outputs
    assert configuration["ename"] == "ConfigurationError"
    [block] = configuration["traceback"]
    assert "Configuração" in block and "AMBIENTE='produção' não é um ambiente conhecido" in block
    assert "setup.py" not in block and "Traceback" not in block
    [unexpected] = notebook.cells[1].outputs
    assert unexpected["ename"] == "KeyError" and len(unexpected["traceback"]) > 1
