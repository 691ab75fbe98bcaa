"""Athena reads the catalog and the table's data, and writes and hands back its results, with the caller's rights.

Each probe takes a policy that allows notebook 05's whole flow (the class policy) and removes one permission; the
query then fails where and as it fails on AWS. Sources, cited per probe:
- Athena User Guide, "Control access to Amazon S3 from Athena" (s3-permissions): "When actors interact with Athena,
  their permissions pass through Athena to determine what Athena can access";
- Athena User Guide, "Configure access to databases and tables in the AWS Glue Data Catalog"
  (fine-grained-access-to-glue-resources): the Glue actions of each statement, on the catalog, database and table;
- Athena API Reference, GetQueryResults: the caller "must have permissions to the Amazon S3 GetObject action for
  the Athena query results location";
- IAM User Guide, "Forward access sessions": a call a service makes on your behalf is authorized with your
  permissions and carries aws:CalledVia / aws:CalledViaFirst / aws:ViaAWSService;
- the error texts AWS returned in public threads (see `sandbox.aws.authorization.athena_denial`).
"""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path

import boto3
import pandas as pd
import pytest
from botocore.exceptions import ClientError

from sandbox.aws.authorization import athena_call_checks
from tests.sandbox import mensagens_lab
from tests.sandbox.aws_fixtures import REGION, notebook_cell, start_sandbox, stop_sandbox

ACCOUNT = "123456789012"
ROOT = Path(__file__).resolve().parents[2]
CLASS_POLICY = json.loads((ROOT / "iam" / "politica-da-turma.json").read_text())
ENRICHED = f"telegram-{ACCOUNT}-{REGION}-enriched"
RESULTS = f"telegram-{ACCOUNT}-{REGION}-athena"
WORKGROUP = DATABASE = "telegram"
GLUE = f"arn:aws:glue:{REGION}:{ACCOUNT}"
PER_DAY = (
    "SELECT context_date, count(*) AS mensagens FROM mensagens GROUP BY context_date ORDER BY context_date"
)
# GetQueryResults' answer without s3:GetObject on the result file, as AWS returned it
# (awslabs/amazon-s3-find-and-forget#290).
RESULTS_UNREADABLE = (
    "You do not seem to have access to the S3 location of your query results. Please confirm your account has "
    "access to the S3 location where your query results are saved and try again. If specifying an expected bucket "
    "owner, confirm the bucket is owned by the expected account. If you are using KMS to encrypt query results, "
    "please ensure you have permission to access your KMS key. If you continue to see this issue, please contact "
    "customer support."
)
S3_SUFFIX = re.compile(
    r" \(Service: S3, Status Code: 403, Request ID: [0-9A-F]{16}, Extended Request ID: \S+\)$"
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Notebook 05's world as the administrator leaves it: the Parquet of two days, the results bucket, the
    workgroup, and the database and `mensagens` table made by the notebook's own cells."""
    sandbox = start_sandbox(tmp_path_factory.mktemp("athena-rights"))
    try:
        s3 = sandbox.client("s3")
        for bucket in (ENRICHED, RESULTS):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        sizes = mensagens_lab.upload(s3, ENRICHED)
        sandbox.client("athena").create_work_group(
            Name=WORKGROUP,
            Configuration={
                "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/resultados/"},
                "EnforceWorkGroupConfiguration": True,
            },
        )
        admin = notebook_namespace(sandbox.client("athena"), sandbox.client("glue"))
        exec(notebook_cell("CREATE EXTERNAL TABLE"), admin)  # noqa: S102 - the notebook's own code
        yield {"sandbox": sandbox, "days": sorted(sizes), "admin": admin}
    finally:
        stop_sandbox(sandbox)


def notebook_namespace(athena, glue) -> dict:
    """The notebook's query() helper, bound to the given clients."""
    namespace = {"athena": athena, "glue": glue, "time": time, "pd": pd, "print": lambda *a, **k: None}
    namespace |= {
        "WORKGROUP": WORKGROUP,
        "DATABASE": DATABASE,
        "TABLE": "mensagens",
        "ENRICHED_BUCKET": ENRICHED,
    }
    exec(notebook_cell("def query("), namespace)  # noqa: S102 - the notebook's own code
    return namespace


# ---- policies -------------------------------------------------------------------------------------------------
def without(action: str, *, keep: tuple[str, ...] = ()) -> dict:
    """The class policy without `action`, but for the resources in `keep` (granted again on their own)."""
    policy = copy.deepcopy(CLASS_POLICY)
    statements = []
    for statement in policy["Statement"]:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        left = [a for a in actions if a != action]
        if left:
            statements.append({**statement, "Action": left})
    if keep:
        statements.append({"Sid": "Mantida", "Effect": "Allow", "Action": action, "Resource": list(keep)})
    return {**policy, "Statement": statements}


def with_statement(statement: dict) -> dict:
    policy = copy.deepcopy(CLASS_POLICY)
    policy["Statement"].append(statement)
    return policy


_users = iter(range(1000))


def user(lab, policy: dict) -> tuple[str, dict]:
    """A new IAM user holding `policy` (inline, as a teacher may attach it); its name and its clients' factory."""
    name = f"aluna-{next(_users)}"
    iam = lab["sandbox"].client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="turma", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, {
        "endpoint_url": lab["sandbox"].endpoint_url,
        "region_name": REGION,
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
        "aws_session_token": None,
    }


def run(credentials: dict, sql: str, database: str | None = DATABASE) -> dict:
    """Start `sql` in the workgroup as the user and wait for it to end: its QueryExecution."""
    athena = boto3.client("athena", **credentials)
    context = {"QueryExecutionContext": {"Database": database}} if database else {}
    execution_id = athena.start_query_execution(QueryString=sql, WorkGroup=WORKGROUP, **context)[
        "QueryExecutionId"
    ]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
        if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return execution
        time.sleep(0.05)
    raise AssertionError(f"the query did not end in 30 s: {sql}")


def reason(execution: dict) -> str:
    assert execution["Status"]["State"] == "FAILED", execution["Status"]
    assert execution["Status"]["AthenaError"]["ErrorMessage"] == execution["Status"]["StateChangeReason"]
    return execution["Status"]["StateChangeReason"]


def denial(name: str, action: str, resource: str, *, quoted: bool = False) -> str:
    resource = f'"{resource}"' if quoted else resource
    return (
        f"User: arn:aws:iam::{ACCOUNT}:user/{name} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
    )


def first_file(lab) -> str:
    return f"{ENRICHED}/telegram/context_date={lab['days'][0]}/part-0.parquet"


# ---- each call Athena makes, mapped as the same request made directly -----------------------------------------------
@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        (
            "glue",
            "GetTable",
            {"DatabaseName": "telegram", "Name": "mensagens"},
            [
                ("glue:GetTable", f"{GLUE}:catalog", {}),
                ("glue:GetTable", f"{GLUE}:database/telegram", {}),
                ("glue:GetTable", f"{GLUE}:table/telegram/mensagens", {}),
            ],
        ),
        (
            "s3",
            "ListObjectsV2",
            {"Bucket": ENRICHED, "Prefix": "telegram/context_date="},
            [("s3:ListBucket", f"arn:aws:s3:::{ENRICHED}", {"s3:prefix": "telegram/context_date="})],
        ),
        (
            "s3",
            "ListObjectsV2",
            {"Bucket": RESULTS, "Prefix": "resultados/tables/x/", "MaxKeys": 1},
            [
                (
                    "s3:ListBucket",
                    f"arn:aws:s3:::{RESULTS}",
                    {"s3:prefix": "resultados/tables/x/", "s3:max-keys": "1"},
                )
            ],
        ),
        (
            "s3",
            "GetObject",
            {"Bucket": ENRICHED, "Key": "a/b.parquet"},
            [("s3:GetObject", f"arn:aws:s3:::{ENRICHED}/a/b.parquet", {})],
        ),
        (
            "s3",
            "PutObject",
            {"Bucket": RESULTS, "Key": "r/q.csv", "Body": b""},
            [("s3:PutObject", f"arn:aws:s3:::{RESULTS}/r/q.csv", {})],
        ),
        (
            "s3",
            "GetBucketLocation",
            {"Bucket": RESULTS},
            [("s3:GetBucketLocation", f"arn:aws:s3:::{RESULTS}", {})],
        ),
        # A call the mapping does not know is checked as an action only "*" grants, never let through.
        ("s3", "DeleteObjects", {"Bucket": RESULTS}, [("s3:DeleteObjects", "*", {})]),
    ],
)
def test_each_call_is_checked_as_the_same_request_would_be_with_athenas_context(
    service, operation, params, expected
):
    checks = athena_call_checks(service, operation, params, REGION, ACCOUNT)

    fas = {
        "aws:CalledVia": ["athena.amazonaws.com"],
        "aws:CalledViaFirst": "athena.amazonaws.com",
        "aws:CalledViaLast": "athena.amazonaws.com",
        "aws:ViaAWSService": "true",
    }
    assert [(c.action, c.resource) for c in checks] == [(a, r) for a, r, _ in expected]
    for check, (_action, _resource, keys) in zip(checks, expected, strict=True):
        assert {k: v for k, v in check.context.items() if k in keys} == keys
        assert {k: v for k, v in check.context.items() if k.startswith("aws:")} == fas
        assert "aws:SourceIp" not in check.context  # Athena calls from its own addresses (s3-permissions)


# ---- the whole flow ---------------------------------------------------------------------------------------------
def test_the_class_policy_runs_notebook_05s_queries(lab):
    name, credentials = user(lab, CLASS_POLICY)
    mine = notebook_namespace(boto3.client("athena", **credentials), boto3.client("glue", **credentials))
    exec(notebook_cell("CREATE EXTERNAL TABLE"), mine)  # noqa: S102 - DROP and CREATE again, as a student reruns it

    frame = mine["query"](PER_DAY)

    assert frame.equals(lab["admin"]["query"](PER_DAY))
    assert list(frame["context_date"]) == lab["days"]


# ---- reading the table's data: S3 --------------------------------------------------------------------------------
def test_without_get_object_on_the_data_the_query_fails_on_the_first_file(lab):
    # s3-permissions: the caller's permissions pass through Athena; the data is read with s3:GetObject.
    name, credentials = user(lab, without("s3:GetObject", keep=(f"arn:aws:s3:::{RESULTS}/*",)))

    text = reason(run(credentials, PER_DAY))

    expected = "PERMISSION_DENIED: " + denial(
        name, "s3:GetObject", f"arn:aws:s3:::{first_file(lab)}", quoted=True
    )
    assert text.startswith(expected)
    assert S3_SUFFIX.fullmatch(text[len(expected) :])


def test_without_list_bucket_on_the_data_bucket_the_query_fails_listing_it(lab):
    # s3-permissions; Athena lists the table's (or partition's) prefix before reading: s3:ListBucket on the bucket.
    name, credentials = user(lab, without("s3:ListBucket", keep=(f"arn:aws:s3:::{RESULTS}",)))

    text = reason(run(credentials, PER_DAY))

    expected = "PERMISSION_DENIED: " + denial(name, "s3:ListBucket", f"arn:aws:s3:::{ENRICHED}", quoted=True)
    assert text.startswith(expected) and S3_SUFFIX.fullmatch(text[len(expected) :])


@pytest.mark.parametrize(("prefix", "state"), [("telegram/*", "SUCCEEDED"), ("raw/*", "FAILED")])
def test_list_bucket_limited_by_s3_prefix_follows_the_tables_location(lab, prefix, state):
    # S3 User Guide, "Amazon S3 condition key examples" (s3:prefix); the listing is of the LOCATION's prefix.
    policy = without("s3:ListBucket", keep=(f"arn:aws:s3:::{RESULTS}",))
    policy["Statement"].append(
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{ENRICHED}",
            "Condition": {"StringLike": {"s3:prefix": prefix}},
        }
    )
    _name, credentials = user(lab, policy)

    assert run(credentials, PER_DAY)["Status"]["State"] == state


def test_a_deny_for_calls_via_athena_stops_the_query_but_not_the_callers_own_reads(lab):
    # "Forward access sessions": Athena's calls carry aws:CalledViaFirst = athena.amazonaws.com.
    deny = {
        "Effect": "Deny",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{ENRICHED}/*",
        "Condition": {"StringEquals": {"aws:CalledViaFirst": "athena.amazonaws.com"}},
    }
    name, credentials = user(lab, with_statement(deny))

    text = reason(run(credentials, PER_DAY))

    assert text.startswith(
        f"PERMISSION_DENIED: User: arn:aws:iam::{ACCOUNT}:user/{name} is not authorized to perform: s3:GetObject "
        f'on resource: "arn:aws:s3:::{first_file(lab)}" with an explicit deny in an identity-based policy'
    )
    key = first_file(lab).split("/", 1)[1]
    assert boto3.client("s3", **credentials).get_object(Bucket=ENRICHED, Key=key)["ContentLength"] > 0


def test_data_allowed_only_through_athena_is_read_by_the_query_and_not_directly(lab):
    # "Forward access sessions" / aws:ViaAWSService: a grant for service calls only.
    policy = without("s3:GetObject", keep=(f"arn:aws:s3:::{RESULTS}/*",))
    policy["Statement"].append(
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{ENRICHED}/*",
            "Condition": {"Bool": {"aws:ViaAWSService": "true"}},
        }
    )
    _name, credentials = user(lab, policy)

    assert run(credentials, PER_DAY)["Status"]["State"] == "SUCCEEDED"
    with pytest.raises(ClientError) as direct:
        boto3.client("s3", **credentials).get_object(Bucket=ENRICHED, Key=first_file(lab).split("/", 1)[1])
    assert direct.value.response["Error"]["Code"] == "AccessDenied"


def test_a_grant_for_calls_via_athena_with_for_any_value_lets_only_athena_read(lab):
    # AWS global condition context keys, aws:CalledVia: multivalued, tested with ForAnyValue (the IAM User Guide's
    # own example grants a call only when it comes through a named service).
    policy = without("s3:GetObject", keep=(f"arn:aws:s3:::{RESULTS}/*",))
    policy["Statement"].append(
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{ENRICHED}/*",
            "Condition": {"ForAnyValue:StringEquals": {"aws:CalledVia": ["athena.amazonaws.com"]}},
        }
    )
    _name, credentials = user(lab, policy)

    assert run(credentials, PER_DAY)["Status"]["State"] == "SUCCEEDED"
    with pytest.raises(ClientError) as direct:
        boto3.client("s3", **credentials).get_object(Bucket=ENRICHED, Key=first_file(lab).split("/", 1)[1])
    assert direct.value.response["Error"]["Code"] == "AccessDenied"


def test_a_partition_filter_reads_only_that_days_files(lab):
    # s3:GetObject is needed on the files the query reads: with GetObject on one day only, that day's query works.
    last = lab["days"][-1]
    policy = without("s3:GetObject", keep=(f"arn:aws:s3:::{RESULTS}/*",))
    policy["Statement"].append(
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{ENRICHED}/telegram/context_date={last}/*",
        }
    )
    _name, credentials = user(lab, policy)

    one_day = f"SELECT count(*) AS n FROM mensagens WHERE context_date = '{last}'"
    assert run(credentials, one_day)["Status"]["State"] == "SUCCEEDED"
    assert run(credentials, PER_DAY)["Status"]["State"] == "FAILED"


# ---- the catalog: Glue ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("glue:GetDatabase", f"{GLUE}:catalog"),
        ("glue:GetTable", f"{GLUE}:catalog"),
    ],
)
def test_a_select_needs_the_glue_reads_of_its_table(lab, action, resource):
    # fine-grained-access-to-glue-resources: the action on the resource and all its ancestors (catalog first).
    name, credentials = user(lab, without(action))

    assert reason(run(credentials, PER_DAY)) == "Insufficient permissions to execute the query. " + denial(
        name, action, resource
    )


def test_the_glue_table_resource_itself_must_be_allowed(lab):
    # fine-grained-access-to-glue-resources: GetTable on catalog, database and table; a grant for another table
    # of the database does not do.
    policy = without("glue:GetTable")
    policy["Statement"].append(
        {
            "Effect": "Allow",
            "Action": "glue:GetTable",
            "Resource": [f"{GLUE}:catalog", f"{GLUE}:database/telegram", f"{GLUE}:table/telegram/outra"],
        }
    )
    name, credentials = user(lab, policy)

    assert reason(run(credentials, PER_DAY)).endswith(
        denial(name, "glue:GetTable", f"{GLUE}:table/telegram/mensagens")
    )


@pytest.mark.parametrize("action", ["glue:GetDatabase", "glue:GetTable", "glue:CreateTable"])
def test_create_table_makes_the_glue_reads_before_creating(lab, action):
    # fine-grained-access-to-glue-resources, CREATE TABLE: glue:GetDatabase, glue:GetTable and glue:CreateTable.
    name, credentials = user(lab, without(action))
    table = f"copia_{action.split(':')[1].lower()}"
    create = notebook_cell("CREATE EXTERNAL TABLE").split('query(f"""', 1)[1].split('""")', 1)[0]
    create = create.replace("{TABLE}", table).replace("{ENRICHED_BUCKET}", ENRICHED).replace("{{", "{")
    create = create.replace("}}", "}")

    text = reason(run(credentials, create))

    assert text.startswith(
        f"Insufficient permissions to execute the query. User: arn:aws:iam::{ACCOUNT}:user/{name}"
    )
    assert f"perform: {action} on resource: {GLUE}:catalog " in text
    assert table not in {
        t["Name"] for t in lab["sandbox"].client("glue").get_tables(DatabaseName=DATABASE)["TableList"]
    }


def test_drop_table_without_delete_table_keeps_the_table(lab):
    # fine-grained-access-to-glue-resources, DROP TABLE: glue:GetDatabase, glue:GetTable, glue:DeleteTable.
    name, credentials = user(lab, without("glue:DeleteTable"))

    assert reason(run(credentials, "DROP TABLE IF EXISTS mensagens")).endswith(
        denial(name, "glue:DeleteTable", f"{GLUE}:catalog")
    )
    assert lab["sandbox"].client("glue").get_table(DatabaseName=DATABASE, Name="mensagens")["Table"]


@pytest.mark.parametrize(
    ("partitioned", "missing", "stops"),
    [
        (True, "glue:GetPartitions", True),
        (True, "glue:DeletePartition", True),
        (
            False,
            "glue:GetPartitions",
            False,
        ),  # "If your table does not have partitions, do not include [them]"
    ],
)
def test_drop_table_deletes_a_partitioned_tables_partitions_first(lab, partitioned, missing, stops):
    # fine-grained-access-to-glue-resources, DROP TABLE of a partitioned table: glue:GetPartitions,
    # glue:GetPartition and glue:DeletePartition as well (the class policy grants GetPartitions only: its table
    # uses projection and has no partition in Glue).
    table = f"para_apagar_{missing.split(':')[1].lower()}_{int(partitioned)}"
    keys = "PARTITIONED BY (context_date string) " if partitioned else ""
    lab["admin"]["query"](
        f"CREATE EXTERNAL TABLE {table} (message_id bigint) {keys}STORED AS PARQUET "
        f"LOCATION 's3://{ENRICHED}/telegram/'"
    )
    if partitioned:
        lab["admin"]["query"](f"ALTER TABLE {table} ADD PARTITION (context_date = '{lab['days'][0]}')")
    policy = without(missing)
    policy["Statement"].append(
        {
            "Effect": "Allow",
            "Action": sorted({"glue:GetPartition", "glue:DeletePartition", "glue:GetPartitions"} - {missing}),
            "Resource": [f"{GLUE}:catalog", f"{GLUE}:database/telegram", f"{GLUE}:table/telegram/*"],
        }
    )
    name, credentials = user(lab, policy)

    execution = run(credentials, f"DROP TABLE {table}")

    glue = lab["sandbox"].client("glue")
    remaining = {t["Name"] for t in glue.get_tables(DatabaseName=DATABASE)["TableList"]}
    if stops:
        assert reason(execution).endswith(denial(name, missing, f"{GLUE}:catalog"))
        assert table in remaining
    else:
        assert execution["Status"]["State"] == "SUCCEEDED"
        assert table not in remaining


def test_a_table_with_catalog_partitions_needs_get_partitions(lab):
    # fine-grained-access-to-glue-resources, "Table partitions and versions": GetPartitions on catalog, database
    # and table. (notebook 05's table uses partition projection, which reads no partitions from Glue)
    admin = lab["admin"]["query"]
    admin(
        f"CREATE EXTERNAL TABLE IF NOT EXISTS por_particao (message_id bigint) PARTITIONED BY (context_date string) "
        f"STORED AS PARQUET LOCATION 's3://{ENRICHED}/telegram/'"
    )
    admin(f"ALTER TABLE por_particao ADD IF NOT EXISTS PARTITION (context_date = '{lab['days'][0]}')")
    name, credentials = user(lab, without("glue:GetPartitions"))

    assert reason(run(credentials, "SELECT count(*) FROM por_particao")).endswith(
        denial(name, "glue:GetPartitions", f"{GLUE}:catalog")
    )


# ---- the results -------------------------------------------------------------------------------------------------
def test_without_get_bucket_location_on_the_results_bucket_athena_cannot_verify_it(lab):
    # s3-permissions / query-results-specify-location: s3:GetBucketLocation on the query result location's bucket.
    _name, credentials = user(lab, without("s3:GetBucketLocation", keep=(f"arn:aws:s3:::{ENRICHED}",)))

    assert reason(run(credentials, PER_DAY)) == f"Unable to verify/create output bucket {RESULTS}"


def test_without_put_object_on_the_results_the_query_fails_writing_them(lab):
    # querying.html: Athena writes each query's result file to the result location with the caller's rights.
    _name, credentials = user(lab, without("s3:PutObject"))

    execution = run(credentials, PER_DAY)

    output = execution["ResultConfiguration"]["OutputLocation"]
    assert output == f"s3://{RESULTS}/resultados/{execution['QueryExecutionId']}.csv"
    assert reason(execution) == (
        f"Access denied when writing output to url: {output} . Please ensure you are allowed to access the S3 "
        "bucket. If you are encrypting query results with KMS key, please ensure you are allowed to access your "
        "KMS key"
    )
    listed = (
        lab["sandbox"]
        .client("s3")
        .list_objects_v2(Bucket=RESULTS, Prefix=f"resultados/{execution['QueryExecutionId']}")
    )
    assert listed["KeyCount"] == 0


def test_get_query_results_needs_get_object_on_the_result_file(lab):
    # API_GetQueryResults: GetObject on the query results location; the query itself succeeds.
    _name, credentials = user(lab, without("s3:GetObject", keep=(f"arn:aws:s3:::{ENRICHED}/*",)))
    execution = run(credentials, PER_DAY)
    assert execution["Status"]["State"] == "SUCCEEDED"

    with pytest.raises(ClientError) as refused:
        boto3.client("athena", **credentials).get_query_results(
            QueryExecutionId=execution["QueryExecutionId"]
        )

    error = refused.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (
        400,
        "InvalidRequestException",
    )
    assert error["Error"]["Message"] == RESULTS_UNREADABLE


def test_pyathena_reports_the_unreadable_results(lab):
    # The same denial seen through PyAthena's DB-API cursor, which calls GetQueryResults.
    pyathena = pytest.importorskip("pyathena")
    _name, credentials = user(lab, without("s3:GetObject", keep=(f"arn:aws:s3:::{ENRICHED}/*",)))
    connection = pyathena.connect(
        work_group=WORKGROUP,
        schema_name=DATABASE,
        poll_interval=0.05,
        **{k: v for k, v in credentials.items() if k != "aws_session_token"},
    )
    with connection, pytest.raises(pyathena.error.DatabaseError, match="You do not seem to have access"):
        cursor = connection.cursor()
        cursor.execute(PER_DAY)
        cursor.fetchall()


def test_awswrangler_reports_athenas_reason(lab):
    # awswrangler (AWS SDK for pandas) raises QueryFailed with the StateChangeReason; it also reads the workgroup.
    wr = pytest.importorskip("awswrangler")
    policy = without("s3:GetObject", keep=(f"arn:aws:s3:::{RESULTS}/*",))
    policy["Statement"].append(
        {
            "Effect": "Allow",
            "Action": "athena:GetWorkGroup",
            "Resource": f"arn:aws:athena:*:*:workgroup/{WORKGROUP}",
        }
    )
    _name, credentials = user(lab, policy)
    session = boto3.Session(
        aws_access_key_id=credentials["aws_access_key_id"],
        aws_secret_access_key=credentials["aws_secret_access_key"],
        region_name=REGION,
    )
    saved = {
        k: getattr(wr.config, k) for k in ("s3_endpoint_url", "athena_endpoint_url", "glue_endpoint_url")
    }
    try:
        for key in saved:
            setattr(wr.config, key, lab["sandbox"].endpoint_url)
        with pytest.raises(wr.exceptions.QueryFailed, match=r"^PERMISSION_DENIED: .* s3:GetObject "):
            wr.athena.start_query_execution(
                PER_DAY,
                database=DATABASE,
                workgroup=WORKGROUP,
                boto3_session=session,
                wait=True,
                athena_query_wait_polling_delay=0.05,
            )
    finally:
        for key, value in saved.items():
            setattr(wr.config, key, value)


# ---- notebook 05, as a student ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_notebook_05_stops_at_its_first_query_without_reading_the_enriched_parquet(tmp_path, monkeypatch):
    """Notebooks 02 to 04 run as a student with the class policy; notebook 05 as one whose policy lacks
    s3:GetObject on the enriched bucket. Its table is created (no data is read), and the first query fails with
    Athena's reason, as on AWS (s3-permissions)."""
    from nbclient.exceptions import CellExecutionError

    import sandbox
    from tutorial import runner
    from tutorial.harness import isolated_sandbox

    with isolated_sandbox() as variables:
        iam = boto3.client("iam", endpoint_url=variables["AWS_ENDPOINT_URL"], aws_session_token=None)

        def student(name: str, policy: dict) -> dict:
            iam.create_user(UserName=name)
            iam.put_user_policy(UserName=name, PolicyName="turma", PolicyDocument=json.dumps(policy))
            return iam.create_access_key(UserName=name)["AccessKey"]

        def run_as(key: dict, notebooks: list[str]) -> None:
            monkeypatch.setenv("SANDBOX_AWS_ACCESS_KEY_ID", key["AccessKeyId"])
            monkeypatch.setenv("SANDBOX_AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
            monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
            runner.run_notebooks(notebooks, output_dir=tmp_path)

        run_as(student("aluna", CLASS_POLICY), ["02-ingestao-aws", "03-webhook", "04-etl"])
        others = ("arn:aws:s3:::telegram-*-raw/*", "arn:aws:s3:::telegram-*-athena/*")
        with pytest.raises(sandbox.SandboxError, match="05-analise") as failed:
            run_as(student("aluna-sem-leitura", without("s3:GetObject", keep=others)), ["05-analise"])

    assert isinstance(failed.value.__cause__, CellExecutionError)
    cells = json.loads((tmp_path / "05-analise.ipynb").read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    errors = [i for i, c in enumerate(code) if any(o["output_type"] == "error" for o in c.get("outputs", []))]
    assert len(errors) == 1
    failing = code[errors[0]]
    assert "per_day = query(" in "".join(failing["source"])  # the first SELECT: CREATE TABLE reads no data
    assert any("CREATE EXTERNAL TABLE" in "".join(c["source"]) for c in code[: errors[0]])
    (error,) = [o for o in failing["outputs"] if o["output_type"] == "error"]
    assert error["ename"] == "RuntimeError"
    assert error["evalue"].startswith(
        f"consulta FAILED: PERMISSION_DENIED: User: arn:aws:iam::{ACCOUNT}:user/aluna-sem-leitura is not "
        f'authorized to perform: s3:GetObject on resource: "arn:aws:s3:::{ENRICHED}/telegram/context_date='
    )
    assert (
        "because no identity-based policy allows the s3:GetObject action (Service: S3, Status Code: 403"
        in (error["evalue"])
    )


# ---- statements that write data ------------------------------------------------------------------------------------
def test_ctas_writes_its_data_with_the_callers_rights(lab):
    # s3-permissions: a CTAS writes the new table's files (here, in the result location's tables/ folder) with
    # the caller's s3:PutObject; the table is not registered when the data cannot be written.
    only_result_files = (
        f"arn:aws:s3:::{RESULTS}/resultados/*.csv",
        f"arn:aws:s3:::{RESULTS}/resultados/*.metadata",
    )
    name, credentials = user(lab, without("s3:PutObject", keep=only_result_files))

    execution = run(
        credentials, "CREATE TABLE resumo AS SELECT context_date, count(*) AS n FROM mensagens GROUP BY 1"
    )

    folder = f"{RESULTS}/resultados/tables/{execution['QueryExecutionId']}/"
    text = reason(execution)
    assert text.startswith(
        f"PERMISSION_DENIED: User: arn:aws:iam::{ACCOUNT}:user/{name} is not authorized to perform: s3:PutObject "
        f'on resource: "arn:aws:s3:::{folder}'
    )
    tables = lab["sandbox"].client("glue").get_tables(DatabaseName=DATABASE)["TableList"]
    assert "resumo" not in {t["Name"] for t in tables}


def test_insert_into_writes_to_the_tables_location_with_the_callers_rights(lab):
    # s3-permissions: INSERT INTO writes new files under the table's LOCATION with the caller's s3:PutObject.
    name, credentials = user(lab, without("s3:PutObject", keep=(f"arn:aws:s3:::{RESULTS}/*",)))

    execution = run(credentials, "INSERT INTO mensagens (message_id, context_date) VALUES (1, '2099-01-01')")

    assert reason(execution).startswith(
        f"PERMISSION_DENIED: User: arn:aws:iam::{ACCOUNT}:user/{name} is not authorized to perform: s3:PutObject "
        f'on resource: "arn:aws:s3:::{ENRICHED}/telegram/context_date=2099-01-01/'
    )
    listed = lab["sandbox"].client("s3").list_objects_v2(Bucket=ENRICHED, Prefix="telegram/context_date=2099")
    assert listed["KeyCount"] == 0
