"""A learner's group becomes a supergroup mid-course: nothing the class writes afterwards is lost.

End to end on a deployment made by the notebooks: the emulated Telegram migrates the group (its real service
messages and new id), the webhook delivers through API Gateway to the Lambda, whose role is the notebook's
least-privilege one (enforced by the sandbox as AWS would).
"""

from __future__ import annotations

import ast
import json

import nbformat
import pytest

from tutorial.contract import INGESTION_FUNCTION
from tutorial.harness import NOTEBOOKS, deployed_stack

pytestmark = pytest.mark.slow  # deploys the pipeline with the notebooks themselves

TIMEOUT = 120


@pytest.fixture(scope="module")
def stack():
    with deployed_stack() as deployed:
        deployed.set_webhook()
        deployed.wait_until_delivered(TIMEOUT)
        yield deployed


@pytest.fixture(scope="module")
def migrated(stack):
    """The migration, then the class keeps talking; returns (old id, new id, update ids the bot received)."""
    configured = stack.client("lambda").get_function_configuration(FunctionName=INGESTION_FUNCTION)
    result = stack.control("POST", "chat/migrate", {})
    people = [p["first_name"] for p in stack.participants()[:3]]
    later = [stack.post(name, f"depois da migração {n} 👋") for n, name in enumerate(people)]
    later.append(stack.control("POST", "chat/photo", {"from": people[0], "caption": "quadro"})["update_id"])
    stack.wait_until_delivered(TIMEOUT)
    assert result["old_chat_id"] == int(configured["Environment"]["Variables"]["TELEGRAM_CHAT_ID"])
    return result["old_chat_id"], result["new_chat_id"], result["update_ids"] + later


def stored_chats(stack, update_ids: list[int]) -> dict[int, int]:
    """update_id -> chat id of each of these updates found in the raw bucket."""
    s3, found = stack.client("s3"), {}
    for key in stack.raw_keys():
        update_id = int(key.rsplit("/", 1)[1].removesuffix(".json"))
        if update_id in update_ids:
            update = json.loads(s3.get_object(Bucket=stack.raw_bucket, Key=key)["Body"].read())
            found[update_id] = update["message"]["chat"]["id"]
    return found


def test_every_message_after_the_migration_is_stored_with_no_manual_step(stack, migrated):
    old, new, update_ids = migrated

    chats = stored_chats(stack, update_ids)

    assert sorted(chats) == sorted(update_ids)
    assert chats[update_ids[0]] == old  # migrate_to_chat_id, in the old group
    assert {chats[u] for u in update_ids[1:]} == {new}  # the supergroup's first message and all later ones
    # Nothing configured changed: the function still lists only the id notebook 01 found.
    variables = stack.client("lambda").get_function_configuration(FunctionName=INGESTION_FUNCTION)[
        "Environment"
    ]
    assert variables["Variables"]["TELEGRAM_CHAT_ID"] == str(old)
    record = stack.client("s3").get_object(Bucket=stack.raw_bucket, Key=f"estado/migracoes/{new}.json")
    assert json.loads(record["Body"].read()) == {"migrate_from_chat_id": old, "migrate_to_chat_id": new}


def test_new_execution_environments_still_store_the_new_id(stack, migrated):
    _, new, _ = migrated
    lambda_ = stack.client("lambda")
    variables = lambda_.get_function_configuration(FunctionName=INGESTION_FUNCTION)["Environment"][
        "Variables"
    ]
    # A configuration change retires every warm environment, as on AWS: the next ones start cold.
    lambda_.update_function_configuration(
        FunctionName=INGESTION_FUNCTION, Environment={"Variables": {**variables, "LOG_LEVEL": "INFO"}}
    )
    lambda_.get_waiter("function_updated_v2").wait(FunctionName=INGESTION_FUNCTION)

    name = stack.participants()[4]["first_name"]
    update_ids = [stack.post(name, f"depois do cold start {n}") for n in range(3)]
    stack.wait_until_delivered(TIMEOUT)

    assert stored_chats(stack, update_ids) == dict.fromkeys(update_ids, new)


def test_other_chats_are_still_ignored_and_the_lookup_is_allowed_by_the_role(stack, migrated):
    _, new, _ = migrated
    other = {
        "update_id": 990000001,
        "message": {
            "message_id": 7,
            "from": {"id": 6123456789, "is_bot": False, "first_name": "João"},
            "chat": {"id": new - 1, "title": "Outro grupo", "type": "supergroup"},
            "date": 1742224340,
            "text": "isso não é da turma",
        },
    }
    private = stack.post(stack.participants()[5]["first_name"], "oi, bot", private=True)
    stack.wait_until_delivered(TIMEOUT)

    response = stack.send(json.dumps(other))

    assert response.status_code == 200  # looked up (allowed by the role), not found, ignored
    assert not {990000001, private} & set(stack.raw_update_ids())
    ignored = {line["update_id"] for _, line in stack.decisions("ignored")}
    assert {990000001, private} <= ignored


def test_notebook_02_test_update_accepts_a_comma_separated_chat_id():
    """The README still accepts a list in TELEGRAM_CHAT_ID; notebook 02's test update used to do int() on it."""
    cell = next(
        c.source
        for c in nbformat.read(NOTEBOOKS / "02-ingestao-aws.ipynb", 4).cells
        if "test_update = {" in c.source
    )
    assignment = next(
        node
        for node in ast.parse(cell).body
        if isinstance(node, ast.Assign) and node.targets[0].id == "test_update"
    )
    namespace = {"CHAT_ID": "-4420298309, -1001920298309"}

    exec(compile(ast.Module([assignment], []), "02-ingestao-aws", "exec"), namespace)  # noqa: S102

    assert namespace["test_update"]["message"]["chat"]["id"] == -4420298309
