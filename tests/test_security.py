"""Strangers cannot write into the bucket, nothing is public, permissions are least privilege, and neither the
bot token nor the webhook secret leaks into notebooks, logs or the repository.

Checked on a learner's deployment made by the notebooks themselves in an isolated sandbox. The secret's
constant-time comparison is tested on the handler itself: tests/test_ingestion.py
(test_secret_is_compared_in_constant_time).
"""

from __future__ import annotations

import fnmatch
import json
import random
import re
import string

import nbformat
import pytest
from botocore.exceptions import ClientError

from tutorial.contract import (
    FUNCTIONS,
    INGESTION_FUNCTION,
    INGESTION_ROLE,
    ROLES,
    SCHEDULE,
    SCHEDULER_ROLE,
    SECRET_HEADER,
    log_group,
)
from tutorial.harness import (
    BOT_TOKEN_SHAPE,
    NOTEBOOKS,
    ROOT,
    Stack,
    deployed_stack,
    repository_files,
    run_notebook,
)

pytestmark = pytest.mark.slow  # deploys the pipeline with the notebooks themselves

PUBLIC_GROUPS = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)


@pytest.fixture(scope="module")
def stack():
    # Up to the analysis: the ingestion, ETL and scheduler roles and all three buckets exist.
    with deployed_stack(upto="06") as deployed:
        yield deployed


@pytest.fixture(scope="module")
def executed(stack: Stack, tmp_path_factory):
    """Notebooks 02 and 03 run again headless on this deployment (03 sets the webhook; the class writes)."""
    folder = tmp_path_factory.mktemp("notebooks")
    return [run_notebook(name, folder) for name in ("02-ingestao-aws", "03-webhook")]


def update(stack: Stack, update_id: int) -> bytes:
    body = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": {"id": 1838973877, "is_bot": False, "first_name": "Ana"},
            "chat": {"id": stack.group_id, "title": "Turma de Engenharia de Dados", "type": "supergroup"},
            "date": 1742223600,
            "text": "Quem vai na monitoria hoje às 19h?",
        },
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


# ---- the secret token ----------------------------------------------------------------------------------------
def test_deployed_function_requires_the_secret_token(stack):
    key = "telegram/context_date=2025-03-17/{}.json"
    missing = stack.send(update(stack, 801), secret=None)
    wrong = stack.send(
        update(stack, 802), secret=stack.secret[:-1] + ("A" if stack.secret[-1] != "A" else "B")
    )
    right = stack.send(update(stack, 803))

    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 403, 200)
    keys = set(stack.raw_keys())
    assert key.format(803) in keys
    assert not {key.format(801), key.format(802)} & keys


def test_secret_token_is_strong_and_valid_for_telegram(stack):
    # setWebhook accepts 1-256 characters of A-Z, a-z, 0-9, _ and -; 32 random bytes give 43 of them.
    assert 43 <= len(stack.secret) <= 256
    assert set(stack.secret) <= set(string.ascii_letters + string.digits + "_-")
    source = "\n".join(cell.source for cell in nbformat.read(NOTEBOOKS / "02-ingestao-aws.ipynb", 4).cells)
    assert "secrets.token_urlsafe(" in source  # a CSPRNG, never a fixed value in the code
    assert stack.secret not in source


# ---- IAM -----------------------------------------------------------------------------------------------------
def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def policy_violations(
    document: dict, *, region: str, account: str, functions: list[str], buckets: list[str]
) -> list[str]:
    """What makes a role's policy broader than the pipeline needs; empty when it is least privilege.

    Allowed wildcards: the role's functions' own log groups (`...:log-group:/aws/lambda/<name>:*`) and objects
    under `telegram/` (the data), `quarentena/` (signed requests that are not an update) or `estado/migracoes/`
    (the ingestion's record of a group's new id) of the tutorial's buckets. S3 buckets themselves only for listing.
    """
    log_groups = [f"arn:aws:logs:{region}:{account}:log-group:{log_group(name)}" for name in functions]
    allowed_logs = set(log_groups) | {f"{arn}:*" for arn in log_groups}
    problems = []
    for statement in as_list(document.get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        actions = as_list(statement.get("Action", []))
        if "NotAction" in statement or "NotResource" in statement:
            problems.append(f"NotAction/NotResource: {statement}")
        for action in actions:
            if "*" in action:
                problems.append(f"ação com curinga: {action}")
        for resource in as_list(statement.get("Resource", [])):
            if resource.startswith("arn:aws:logs:"):
                if resource not in allowed_logs:
                    problems.append(f"log fora do log group da função: {resource}")
            elif resource.startswith("arn:aws:lambda:"):
                if resource not in {f"arn:aws:lambda:{region}:{account}:function:{n}" for n in FUNCTIONS}:
                    problems.append(f"função inesperada: {resource}")
            elif resource.startswith("arn:aws:s3:::"):
                bucket, _, key = resource.removeprefix("arn:aws:s3:::").partition("/")
                if bucket not in buckets:
                    problems.append(f"bucket inesperado: {resource}")
                elif key and not key.startswith(("telegram/", "quarentena/", "estado/migracoes/")):
                    problems.append(f"objetos fora de telegram/: {resource}")
                elif not key and set(actions) - {"s3:ListBucket"}:
                    problems.append(f"o bucket inteiro para {actions}: {resource}")
            else:
                problems.append(f"recurso inesperado: {resource}")
    return problems


def role_documents(stack: Stack) -> dict[str, list[dict]]:
    """Every role of the account with all its policy documents (inline and attached), read back from IAM."""
    iam = stack.client("iam")
    roles = {}
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            name, documents = role["RoleName"], []
            for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                documents.append(iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"])
            for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
                policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
                version = iam.get_policy_version(
                    PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
                )
                documents.append(version["PolicyVersion"]["Document"])
            roles[name] = [json.loads(d) if isinstance(d, str) else d for d in documents]
    return roles


def functions_by_role(stack: Stack) -> dict[str, list[str]]:
    by_role: dict[str, list[str]] = {}
    for page in stack.client("lambda").get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            by_role.setdefault(function["Role"].rsplit("/", 1)[1], []).append(function["FunctionName"])
    return by_role


def tutorial_buckets(stack: Stack) -> list[str]:
    return [stack.raw_bucket, stack.enriched_bucket, stack.raw_bucket.removesuffix("-raw") + "-athena"]


def test_every_role_the_notebooks_create_is_least_privilege(stack):
    roles = role_documents(stack)
    by_role = functions_by_role(stack)
    assert set(ROLES) <= set(roles)
    for name, documents in roles.items():
        assert documents, f"{name}: papel sem política"
        for document in documents:
            problems = policy_violations(
                document,
                region=stack.region,
                account=stack.account,
                functions=by_role.get(name, []),
                buckets=tutorial_buckets(stack),
            )
            assert problems == [], f"{name}: {problems}"


def test_ingestion_role_can_only_put_raw_objects_record_migrations_and_write_its_logs(stack):
    (document,) = role_documents(stack)[INGESTION_ROLE]
    grants = {
        (action, resource, json.dumps(s.get("Condition"), sort_keys=True))
        for s in document["Statement"]
        for action in as_list(s["Action"])
        for resource in as_list(s["Resource"])
    }
    raw, no_condition = f"arn:aws:s3:::{stack.raw_bucket}", "null"
    s3_grants = {grant for grant in grants if grant[0].startswith("s3:")}
    # It never reads or lists the messages; it lists only the one prefix where a group's new id is recorded.
    assert s3_grants == {
        ("s3:PutObject", f"{raw}/telegram/*", no_condition),
        ("s3:PutObject", f"{raw}/quarentena/*", no_condition),
        ("s3:PutObject", f"{raw}/estado/migracoes/*", no_condition),
        ("s3:GetObject", f"{raw}/estado/migracoes/*", no_condition),
        ("s3:ListBucket", raw, json.dumps({"StringLike": {"s3:prefix": "estado/migracoes/*"}})),
    }
    trust = stack.client("iam").get_role(RoleName=INGESTION_ROLE)["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ({"Action": "s3:*", "Resource": "arn:aws:s3:::{raw}/telegram/*"}, "ação com curinga"),
        ({"Action": "s3:PutObject", "Resource": "*"}, "recurso inesperado"),
        ({"Action": "s3:PutObject", "Resource": "arn:aws:s3:::{raw}/*"}, "objetos fora de telegram/"),
        ({"Action": "s3:GetObject", "Resource": "arn:aws:s3:::outro-bucket/telegram/*"}, "bucket inesperado"),
        ({"Action": "s3:DeleteBucket", "Resource": "arn:aws:s3:::{raw}"}, "o bucket inteiro"),
        (
            {"Action": "logs:PutLogEvents", "Resource": "arn:aws:logs:sa-east-1:123456789012:log-group:*"},
            "log fora",
        ),
    ],
)
def test_the_privilege_check_catches_broad_policies(stack, statement, problem):
    statement = {k: v.replace("{raw}", stack.raw_bucket) for k, v in statement.items()} | {"Effect": "Allow"}
    problems = policy_violations(
        {"Statement": [statement]},
        region=stack.region,
        account=stack.account,
        functions=[INGESTION_FUNCTION],
        buckets=tutorial_buckets(stack),
    )
    assert any(problem in text for text in problems), problems


# ---- nothing public ------------------------------------------------------------------------------------------
def test_only_this_accounts_schedules_may_assume_the_scheduler_role(stack):
    """The confused-deputy guard AWS recommends: the Scheduler acts for this account's schedules only."""
    trust = stack.client("iam").get_role(RoleName=SCHEDULER_ROLE)["Role"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": stack.account}}
    schedule = stack.client("scheduler").get_schedule(Name=SCHEDULE)
    assert schedule["Target"]["RoleArn"].endswith(f":role/{SCHEDULER_ROLE}")  # and it was accepted


def test_every_bucket_blocks_public_access(stack):
    s3 = stack.client("s3")
    buckets = [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
    assert set(tutorial_buckets(stack)) <= set(buckets)
    for bucket in buckets:
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert block == dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
        ), bucket
        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        except ClientError as error:
            assert error.response["Error"]["Code"] == "NoSuchBucketPolicy"
        else:
            for statement in as_list(policy["Statement"]):
                assert not (
                    statement.get("Effect") == "Allow" and statement.get("Principal") in ("*", {"AWS": "*"})
                )
        for grant in s3.get_bucket_acl(Bucket=bucket)["Grants"]:
            assert grant["Grantee"].get("URI") not in PUBLIC_GROUPS, bucket


def test_only_the_webhook_api_may_invoke_the_function(stack):
    policy = json.loads(stack.client("lambda").get_policy(FunctionName=INGESTION_FUNCTION)["Policy"])
    for statement in policy["Statement"]:
        assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
        source = statement["Condition"]["ArnLike"]["AWS:SourceArn"]
        assert fnmatch.fnmatchcase(
            f"arn:aws:execute-api:{stack.region}:{stack.account}:{stack.api_id}/$default/POST/webhook", source
        )
        assert f":{stack.api_id}/" in source
    # No second, unauthenticated way in: the function has no Function URL.
    with pytest.raises(ClientError) as raised:
        stack.client("lambda").get_function_url_config(FunctionName=INGESTION_FUNCTION)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


# ---- no leak -------------------------------------------------------------------------------------------------
def notebook_text(path) -> str:
    return path.read_text(encoding="utf-8")


def test_no_token_or_secret_in_the_outputs_of_notebooks_run_on_this_deployment(stack, executed):
    for path in executed:
        text = notebook_text(path)
        assert stack.token not in text, path.name
        assert stack.secret not in text, path.name
        assert stack.token.split(":")[1] not in text, path.name  # not even the token's secret half


def test_function_logs_after_traffic_hold_no_secret_token_or_message_text(stack, executed):
    s3 = stack.client("s3")
    keys = stack.raw_keys()
    assert len(keys) >= 5  # notebook 03 delivered the class conversation
    texts = set()
    for key in keys:
        stored = json.loads(s3.get_object(Bucket=stack.raw_bucket, Key=key)["Body"].read())
        payload = next(value for name, value in stored.items() if name != "update_id")
        text = payload.get("text") or payload.get("caption")
        if text and len(text) >= 12:
            texts.add(text)
    assert texts
    logs = stack.client("logs")
    groups = [group["logGroupName"] for group in logs.describe_log_groups()["logGroups"]]
    assert log_group(INGESTION_FUNCTION) in groups
    lines = [message for group in groups for _, message in stack.function_log_messages(group)]
    assert any('"decision": "stored"' in line for line in lines)
    everything = "\n".join(lines)
    assert stack.secret not in everything
    assert stack.token.split(":")[1] not in everything
    leaked = [text for text in texts if text in everything or json.dumps(text)[1:-1] in everything]
    assert leaked == []


def is_placeholder(token: str) -> bool:
    # Tests use well-formed fake tokens ("1234567890:AAAA...", "...:AAsandboxsandbox..."): a real token's 35
    # random characters hold ~27 distinct ones, and fewer than 16 happens with negligible probability.
    return len(set(token.split(":")[1])) < 16


def test_no_bot_token_or_secret_in_the_repository(stack):
    files = repository_files()
    assert any(path.name == "lambda_function.py" for path in files)
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        found = [token for token in BOT_TOKEN_SHAPE.findall(text) if not is_placeholder(token)]
        assert found == [], f"{path.relative_to(ROOT)}: algo com cara de token de bot"
        assert stack.token.split(":")[1] not in text, path.relative_to(ROOT)
        assert stack.secret not in text, path.relative_to(ROOT)


def test_the_repository_scan_recognizes_a_real_looking_token():
    # Built at run time so that this file itself holds no token-shaped text.
    fake = "7012345678:" + "".join(
        random.Random(7).choices(string.ascii_letters + string.digits + "_-", k=35)
    )
    assert BOT_TOKEN_SHAPE.fullmatch(fake) and not is_placeholder(fake)
    assert is_placeholder("1234567890:" + "A" * 35)
    assert is_placeholder("7000000001:AA" + "sandbox" * 5)


# ---- last: it replaces this module's deployment ----------------------------------------------------------------
def test_each_deployment_gets_its_own_secret(stack):
    first = stack.secret
    stack.redeploy()  # a fresh sandbox (same seed) and the notebooks again, as another learner would
    assert stack.secret != first
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", stack.secret)
    assert stack.send(update(stack, 804), headers={SECRET_HEADER: first}, secret=None).status_code == 403
    assert stack.send(update(stack, 805)).status_code == 200
