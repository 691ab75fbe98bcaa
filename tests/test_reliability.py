"""No message is lost or duplicated: under load, redeliveries, S3 outages, crashing or hanging invocations,
and in the daily ETL. Everything runs end to end through a learner's deployment in an isolated sandbox:
Telegram's webhook delivery -> API Gateway -> the deployed Lambda -> S3."""

from __future__ import annotations

import io
import itertools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sandbox.aws.layers import pandas_layer_arn
from tests.sandbox.aws_fixtures import ROLE_POLICY
from tutorial.contract import ETL_FUNCTION, ETL_ROLE, INGESTION_FUNCTION, INGESTION_ROLE, log_group
from tutorial.harness import ROOT, Stack, StackError, deployed_stack, zip_files

pytestmark = pytest.mark.slow  # deploys the pipeline with the notebooks themselves

GROUP_WRITERS = 10  # participants writing in the group
PRIVATE_WRITERS = 4  # participants writing privately to the bot: one chat (and one Telegram queue) each


@pytest.fixture(scope="module")
def stack():
    with deployed_stack() as deployed:
        yield deployed


@pytest.fixture
def clean(stack: Stack):
    """No webhook, no pending update, an empty raw bucket and a healthy S3 before each test."""
    stack.s3_faults(fail=False, latency_ms=0)
    stack.set_webhook(url="", drop_pending_updates=True)  # an empty URL deletes the webhook
    stack.empty_raw_bucket()
    yield stack
    stack.s3_faults(fail=False, latency_ms=0)


def write(stack: Stack, group_messages: int, private_messages: int) -> tuple[list[int], dict[int, list[int]]]:
    """The class writes: group update ids in order, and the private chats' update ids per chat."""
    people = stack.participants()
    group = [
        stack.post(people[n % GROUP_WRITERS]["id"], f"Mensagem {n} da turma sobre particionamento")
        for n in range(group_messages)
    ]
    private: dict[int, list[int]] = {}
    for n in range(private_messages):
        person = people[GROUP_WRITERS + n % PRIVATE_WRITERS]["id"]
        private.setdefault(person, []).append(stack.post(person, f"Oi bot, pergunta {n}", private=True))
    assert None not in group and all(None not in ids for ids in private.values())
    return group, private


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise StackError(f"esperando {what}: não aconteceu em {timeout:.0f} s")
        time.sleep(0.2)


def first_seen(stack: Stack, decision: str, ids: set[int]) -> dict[int, int]:
    """update_id -> timestamp of the function's first log line with this decision, for the given ids."""
    seen: dict[int, int] = {}
    for timestamp, line in sorted(stack.decisions(decision), key=lambda item: item[0]):
        if line["update_id"] in ids:
            seen.setdefault(line["update_id"], timestamp)
    return seen


def assert_in_order(update_ids: list[int], timestamps: dict[int, int]) -> None:
    """Every update of a chat was processed after the one before it."""
    assert set(update_ids) <= set(timestamps), set(update_ids) - set(timestamps)
    moments = [timestamps[update_id] for update_id in update_ids]
    # Strictly: a chat's next update is sent only after the previous one was answered (milliseconds later).
    assert all(a < b for a, b in itertools.pairwise(moments)), "a fila do chat foi entregue fora de ordem"


# ---- under load and retries --------------------------------------------------------------------------------
def test_2000_group_updates_from_several_chats_end_as_exactly_2000_objects(clean):
    group, private = write(clean, group_messages=2000, private_messages=120)

    clean.set_webhook(max_connections=40)
    clean.wait_until_delivered(timeout=240)

    stored = clean.raw_update_ids()
    assert len(stored) == 2000 and sorted(stored) == sorted(group)  # none lost, none duplicated
    private_ids = {update_id for ids in private.values() for update_id in ids}
    ignored = {line["update_id"]: line["chat_id"] for _, line in clean.decisions("ignored")}
    assert all(ignored.get(update_id) in private for update_id in private_ids)
    assert "last_error_message" not in clean.bot("getWebhookInfo")  # every answer was a 2xx


def test_update_delivered_three_times_is_stored_once(clean):
    group, _ = write(clean, group_messages=60, private_messages=0)
    bodies = {
        update["update_id"]: json.dumps(update, separators=(",", ":")).encode() for update in clean.pending()
    }
    assert set(group) <= set(bodies)
    # Telegram redelivers an update whose answer it did not get: each one arrives three times, concurrently.
    deliveries = [bodies[update_id] for update_id in group] * 3
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(lambda body: clean.send(body).status_code, deliveries))

    assert statuses == [200] * len(deliveries)
    stored = clean.raw_update_ids()
    assert sorted(stored) == sorted(group)
    s3 = clean.client("s3")
    for key in clean.raw_keys()[:10]:
        update_id = int(key.rsplit("/", 1)[1].removesuffix(".json"))
        assert s3.get_object(Bucket=clean.raw_bucket, Key=key)["Body"].read() == bodies[update_id]


# ---- under faults ------------------------------------------------------------------------------------------
def test_s3_outage_loses_nothing_and_keeps_the_order_of_each_chat(clean):
    group, private = write(clean, group_messages=30, private_messages=16)
    private_ids = {update_id for ids in private.values() for update_id in ids}

    clean.s3_faults(fail=True, status=503)
    clean.set_webhook()
    # Private chats do not touch S3: they flow while the group's queue is stuck on its first update.
    wait_for(lambda: private_ids <= set(first_seen(clean, "ignored", private_ids)), 60, "os chats privados")
    wait_for(lambda: clean.aws_status()["s3"]["failed_requests"] >= 10, 60, "falhas do S3")
    info = clean.bot("getWebhookInfo")
    assert info["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"
    assert info["pending_update_count"] == len(group)  # the whole group queue waits behind its head
    assert not first_seen(clean, "stored", set(group))

    clean.s3_faults(fail=False)
    clean.wait_until_delivered(timeout=120)

    assert sorted(clean.raw_update_ids()) == sorted(group)
    assert_in_order(group, first_seen(clean, "stored", set(group)))
    ignored = first_seen(clean, "ignored", private_ids)
    for ids in private.values():
        assert_in_order(ids, ignored)


CHAOS_SOURCE = '''\
"""Fails one chosen update (crash or timeout) while hold.json exists, otherwise runs the real handler."""
import json
import os
import time

import boto3

import lambda_function

s3 = boto3.client("s3")


def handler(event, context):
    try:
        hold = json.loads(s3.get_object(Bucket=os.environ["CHAOS_BUCKET"], Key="hold.json")["Body"].read())
    except s3.exceptions.NoSuchKey:
        hold = None
    if hold and f'"update_id":{hold["update_id"]},' in (event.get("body") or ""):
        s3.put_object(Bucket=os.environ["CHAOS_BUCKET"], Key=f"attempts/{context.aws_request_id}", Body=b"")
        if hold["mode"] == "crash":
            os._exit(1)
        time.sleep(context.get_remaining_time_in_millis() / 1000 + 5)
    return lambda_function.lambda_handler(event, context)
'''


def deploy_ingestion(stack: Stack, files: dict, handler: str, timeout: int, extra_env: dict) -> None:
    lambda_ = stack.client("lambda")
    lambda_.update_function_code(FunctionName=INGESTION_FUNCTION, ZipFile=zip_files(files))
    lambda_.get_waiter("function_updated_v2").wait(FunctionName=INGESTION_FUNCTION)
    variables = lambda_.get_function_configuration(FunctionName=INGESTION_FUNCTION)["Environment"][
        "Variables"
    ]
    variables = {k: v for k, v in variables.items() if not k.startswith("CHAOS_")} | extra_env
    lambda_.update_function_configuration(
        FunctionName=INGESTION_FUNCTION,
        Handler=handler,
        Timeout=timeout,
        Environment={"Variables": variables},
    )
    lambda_.get_waiter("function_updated_v2").wait(FunctionName=INGESTION_FUNCTION)


@pytest.mark.parametrize("mode", ["crash", "timeout"])
def test_update_that_crashes_or_times_out_is_retried_while_other_chats_flow(clean, mode):
    stack, s3 = clean, clean.client("s3")
    chaos_bucket = f"chaos-{stack.account}"
    s3.create_bucket(Bucket=chaos_bucket, CreateBucketConfiguration={"LocationConstraint": stack.region})
    # The chaos wrapper runs with the ingestion role: on AWS, as here, it needs that bucket in the role too.
    chaos_access = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{chaos_bucket}", f"arn:aws:s3:::{chaos_bucket}/*"],
            }
        ],
    }
    iam = stack.client("iam")
    iam.put_role_policy(RoleName=INGESTION_ROLE, PolicyName="chaos", PolicyDocument=json.dumps(chaos_access))
    source = (ROOT / "lambda_function.py").read_text()
    deploy_ingestion(
        stack,
        {"lambda_function.py": source, "chaos.py": CHAOS_SOURCE},
        "chaos.handler",
        timeout=3,
        extra_env={"CHAOS_BUCKET": chaos_bucket},
    )
    try:
        group, private = write(stack, group_messages=5, private_messages=12)
        private_ids = {update_id for ids in private.values() for update_id in ids}
        doomed = group[1]
        s3.put_object(
            Bucket=chaos_bucket, Key="hold.json", Body=json.dumps({"update_id": doomed, "mode": mode})
        )

        stack.set_webhook()

        def attempts() -> int:
            return s3.list_objects_v2(Bucket=chaos_bucket, Prefix="attempts/").get("KeyCount", 0)

        wait_for(lambda: attempts() >= 2, 60, "duas tentativas do update que falha")
        wait_for(
            lambda: private_ids <= set(first_seen(stack, "ignored", private_ids)), 60, "os chats privados"
        )
        stored_meanwhile = set(first_seen(stack, "stored", set(group)))
        assert stored_meanwhile == {group[0]}  # the failing update holds back only its own chat's queue
        assert "500" in stack.bot("getWebhookInfo")["last_error_message"]

        s3.delete_object(Bucket=chaos_bucket, Key="hold.json")
        stack.wait_until_delivered(timeout=60)

        assert sorted(stack.raw_update_ids()) == sorted(group)
        assert_in_order(group, first_seen(stack, "stored", set(group)))
    finally:
        deploy_ingestion(
            stack,
            {"lambda_function.py": (ROOT / "lambda_function.py").read_text()},
            "lambda_function.lambda_handler",
            timeout=10,
            extra_env={},
        )
        iam.delete_role_policy(RoleName=INGESTION_ROLE, PolicyName="chaos")
        for key in [item["Key"] for item in s3.list_objects_v2(Bucket=chaos_bucket).get("Contents", [])]:
            s3.delete_object(Bucket=chaos_bucket, Key=key)
        s3.delete_bucket(Bucket=chaos_bucket)


# ---- the ETL -----------------------------------------------------------------------------------------------


def etl_policy(stack: Stack) -> dict:
    """Least privilege for the ETL: read raw/telegram/*, write and clean enriched/telegram/*, its own logs."""
    logs = f"arn:aws:logs:{stack.region}:{stack.account}:log-group:{log_group(ETL_FUNCTION)}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{stack.raw_bucket}/telegram/*",
            },
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": f"arn:aws:s3:::{stack.enriched_bucket}/telegram/*",
            },
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": [f"arn:aws:s3:::{stack.raw_bucket}", f"arn:aws:s3:::{stack.enriched_bucket}"],
                "Condition": {"StringLike": {"s3:prefix": "telegram/*"}},
            },
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{logs}:*",
            },
        ],
    }


def deploy_etl(stack: Stack) -> None:
    iam, lambda_ = stack.client("iam"), stack.client("lambda")
    role = iam.create_role(RoleName=ETL_ROLE, AssumeRolePolicyDocument=ROLE_POLICY)
    iam.put_role_policy(
        RoleName=ETL_ROLE,
        PolicyName=f"{ETL_FUNCTION}-policy",
        PolicyDocument=json.dumps(etl_policy(stack)),
    )
    lambda_.create_function(
        FunctionName=ETL_FUNCTION,
        Role=role["Role"]["Arn"],
        Handler="lambda_function.etl_handler",
        Runtime="python3.12",
        Code={"ZipFile": zip_files({"lambda_function.py": (ROOT / "lambda_function.py").read_text()})},
        Layers=[pandas_layer_arn(stack.region)],
        Timeout=300,
        MemorySize=1024,
        Environment={
            "Variables": {
                "AWS_S3_BUCKET": stack.raw_bucket,
                "AWS_S3_ENRICHED": stack.enriched_bucket,
                "TIMEZONE": "America/Sao_Paulo",
            }
        },
    )
    lambda_.get_waiter("function_active_v2").wait(FunctionName=ETL_FUNCTION)


def run_etl(stack: Stack, event: dict) -> dict:
    answer = stack.client("lambda").invoke(FunctionName=ETL_FUNCTION, Payload=json.dumps(event))
    payload = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, payload
    return payload


def enriched_rows(stack: Stack) -> dict[str, object]:
    """Every Parquet object of the enriched bucket, read back with pyarrow."""
    s3 = stack.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=stack.enriched_bucket, Prefix="telegram/")
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    return {
        key: pq.read_table(io.BytesIO(s3.get_object(Bucket=stack.enriched_bucket, Key=key)["Body"].read()))
        for key in keys
    }


def test_etl_skips_and_reports_a_corrupt_object_and_reruns_leave_the_same_rows(clean):
    stack = clean
    group, _ = write(stack, group_messages=40, private_messages=4)
    stack.set_webhook()
    stack.wait_until_delivered(timeout=60)
    days = sorted({key.split("/")[1].removeprefix("context_date=") for key in stack.raw_keys()})
    corrupt = f"telegram/context_date={days[0]}/999999999.json"
    stack.client("s3").put_object(
        Bucket=stack.raw_bucket, Key=corrupt, Body=b'{"update_id": 999999999, "mess'
    )
    deploy_etl(stack)
    event = {"start_date": days[0], "end_date": days[-1]}

    summaries = [run_etl(stack, event)]
    first = enriched_rows(stack)
    for _ in range(2):  # three runs in all
        summaries.append(run_etl(stack, event))
        assert enriched_rows(stack).keys() == first.keys()
        assert all(enriched_rows(stack)[key].equals(table) for key, table in first.items())
    with ThreadPoolExecutor(max_workers=2) as pool:  # two runs at once
        summaries += list(pool.map(lambda _: run_etl(stack, event), range(2)))
    last = enriched_rows(stack)

    for summary in summaries:
        assert [item["key"] for item in summary["skipped"]] == [corrupt]
        assert "JSON inválido" in summary["skipped"][0]["reason"]
        assert summary["rows_written"] == len(group)
    assert last.keys() == first.keys() and len(first) == len(days)
    assert all(last[key].equals(table) for key, table in first.items())
    update_ids = sorted(id_ for table in last.values() for id_ in table.column("update_id").to_pylist())
    assert update_ids == sorted(group)


def test_etl_without_the_pandas_layer_fails_loudly(clean):
    """Faithful to AWS: pyarrow is not in the Lambda runtime, so the ETL needs the AWSSDKPandas layer."""
    stack = clean
    stack.client("s3").put_object(
        Bucket=stack.raw_bucket,
        Key="telegram/context_date=2025-03-17/1.json",
        Body=Path(ROOT / "tests/events/updates/text_with_entities.json").read_bytes(),
    )
    lambda_, iam = stack.client("lambda"), stack.client("iam")
    # The ETL's own least-privilege role: with the ingestion role it would stop earlier, at AccessDenied.
    role = iam.create_role(RoleName="telegram-etl-sem-layer-role", AssumeRolePolicyDocument=ROLE_POLICY)
    iam.put_role_policy(
        RoleName="telegram-etl-sem-layer-role",
        PolicyName="etl",
        PolicyDocument=json.dumps(etl_policy(stack)),
    )
    lambda_.create_function(
        FunctionName="telegram-etl-sem-layer",
        Role=role["Role"]["Arn"],
        Handler="lambda_function.etl_handler",
        Runtime="python3.12",
        Code={"ZipFile": zip_files({"lambda_function.py": (ROOT / "lambda_function.py").read_text()})},
        Timeout=60,
        Environment={
            "Variables": {"AWS_S3_BUCKET": stack.raw_bucket, "AWS_S3_ENRICHED": stack.enriched_bucket}
        },
    )
    lambda_.get_waiter("function_active_v2").wait(FunctionName="telegram-etl-sem-layer")
    answer = lambda_.invoke(FunctionName="telegram-etl-sem-layer", Payload=json.dumps({"date": "2025-03-17"}))
    payload = json.loads(answer["Payload"].read())
    assert answer.get("FunctionError") == "Unhandled"
    assert "AWSSDKPandas" in payload["errorMessage"]
