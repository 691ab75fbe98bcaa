"""A function's S3 requests are limited by its execution role, as on AWS (moto alone allows everything)."""

from __future__ import annotations

import json

import pytest

from sandbox.aws.iam_policy import Check, evaluate, s3_checks
from tests.sandbox.aws_fixtures import (
    REGION,
    ROLE_POLICY,
    create_function,
    create_role,
    invoke,
    start_sandbox,
    stop_sandbox,
)
from tutorial.harness import zip_files

RAW = "telegram-123456789012-sa-east-1-raw"
ENRICHED = "telegram-123456789012-sa-east-1-enriched"
# The ETL role of notebook 04, as a learner writes it.
ETL_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": [f"arn:aws:s3:::{RAW}", f"arn:aws:s3:::{ENRICHED}"],
            "Condition": {"StringLike": {"s3:prefix": ["telegram/*"]}},
        },
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{RAW}/telegram/*"},
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:DeleteObject"],
            "Resource": f"arn:aws:s3:::{ENRICHED}/telegram/*",
        },
    ],
}
DAY = "telegram/context_date=2025-03-17/"


def outcome(
    method: str, bucket: str, key: str = "", query: dict | None = None, headers=None, body=b""
) -> set:
    checks = s3_checks(method, bucket, key, query or {}, headers or {}, body)
    return {evaluate([ETL_POLICY], check) for check in checks}


@pytest.mark.parametrize(
    ("method", "bucket", "key", "query", "expected"),
    [
        ("GET", RAW, "", {"list-type": "2", "prefix": DAY}, "allow"),  # the ETL lists one day
        ("GET", ENRICHED, "", {"list-type": "2", "prefix": DAY}, "allow"),  # and cleans its output
        ("GET", RAW, "", {"list-type": "2", "prefix": DAY, "delimiter": "/"}, "allow"),
        ("GET", RAW, "", {"list-type": "2"}, "implicit"),  # no prefix: s3:prefix is "" and does not match
        ("GET", RAW, "", {"list-type": "2", "prefix": "outra/"}, "implicit"),
        ("GET", RAW, f"{DAY}1.json", {}, "allow"),
        ("HEAD", RAW, f"{DAY}1.json", {}, "allow"),
        ("GET", ENRICHED, f"{DAY}part-0.parquet", {}, "implicit"),  # the ETL never reads its output
        ("PUT", ENRICHED, f"{DAY}part-0.parquet", {}, "allow"),
        ("DELETE", ENRICHED, f"{DAY}part-1.parquet", {}, "allow"),
        ("PUT", RAW, f"{DAY}1.json", {}, "implicit"),  # the raw layer is read-only for the ETL
        ("DELETE", RAW, f"{DAY}1.json", {}, "implicit"),
        ("PUT", ENRICHED, "outro/arquivo.parquet", {}, "implicit"),
        ("PUT", RAW, "", {}, "implicit"),  # CreateBucket
    ],
)
def test_etl_role_allows_exactly_what_the_etl_does(method, bucket, key, query, expected):
    assert outcome(method, bucket, key, query) == {expected}


def test_copy_needs_read_on_the_source_too():
    headers = {"x-amz-copy-source": f"/{ENRICHED}/{DAY}part-0.parquet"}
    assert outcome("PUT", ENRICHED, f"{DAY}copia.parquet", headers=headers) == {"allow", "implicit"}


def test_delete_objects_is_checked_per_key():
    body = (
        f"<Delete><Object><Key>{DAY}a.parquet</Key></Object><Object><Key>fora/b.parquet</Key></Object></Delete>"
    ).encode()
    assert outcome("POST", ENRICHED, query={"delete": ""}, body=body) == {"allow", "implicit"}


def test_deleting_a_version_in_delete_objects_needs_delete_object_version():
    body = (
        f"<Delete><Object><Key>{DAY}a.parquet</Key><VersionId>3HL4kqtJlcpXroDTDmJ</VersionId></Object></Delete>"
    ).encode()
    checks = s3_checks("POST", ENRICHED, "", {"delete": ""}, {}, body)
    assert [(c.action, c.resource) for c in checks] == [
        ("s3:DeleteObjectVersion", f"arn:aws:s3:::{ENRICHED}/{DAY}a.parquet")
    ]
    assert evaluate([ETL_POLICY], checks[0]) == "implicit"  # s3:DeleteObject does not cover versions


def test_explicit_deny_wins_over_an_allow():
    deny = {"Statement": [{"Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}]}
    check = Check("s3:DeleteObject", f"arn:aws:s3:::{ENRICHED}/{DAY}part-1.parquet")
    assert evaluate([ETL_POLICY], check) == "allow"
    assert evaluate([ETL_POLICY, deny], check) == "explicit"


def test_actions_match_without_case_and_resources_with_case():
    policy = {
        "Statement": {"Effect": "Allow", "Action": "S3:getobject", "Resource": "arn:aws:s3:::b/Dados/*"}
    }
    assert evaluate([policy], Check("s3:GetObject", "arn:aws:s3:::b/Dados/x")) == "allow"
    assert evaluate([policy], Check("s3:GetObject", "arn:aws:s3:::b/dados/x")) == "implicit"


def test_not_action_and_if_exists_conditions():
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "NotAction": "s3:Delete*",
                "Resource": "*",
                "Condition": {"StringLikeIfExists": {"s3:prefix": "telegram/*"}},
            }
        ]
    }
    assert evaluate([policy], Check("s3:GetObject", "arn:aws:s3:::b/k")) == "allow"
    assert evaluate([policy], Check("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "x/"})) == "implicit"
    assert evaluate([policy], Check("s3:DeleteObject", "arn:aws:s3:::b/k")) == "implicit"


# ---- through a running sandbox: a function with a least-privilege role -------------------------------------
PROBE = """
import boto3
from botocore.exceptions import ClientError

s3 = boto3.client("s3")


def lambda_handler(event, context):
    results = []
    for operation, params in event["calls"]:
        try:
            getattr(s3, operation)(**params)
            results.append("ok")
        except ClientError as error:
            results.append(error.response["Error"]["Code"] + ": " + error.response["Error"].get("Message", ""))
    return results
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    running = start_sandbox(tmp_path_factory.mktemp("sandbox-iam"))
    s3 = running.client("s3")
    for bucket in (RAW, ENRICHED):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=RAW, Key=f"{DAY}1.json", Body=b"{}")
    create_role(running)
    running.client("iam").put_role_policy(
        RoleName="lambda-role", PolicyName="etl", PolicyDocument=json.dumps(ETL_POLICY)
    )
    create_function(running, "probe", PROBE)
    yield running
    stop_sandbox(running)


def calls(sandbox, *requests) -> list[str]:
    response, payload = invoke(sandbox, "probe", {"calls": [list(request) for request in requests]})
    assert response.get("FunctionError") is None, payload
    return payload


def test_function_can_do_what_its_role_allows(sandbox):
    assert (
        calls(
            sandbox,
            ("list_objects_v2", {"Bucket": RAW, "Prefix": DAY}),
            ("get_object", {"Bucket": RAW, "Key": f"{DAY}1.json"}),
            ("put_object", {"Bucket": ENRICHED, "Key": f"{DAY}part-0.parquet", "Body": "x"}),
            ("delete_object", {"Bucket": ENRICHED, "Key": f"{DAY}part-0.parquet"}),
        )
        == ["ok"] * 4
    )


def test_function_gets_access_denied_for_what_its_role_does_not_allow(sandbox):
    results = calls(
        sandbox,
        ("put_object", {"Bucket": RAW, "Key": f"{DAY}2.json", "Body": "{}"}),
        ("list_objects_v2", {"Bucket": RAW}),
        ("delete_object", {"Bucket": RAW, "Key": f"{DAY}1.json"}),
    )
    assert [result.split(":")[0] for result in results] == ["AccessDenied"] * 3
    assert results[0] == (
        "AccessDenied: User: arn:aws:sts::123456789012:assumed-role/lambda-role/probe is not authorized to "
        f'perform: s3:PutObject on resource: "arn:aws:s3:::{RAW}/{DAY}2.json" because no identity-based '
        "policy allows the s3:PutObject action"
    )
    s3 = sandbox.client("s3")  # nothing was written or deleted
    assert [item["Key"] for item in s3.list_objects_v2(Bucket=RAW)["Contents"]] == [f"{DAY}1.json"]


def test_a_role_policy_change_applies_to_the_running_function(sandbox):
    iam = sandbox.client("iam")
    key = "extra/nota.txt"
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{RAW}/extra/*"}
        ],
    }
    assert calls(sandbox, ("put_object", {"Bucket": RAW, "Key": key, "Body": "1"}))[0].startswith(
        "AccessDenied"
    )
    iam.put_role_policy(RoleName="lambda-role", PolicyName="extra", PolicyDocument=json.dumps(grant))
    try:
        assert calls(sandbox, ("put_object", {"Bucket": RAW, "Key": key, "Body": "1"})) == ["ok"]
    finally:
        iam.delete_role_policy(RoleName="lambda-role", PolicyName="extra")


def test_a_missing_key_is_access_denied_unless_the_role_may_list_the_bucket(sandbox):
    # On AWS, GetObject/HeadObject of a key that does not exist answer 404 only to who holds s3:ListBucket on
    # the bucket; code that treats NoSuchKey as "absent" gets 403 AccessDenied with s3:GetObject alone.
    missing = {"Bucket": RAW, "Key": f"{DAY}nao-existe.json"}
    assert calls(sandbox, ("get_object", missing), ("head_object", missing)) == [
        "AccessDenied: Access Denied",
        "403: Forbidden",
    ]
    assert calls(sandbox, ("get_object", {"Bucket": RAW, "Key": f"{DAY}1.json"})) == ["ok"]  # present: fine

    iam = sandbox.client("iam")
    grant = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{RAW}"}],
    }
    iam.put_role_policy(RoleName="lambda-role", PolicyName="list", PolicyDocument=json.dumps(grant))
    try:
        assert calls(sandbox, ("get_object", missing), ("head_object", missing)) == [
            "NoSuchKey: The specified key does not exist.",
            "404: Not Found",
        ]
    finally:
        iam.delete_role_policy(RoleName="lambda-role", PolicyName="list")


def test_learners_own_credentials_are_not_limited_by_any_role(sandbox):
    s3 = sandbox.client("s3")
    s3.put_object(Bucket=RAW, Key="livre/arquivo.txt", Body=b"ok")
    assert s3.get_object(Bucket=RAW, Key="livre/arquivo.txt")["Body"].read() == b"ok"
    s3.delete_object(Bucket=RAW, Key="livre/arquivo.txt")


# ---- logs: Lambda writes them with the function's role ----------------------------------------------------
HELLO = "def lambda_handler(event, context):\n    print('oi')\n    return 'ok'\n"


def logs_policy(create_group_resource: str) -> dict:
    group = "arn:aws:logs:sa-east-1:123456789012:log-group:/aws/lambda/{name}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": create_group_resource},
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{group}:*",
            },
        ],
    }


@pytest.mark.parametrize(
    ("name", "create_group_resource", "logged"),
    [
        ("com-logs", "arn:aws:logs:sa-east-1:123456789012:log-group:/aws/lambda/com-logs:*", True),
        # The log group's ARN without ":*" does not match what CloudWatch Logs authorizes: no logs on AWS.
        (
            "arn-sem-curinga",
            "arn:aws:logs:sa-east-1:123456789012:log-group:/aws/lambda/arn-sem-curinga",
            False,
        ),
        ("sem-logs", "arn:aws:logs:sa-east-1:123456789012:log-group:/aws/lambda/outra-funcao:*", False),
    ],
)
def test_function_logs_need_the_logs_permissions_of_its_role(sandbox, name, create_group_resource, logged):
    iam, lambda_ = sandbox.client("iam"), sandbox.client("lambda")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
    policy = json.dumps(logs_policy(create_group_resource)).replace("{name}", name)
    iam.put_role_policy(RoleName=f"{name}-role", PolicyName="logs", PolicyDocument=policy)
    lambda_.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": zip_files({"lambda_function.py": HELLO})},
    )
    lambda_.get_waiter("function_active_v2").wait(FunctionName=name)
    response, payload = invoke(sandbox, name)
    assert payload == "ok"  # the function runs either way: lost logs do not fail an invocation
    groups = sandbox.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
    assert bool(groups) is logged
