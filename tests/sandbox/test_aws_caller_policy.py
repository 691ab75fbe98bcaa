"""A caller's identity policies are enforced per request, as AWS does (moto alone allows every caller everything).

The sandbox's own `testing` credentials stay the account's administrator; an IAM user created in the sandbox gets
only what its policies (inline, attached, and its groups') allow, with each service's real error shapes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from sandbox.aws.authorization import SignedRequest, request_checks, signed_request
from sandbox.aws.iam_policy import UnmappedRequest, evaluate
from tests.sandbox.aws_fixtures import REGION, ROLE_POLICY, error_of, start_sandbox, stop_sandbox
from tutorial.harness import zip_files

ACCOUNT = "123456789012"
# A trust policy letting the account's own identities assume a role (their identity policies must allow it too).
TRUST_THE_ACCOUNT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
POLICY_FILE = Path(__file__).resolve().parents[2] / "iam" / "politica-da-turma.json"
CLASS_POLICY = json.loads(POLICY_FILE.read_text())
RAW = f"telegram-{ACCOUNT}-{REGION}-raw"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:telegram-ingestao"
ETL_ROLE = f"arn:aws:iam::{ACCOUNT}:role/telegram-etl-role"
SCHEDULER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/telegram-etl-scheduler-role"
LAYER = f"arn:aws:lambda:{REGION}:336392948345:layer:AWSSDKPandas-Python312:20"
PANDAS_PARAMETER = "/aws/service/aws-sdk-pandas/3.10.0/py3.12/x86_64/layer-arn"


# ---- the mapping, on requests botocore really builds ---------------------------------------------------------
def built(service: str, operation: str, **params) -> SignedRequest:
    """The request botocore signs for `operation` (never sent), as the sandbox sees it."""
    client = boto3.client(
        service,
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="AKIAEXAMPLEEXAMPLE01",
        aws_secret_access_key="secret",  # noqa: S106 - a placeholder, the request is never sent
        aws_session_token=None,
    )
    captured = {}

    def capture(request, **_):
        captured["request"] = request
        return AWSResponse(request.url, 200, {}, None)

    client.meta.events.register("before-send", capture)
    try:
        getattr(client, operation)(**params)
    except Exception:  # noqa: BLE001, S110 - the empty answer does not parse; only the request matters
        pass
    request = captured["request"]
    url = urlsplit(request.url)
    body = request.body or b""
    body = body.encode() if isinstance(body, str) else body if isinstance(body, bytes) else body.read()
    environ = {
        "REQUEST_METHOD": request.method,
        "PATH_INFO": unquote(url.path).encode().decode("latin-1"),  # as a WSGI server hands it over
        "QUERY_STRING": url.query,
        **{
            "HTTP_" + k.upper().replace("-", "_"): v.decode() if isinstance(v, bytes) else str(v)
            for k, v in request.headers.items()
        },
    }
    return signed_request(environ, body)


def checks(service: str, operation: str, **params) -> list[tuple[str, str]]:
    request = built(service, operation, **params)
    return [(check.action, check.resource) for check in request_checks(request, ACCOUNT)]


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        ("s3", "list_buckets", {}, [("s3:ListAllMyBuckets", "arn:aws:s3:::*")]),
        (
            "s3",
            "put_public_access_block",
            {"Bucket": RAW, "PublicAccessBlockConfiguration": {"BlockPublicAcls": True}},
            [("s3:PutBucketPublicAccessBlock", f"arn:aws:s3:::{RAW}")],
        ),
        ("s3", "list_object_versions", {"Bucket": RAW}, [("s3:ListBucketVersions", f"arn:aws:s3:::{RAW}")]),
        (
            "s3",
            "get_object",
            {"Bucket": RAW, "Key": "telegram/ação 100%.json"},
            [("s3:GetObject", f"arn:aws:s3:::{RAW}/telegram/ação 100%.json")],
        ),
        ("s3", "get_bucket_versioning", {"Bucket": RAW}, [("s3:GetBucketVersioning", f"arn:aws:s3:::{RAW}")]),
        (
            "s3",
            "get_object",
            {"Bucket": RAW, "Key": "telegram/a.json", "VersionId": "v1"},
            [("s3:GetObjectVersion", f"arn:aws:s3:::{RAW}/telegram/a.json")],
        ),
        (
            "s3",
            "put_object",
            {"Bucket": RAW, "Key": "telegram/a.json", "Body": b"{}", "Tagging": "a=b", "ACL": "private"},
            [
                ("s3:PutObject", f"arn:aws:s3:::{RAW}/telegram/a.json"),
                ("s3:PutObjectTagging", f"arn:aws:s3:::{RAW}/telegram/a.json"),
                ("s3:PutObjectAcl", f"arn:aws:s3:::{RAW}/telegram/a.json"),
            ],
        ),
        (
            "s3",
            "copy_object",
            {
                "Bucket": RAW,
                "Key": "b.json",
                "CopySource": {"Bucket": RAW, "Key": "a ç.json", "VersionId": "v1"},
            },
            [
                ("s3:PutObject", f"arn:aws:s3:::{RAW}/b.json"),
                ("s3:GetObjectVersion", f"arn:aws:s3:::{RAW}/a ç.json"),
            ],
        ),
        (
            "s3",
            "delete_bucket_encryption",
            {"Bucket": RAW},
            [("s3:PutEncryptionConfiguration", f"arn:aws:s3:::{RAW}")],
        ),
        (
            "iam",
            "add_user_to_group",
            {"GroupName": "turma", "UserName": "ana"},
            [("iam:AddUserToGroup", f"arn:aws:iam::{ACCOUNT}:group/turma")],
        ),
        (
            "sts",
            "assume_role",
            {"RoleArn": ETL_ROLE, "RoleSessionName": "aula", "Tags": [{"Key": "k", "Value": "v"}]},
            [("sts:AssumeRole", ETL_ROLE), ("sts:TagSession", ETL_ROLE)],
        ),
        (
            "events",
            "put_rule",
            {"Name": "telegram-etl", "EventBusName": "turma"},
            [("events:PutRule", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/turma/telegram-etl")],
        ),
        (
            "s3",
            "delete_object",
            {"Bucket": RAW, "Key": "telegram/a.json", "VersionId": "v1"},
            [("s3:DeleteObjectVersion", f"arn:aws:s3:::{RAW}/telegram/a.json")],
        ),
        (
            "iam",
            "put_role_policy",
            {"RoleName": "telegram-etl-role", "PolicyName": "p", "PolicyDocument": "{}"},
            [("iam:PutRolePolicy", ETL_ROLE)],
        ),
        ("iam", "list_roles", {}, [("iam:ListRoles", "*")]),
        ("sts", "get_caller_identity", {}, [("sts:GetCallerIdentity", "*")]),
        (
            "lambda",
            "create_function",
            {
                "FunctionName": "telegram-etl",
                "Role": ETL_ROLE,
                "Runtime": "python3.12",
                "Handler": "lambda_function.etl_handler",
                "Code": {"ZipFile": b"zip"},
                "Layers": [LAYER],
            },
            [
                ("lambda:CreateFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:telegram-etl"),
                ("iam:PassRole", ETL_ROLE),
                ("lambda:GetLayerVersion", LAYER),
            ],
        ),
        (
            "lambda",
            "invoke",
            {"FunctionName": "telegram-ingestao"},
            [("lambda:InvokeFunction", FUNCTION_ARN)],
        ),
        (
            "lambda",
            "get_function_configuration",
            {"FunctionName": "telegram-ingestao"},
            [("lambda:GetFunctionConfiguration", FUNCTION_ARN)],
        ),
        ("lambda", "get_policy", {"FunctionName": "telegram-ingestao"}, [("lambda:GetPolicy", FUNCTION_ARN)]),
        (
            "lambda",
            "remove_permission",
            {"FunctionName": "telegram-ingestao", "StatementId": "apigateway-webhook"},
            [("lambda:RemovePermission", FUNCTION_ARN)],
        ),
        ("lambda", "list_functions", {}, [("lambda:ListFunctions", "*")]),
        ("apigatewayv2", "get_apis", {}, [("apigateway:GET", f"arn:aws:apigateway:{REGION}::/apis")]),
        (
            "apigatewayv2",
            "create_route",
            {"ApiId": "abc123", "RouteKey": "POST /webhook"},
            [("apigateway:POST", f"arn:aws:apigateway:{REGION}::/apis/abc123/routes")],
        ),
        (
            "apigatewayv2",
            "delete_api",
            {"ApiId": "abc123"},
            [("apigateway:DELETE", f"arn:aws:apigateway:{REGION}::/apis/abc123")],
        ),
        (
            "scheduler",
            "create_schedule",
            {
                "Name": "telegram-etl-diario",
                "ScheduleExpression": "cron(0 5 * * ? *)",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "Target": {"Arn": FUNCTION_ARN, "RoleArn": SCHEDULER_ROLE},
            },
            [
                (
                    "scheduler:CreateSchedule",
                    f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/telegram-etl-diario",
                ),
                ("iam:PassRole", SCHEDULER_ROLE),
            ],
        ),
        ("scheduler", "list_schedules", {}, [("scheduler:ListSchedules", "*")]),
        (
            "athena",
            "start_query_execution",
            {"QueryString": "SELECT 1", "WorkGroup": "telegram"},
            [("athena:StartQueryExecution", f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/telegram")],
        ),
        ("athena", "list_work_groups", {}, [("athena:ListWorkGroups", "*")]),
        (
            "glue",
            "get_table",
            {"DatabaseName": "telegram", "Name": "mensagens"},
            [
                ("glue:GetTable", f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog"),
                ("glue:GetTable", f"arn:aws:glue:{REGION}:{ACCOUNT}:database/telegram"),
                ("glue:GetTable", f"arn:aws:glue:{REGION}:{ACCOUNT}:table/telegram/mensagens"),
            ],
        ),
        (
            "glue",
            "delete_database",
            {"Name": "telegram"},
            [
                ("glue:DeleteDatabase", f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog"),
                ("glue:DeleteDatabase", f"arn:aws:glue:{REGION}:{ACCOUNT}:database/telegram"),
                ("glue:DeleteDatabase", f"arn:aws:glue:{REGION}:{ACCOUNT}:table/telegram/*"),
                ("glue:DeleteDatabase", f"arn:aws:glue:{REGION}:{ACCOUNT}:userDefinedFunction/telegram/*"),
            ],
        ),
        (
            "logs",
            "delete_log_group",
            {"logGroupName": "/aws/lambda/telegram-etl"},
            [
                (
                    "logs:DeleteLogGroup",
                    f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/telegram-etl:log-stream:",
                )
            ],
        ),
        (
            "logs",
            "describe_log_groups",
            {"logGroupNamePrefix": "/aws/lambda/telegram-"},
            [("logs:DescribeLogGroups", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group::log-stream:")],
        ),
        (
            "ssm",
            "get_parameter",
            {"Name": PANDAS_PARAMETER},
            [("ssm:GetParameter", f"arn:aws:ssm:{REGION}::parameter{PANDAS_PARAMETER}")],
        ),
    ],
)
def test_each_request_maps_to_the_action_and_resource_aws_authorizes(service, operation, params, expected):
    assert checks(service, operation, **params) == expected


@pytest.mark.parametrize(
    ("service", "operation", "params"),
    [
        ("s3", "get_object_attributes", {"Bucket": RAW, "Key": "a", "ObjectAttributes": ["ETag"]}),
        ("s3", "restore_object", {"Bucket": RAW, "Key": "a"}),
        ("s3", "get_bucket_analytics_configuration", {"Bucket": RAW, "Id": "x"}),
        ("events", "put_events", {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]}),
        ("iam", "get_saml_provider", {"SAMLProviderArn": f"arn:aws:iam::{ACCOUNT}:saml-provider/x"}),
    ],
)
def test_a_request_the_sandbox_cannot_map_raises_instead_of_guessing(service, operation, params):
    with pytest.raises(UnmappedRequest):
        request_checks(built(service, operation, **params), ACCOUNT)


def test_calls_about_yourself_name_the_callers_own_user():
    request = built("iam", "list_access_keys")
    me = f"arn:aws:iam::{ACCOUNT}:user/ana"
    assert [(c.action, c.resource) for c in request_checks(request, ACCOUNT, caller_arn=me)] == [
        ("iam:ListAccessKeys", me)
    ]


def test_pass_role_carries_the_service_it_is_passed_to():
    request = built("scheduler", "update_schedule", Name="telegram-etl-diario", ScheduleExpression="rate(1 day)",
                    FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": FUNCTION_ARN, "RoleArn": SCHEDULER_ROLE})  # fmt: skip
    pass_role = request_checks(request, ACCOUNT)[-1]
    assert pass_role.context == {"iam:PassedToService": "scheduler.amazonaws.com"}
    assert evaluate([CLASS_POLICY], pass_role) == "allow"
    # The same role passed to Lambda is not what the class policy allows.
    lambda_pass = request_checks(
        built("lambda", "update_function_configuration", FunctionName="telegram-etl", Role=SCHEDULER_ROLE),
        ACCOUNT,
    )[-1]
    assert (lambda_pass.action, evaluate([CLASS_POLICY], lambda_pass)) == ("iam:PassRole", "implicit")


@pytest.mark.parametrize(
    ("service", "operation", "params"),
    [
        ("s3", "create_bucket", {"Bucket": "outro-bucket"}),
        ("s3", "get_object", {"Bucket": "outro-bucket", "Key": "x"}),
        ("lambda", "get_function", {"FunctionName": "outra-funcao"}),
        ("iam", "create_role", {"RoleName": "admin", "AssumeRolePolicyDocument": ROLE_POLICY}),
        ("iam", "create_user", {"UserName": "telegram-intruso"}),
        (
            "iam",
            "attach_role_policy",
            {"RoleName": "telegram-etl-role", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        ),
        ("glue", "get_table", {"DatabaseName": "financeiro", "Name": "salarios"}),
        ("athena", "start_query_execution", {"QueryString": "SELECT 1", "WorkGroup": "primary"}),
        ("scheduler", "delete_schedule", {"Name": "backup-noturno"}),
        ("logs", "delete_log_group", {"logGroupName": "/aws/lambda/outra-funcao"}),
        ("ssm", "get_parameter", {"Name": "/empresa/senha-do-banco"}),
        ("apigatewayv2", "get_domain_names", {}),
    ],
)
def test_class_policy_allows_nothing_outside_the_tutorial(service, operation, params):
    outcomes = {
        evaluate([CLASS_POLICY], check)
        for check in request_checks(built(service, operation, **params), ACCOUNT)
    }
    assert "implicit" in outcomes


# ---- enforced by the running sandbox -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    running = start_sandbox(tmp_path_factory.mktemp("caller-policy"))
    yield running
    stop_sandbox(running)


def make_user(sandbox, name: str, policy: dict | None) -> dict:
    """An IAM user (as a teacher creates one) whose group holds `policy`; returns its access key."""
    iam = sandbox.client("iam")
    iam.create_user(UserName=name)
    if policy is not None:
        arn = iam.create_policy(PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))["Policy"][
            "Arn"
        ]
        iam.create_group(GroupName=f"{name}-turma")
        iam.attach_group_policy(GroupName=f"{name}-turma", PolicyArn=arn)
        iam.add_user_to_group(GroupName=f"{name}-turma", UserName=name)
    return iam.create_access_key(UserName=name)["AccessKey"]


def as_user(sandbox, key: dict, service: str):
    return boto3.client(
        service,
        endpoint_url=sandbox.endpoint_url,
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        aws_session_token=None,
    )


@pytest.fixture(scope="module")
def student(sandbox):
    return make_user(sandbox, "aluna", CLASS_POLICY)


@pytest.fixture(scope="module")
def nobody(sandbox):
    return make_user(sandbox, "sem-permissao", None)


def denial(user: str, action: str, resource: str) -> str:
    return (
        f"User: arn:aws:iam::{ACCOUNT}:user/{user} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
    )


def test_the_sandbox_credentials_keep_every_right(sandbox):
    sandbox.client("s3").create_bucket(
        Bucket="qualquer-nome", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    assert sandbox.client("iam").list_users()["Users"] is not None


def test_caller_identity_is_always_allowed_and_names_the_user(sandbox, nobody):
    identity = as_user(sandbox, nobody, "sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/sem-permissao"


def test_a_student_with_the_class_policy_works_inside_the_tutorial_names(sandbox, student):
    s3 = as_user(sandbox, student, "s3")
    s3.create_bucket(Bucket=RAW, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=RAW, Key="telegram/1.json", Body=b"{}")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=RAW)["Contents"]] == ["telegram/1.json"]
    iam = as_user(sandbox, student, "iam")
    arn = iam.create_role(RoleName="telegram-etl-role", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
    lambda_ = as_user(sandbox, student, "lambda")
    created = lambda_.create_function(
        FunctionName="telegram-etl",
        Role=arn,
        Runtime="python3.12",
        Handler="lambda_function.handler",
        Code={"ZipFile": zip_files({"lambda_function.py": "def handler(event, context):\n    return 1\n"})},
    )
    assert created["FunctionName"] == "telegram-etl"
    assert as_user(sandbox, student, "athena").list_work_groups()["WorkGroups"]


def test_s3_denies_with_its_xml_access_denied(sandbox, student):
    s3 = as_user(sandbox, student, "s3")
    bucket = "dados-da-empresa"
    status, code, message = error_of(
        s3.create_bucket, Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    assert (status, code) == (403, "AccessDenied")
    assert message == (
        f"User: arn:aws:iam::{ACCOUNT}:user/aluna is not authorized to perform: s3:CreateBucket on resource: "
        f'"arn:aws:s3:::{bucket}" because no identity-based policy allows the s3:CreateBucket action'
    )


def test_iam_denies_with_its_query_access_denied(sandbox, student):
    iam = as_user(sandbox, student, "iam")
    status, code, message = error_of(iam.create_user, UserName="outra-pessoa")
    assert (status, code) == (403, "AccessDenied")
    assert message == denial("aluna", "iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/outra-pessoa")


def test_lambda_denies_pass_role_for_a_role_outside_the_policy(sandbox, student):
    sandbox.client("iam").create_role(RoleName="papel-de-admin", AssumeRolePolicyDocument=ROLE_POLICY)
    lambda_ = as_user(sandbox, student, "lambda")
    role = f"arn:aws:iam::{ACCOUNT}:role/papel-de-admin"
    status, code, message = error_of(
        lambda_.create_function,
        FunctionName="telegram-x",
        Role=role,
        Runtime="python3.12",
        Handler="a.b",
        Code={"ZipFile": zip_files({"a.py": ""})},
    )
    assert (status, code, message) == (403, "AccessDeniedException", denial("aluna", "iam:PassRole", role))
    assert "telegram-x" not in {
        f["FunctionName"] for f in sandbox.client("lambda").list_functions()["Functions"]
    }


@pytest.mark.parametrize(
    ("service", "operation", "params", "status", "action", "resource"),
    [
        ("lambda", "get_function", {"FunctionName": "outra"}, 403, "lambda:GetFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:outra"),
        ("apigatewayv2", "get_domain_names", {}, 403, "apigateway:GET", f"arn:aws:apigateway:{REGION}::/domainnames"),
        ("scheduler", "get_schedule", {"Name": "outro"}, 403, "scheduler:GetSchedule", f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/outro"),
        ("athena", "get_work_group", {"WorkGroup": "primary"}, 400, "athena:GetWorkGroup", f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/primary"),
        ("glue", "get_databases", {}, 400, "glue:GetDatabases", f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog"),
        ("logs", "create_log_group", {"logGroupName": "outro"}, 400, "logs:CreateLogGroup", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:outro:log-stream:"),
        ("ssm", "get_parameter", {"Name": "/empresa/segredo"}, 400, "ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/empresa/segredo"),
    ],
)  # fmt: skip
def test_json_services_deny_with_access_denied_exception(
    sandbox, nobody, service, operation, params, status, action, resource
):
    client = as_user(sandbox, nobody, service)
    got_status, code, message = error_of(getattr(client, operation), **params)
    assert (got_status, code) == (status, "AccessDeniedException")
    assert message == denial("sem-permissao", action, resource)


@pytest.mark.parametrize(
    ("service", "operation", "params", "status", "code"),
    [
        ("s3", "list_buckets", {}, 403, "InvalidAccessKeyId"),
        ("iam", "list_roles", {}, 403, "InvalidClientTokenId"),
        ("sts", "get_caller_identity", {}, 403, "InvalidClientTokenId"),
        ("lambda", "list_functions", {}, 403, "UnrecognizedClientException"),
        ("apigatewayv2", "get_apis", {}, 403, "UnrecognizedClientException"),
        ("scheduler", "list_schedules", {}, 403, "UnrecognizedClientException"),
        ("athena", "list_work_groups", {}, 400, "UnrecognizedClientException"),
        ("glue", "get_databases", {}, 400, "UnrecognizedClientException"),
        ("logs", "describe_log_groups", {}, 400, "UnrecognizedClientException"),
    ],
)
def test_an_unknown_access_key_is_refused_by_every_service(sandbox, service, operation, params, status, code):
    client = as_user(sandbox, {"AccessKeyId": "AKIAEXAMPLEEXAMPLE99", "SecretAccessKey": "x"}, service)
    assert error_of(getattr(client, operation), **params)[:2] == (status, code)


def test_a_deactivated_key_is_refused(sandbox):
    key = make_user(sandbox, "ex-aluno", CLASS_POLICY)
    s3 = as_user(sandbox, key, "s3")
    s3.list_buckets()
    sandbox.client("iam").update_access_key(
        UserName="ex-aluno", AccessKeyId=key["AccessKeyId"], Status="Inactive"
    )
    assert error_of(s3.list_buckets)[:2] == (403, "InvalidAccessKeyId")


def athena_state(athena, sql: str, database: str | None = None) -> dict:
    context = {"QueryExecutionContext": {"Database": database}} if database else {}
    execution_id = athena.start_query_execution(QueryString=sql, WorkGroup="telegram", **context)[
        "QueryExecutionId"
    ]
    for _ in range(200):
        status = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]
        if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return status
        time.sleep(0.05)
    raise AssertionError("query did not finish")


@pytest.fixture(scope="module")
def results_bucket(sandbox):
    bucket = f"telegram-{ACCOUNT}-{REGION}-athena"
    sandbox.client("s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    sandbox.client("athena").create_work_group(
        Name="telegram",
        Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{bucket}/resultados/"},
            "EnforceWorkGroupConfiguration": True,
        },
    )
    return bucket


def without(policy: dict, *sids: str) -> dict:
    return {**policy, "Statement": [s for s in policy["Statement"] if s["Sid"] not in sids]}


def test_athena_runs_the_glue_calls_of_a_query_with_the_callers_rights(sandbox, results_bucket):
    athena = as_user(
        sandbox, make_user(sandbox, "sem-glue", without(CLASS_POLICY, "CatalogoDoGlue")), "athena"
    )

    status = athena_state(athena, "CREATE DATABASE IF NOT EXISTS telegram")

    # Athena first looks the database up (glue:GetDatabase, listed for CREATE DATABASE in "Configure access to
    # databases and tables in the AWS Glue Data Catalog"), and Glue names the catalog, the first resource it checks.
    assert status["State"] == "FAILED"
    assert status["StateChangeReason"] == "Insufficient permissions to execute the query. " + denial(
        "sem-glue", "glue:GetDatabase", f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog"
    )
    assert "telegram" not in {d["Name"] for d in sandbox.client("glue").get_databases()["DatabaseList"]}


def test_athena_writes_the_result_file_with_the_callers_rights(sandbox, results_bucket):
    athena = as_user(
        sandbox, make_user(sandbox, "sem-s3", without(CLASS_POLICY, "ObjetosDoTutorial")), "athena"
    )

    status = athena_state(athena, "SELECT 1")

    assert status["State"] == "FAILED"
    assert status["StateChangeReason"].startswith(
        f"Access denied when writing output to url: s3://{results_bucket}/resultados/"
    )


def test_a_student_with_the_class_policy_creates_and_queries_the_table(sandbox, student, results_bucket):
    athena = as_user(sandbox, student, "athena")
    assert athena_state(athena, "CREATE DATABASE IF NOT EXISTS telegram")["State"] == "SUCCEEDED"
    assert athena_state(athena, "SELECT 1 AS um")["State"] == "SUCCEEDED"


def test_a_role_session_from_sts_gets_the_roles_rights(sandbox):
    admin_iam = sandbox.client("iam")
    admin_iam.create_role(RoleName="leitor", AssumeRolePolicyDocument=TRUST_THE_ACCOUNT)
    read_only = {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}
    admin_iam.put_role_policy(
        RoleName="leitor",
        PolicyName="ler",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [read_only]}),
    )
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/leitor"
    may_assume = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}
    key = make_user(sandbox, "quem-assume", {"Version": "2012-10-17", "Statement": [may_assume]})
    credentials = as_user(sandbox, key, "sts").assume_role(RoleArn=role_arn, RoleSessionName="aula")[
        "Credentials"
    ]
    s3 = boto3.client(
        "s3",
        endpoint_url=sandbox.endpoint_url,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )

    s3.list_buckets()
    status, code, message = error_of(s3.create_bucket, Bucket="nao-pode", CreateBucketConfiguration={"LocationConstraint": REGION})  # fmt: skip

    assert (status, code) == (403, "AccessDenied")
    assert message.startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/leitor/aula is not authorized")


def test_assuming_a_role_needs_the_users_permission(sandbox, student):
    sts = as_user(sandbox, student, "sts")
    status, code, message = error_of(
        sts.assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/leitor", RoleSessionName="aula"
    )
    assert (status, code) == (403, "AccessDenied")
    assert message == denial("aluna", "sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/leitor")


def test_the_denied_resource_is_the_key_as_the_user_wrote_it(sandbox, student):
    sandbox.client("s3").create_bucket(
        Bucket="outro-bucket", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    s3 = as_user(sandbox, student, "s3")
    status, code, message = error_of(s3.get_object, Bucket="outro-bucket", Key="dados/ação 100%.json")
    assert (status, code) == (403, "AccessDenied")
    assert 'on resource: "arn:aws:s3:::outro-bucket/dados/ação 100%.json"' in message


def test_delete_objects_deletes_what_is_allowed_and_reports_the_rest(sandbox):
    bucket = "telegram-versoes"
    admin_s3 = sandbox.client("s3")
    admin_s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    admin_s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    version = admin_s3.put_object(Bucket=bucket, Key="telegram/a.json", Body=b"1")["VersionId"]
    admin_s3.put_object(Bucket=bucket, Key="outros/b.json", Body=b"2")
    only_telegram = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{bucket}/telegram/*"}
        ],
    }
    s3 = as_user(sandbox, make_user(sandbox, "apaga-pouco", only_telegram), "s3")

    answer = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": "telegram/a.json"}, {"Key": "outros/b.json"}, {"Key": "telegram/a.json", "VersionId": version}]},
    )  # fmt: skip

    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert [d["Key"] for d in answer["Deleted"]] == ["telegram/a.json"]
    assert answer["Errors"] == [
        {"Key": "outros/b.json", "Code": "AccessDenied", "Message": "Access Denied"},
        {"Key": "telegram/a.json", "VersionId": version, "Code": "AccessDenied", "Message": "Access Denied"},
    ]
    versions = admin_s3.list_object_versions(Bucket=bucket)["Versions"]
    assert {(v["Key"], v["VersionId"] == version) for v in versions} >= {
        ("outros/b.json", False),
        ("telegram/a.json", True),
    }


@pytest.mark.parametrize(
    ("service", "operation", "status", "code"),
    [
        ("s3", "list_buckets", 403, "InvalidToken"),
        ("sts", "get_caller_identity", 403, "InvalidClientTokenId"),
        ("lambda", "list_functions", 403, "UnrecognizedClientException"),
        ("glue", "get_databases", 400, "UnrecognizedClientException"),
    ],
)
def test_a_users_long_term_key_sent_with_a_session_token_is_refused(
    sandbox, student, service, operation, status, code
):
    # A shell with a stale AWS_SESSION_TOKEN (from SSO, say) and a user's access key: AWS refuses the pair.
    client = boto3.client(
        service,
        endpoint_url=sandbox.endpoint_url,
        region_name=REGION,
        aws_access_key_id=student["AccessKeyId"],
        aws_secret_access_key=student["SecretAccessKey"],
        aws_session_token="IQoJb3JpZ2luX2VjEXAMPLE",
    )
    assert error_of(getattr(client, operation))[:2] == (status, code)


def test_a_role_session_needs_its_own_token(sandbox):
    sts = as_user(sandbox, make_user(sandbox, "troca-token", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}), "sts")  # fmt: skip
    sandbox.client("iam").create_role(RoleName="qualquer", AssumeRolePolicyDocument=TRUST_THE_ACCOUNT)
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/qualquer", RoleSessionName="aula")[
        "Credentials"
    ]
    without_token = boto3.client(
        "sts",
        endpoint_url=sandbox.endpoint_url,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=None,
    )
    assert error_of(without_token.get_caller_identity)[:2] == (403, "InvalidClientTokenId")
