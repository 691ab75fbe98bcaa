"""S3 latency and fault injection, reset, and same seed -> same ids."""

from __future__ import annotations

import json
import time

import pytest
import requests
from botocore.exceptions import ClientError

from tests.sandbox.aws_fixtures import REGION, create_function, invoke, start_sandbox, stop_sandbox

BUCKET = "faults-raw"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    running = start_sandbox(tmp_path_factory.mktemp("sandbox-faults"))
    running.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    yield running
    stop_sandbox(running)


@pytest.fixture
def faults_off(sandbox):
    yield
    sandbox.control("/_sandbox/s3", {"latency_ms": 0, "fail": False})


def test_latency_slows_every_s3_request(sandbox, faults_off):
    s3 = sandbox.client("s3")
    sandbox.control("/_sandbox/s3", {"latency_ms": 1000})
    started = time.monotonic()
    s3.head_bucket(Bucket=BUCKET)
    assert time.monotonic() - started >= 1.0
    # Turned off, a request no longer waits the second (a wide margin: the machine may be busy).
    sandbox.control("/_sandbox/s3", {"latency_ms": 0})
    started = time.monotonic()
    s3.head_bucket(Bucket=BUCKET)
    assert time.monotonic() - started < 1.0


def test_failing_s3_answers_503_slowdown_until_turned_off(sandbox, faults_off):
    s3 = sandbox.client("s3", retries={"total_max_attempts": 1, "mode": "standard"})
    sandbox.control("/_sandbox/s3", {"fail": True, "status": 503})
    with pytest.raises(ClientError) as error:
        s3.put_object(Bucket=BUCKET, Key="a.json", Body=b"{}")
    assert error.value.response["Error"]["Code"] == "SlowDown"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    sandbox.control("/_sandbox/s3", {"fail": False})
    s3.put_object(Bucket=BUCKET, Key="a.json", Body=b"{}")


def test_fault_for_n_requests_then_s3_recovers(sandbox, faults_off):
    s3 = sandbox.client("s3", retries={"total_max_attempts": 1, "mode": "standard"})
    sandbox.control("/_sandbox/s3", {"fail": True, "status": 500, "count": 2})
    for _ in range(2):
        with pytest.raises(ClientError) as error:
            s3.head_bucket(Bucket=BUCKET)
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    s3.head_bucket(Bucket=BUCKET)


def test_other_services_are_not_affected_by_s3_faults(sandbox, faults_off):
    sandbox.control("/_sandbox/s3", {"fail": True, "status": 503})
    assert sandbox.client("iam").list_roles()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_lambda_writing_to_failing_s3_fails(sandbox, faults_off):
    source = (
        "import boto3\nfrom botocore.config import Config\n"
        "s3 = boto3.client('s3', config=Config(retries={'total_max_attempts': 1, 'mode': 'standard'}))\n"
        "def lambda_handler(event, context):\n"
        f"    s3.put_object(Bucket='{BUCKET}', Key='update.json', Body=b'{{}}')\n"
        "    return {'statusCode': 200}\n"
    )
    create_function(sandbox, "writer", source, Timeout=10)
    sandbox.client("iam").put_role_policy(  # as on AWS, the role must allow the write
        RoleName="lambda-role",
        PolicyName="writer",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
                ],
            }
        ),
    )
    sandbox.control("/_sandbox/s3", {"fail": True, "status": 503})
    response, payload = invoke(sandbox, "writer")
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "ClientError"
    assert "SlowDown" in payload["errorMessage"]
    sandbox.control("/_sandbox/s3", {"fail": False})
    response, payload = invoke(sandbox, "writer")
    assert payload == {"statusCode": 200}


@pytest.mark.parametrize(
    "body",
    [{"latency_ms": -5}, {"fail": True, "status": 418}, {"fail": True, "count": 0}, {"latnecy_ms": 5}],
)
def test_bad_fault_settings_are_rejected_in_portuguese_and_change_nothing(sandbox, body):
    before = sandbox.control("/_sandbox/s3")
    with pytest.raises(requests.HTTPError) as error:
        sandbox.control("/_sandbox/s3", body)
    assert error.value.response.status_code == 400
    message = error.value.response.json()["error"]
    assert any(word in message for word in ("deve", "desconhecidos"))
    assert sandbox.control("/_sandbox/s3") == before


def test_reset_empties_state_and_same_seed_gives_same_ids(tmp_path):
    running = start_sandbox(tmp_path, seed=7)
    try:

        def create_things() -> tuple[str, str]:
            api_id = running.client("apigatewayv2").create_api(Name="bot", ProtocolType="HTTP")["ApiId"]
            create_function(running, "f", "def lambda_handler(e, c):\n    return c.aws_request_id\n")
            return api_id, invoke(running, "f")[1]

        first = create_things()
        running.client("s3").create_bucket(
            Bucket="gone", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        assert running.control("/_sandbox/reset", {"seed": 7}) == {"status": "ok", "seed": 7}
        assert create_things() == first  # the same calls after the same seed give the same ids
        assert running.client("s3").list_buckets()["Buckets"] == []
        assert [f["FunctionName"] for f in running.client("lambda").list_functions()["Functions"]] == ["f"]
        running.control("/_sandbox/reset", {"seed": 8})
        assert create_things() != first
    finally:
        stop_sandbox(running)


def test_concurrent_writes_and_reads_of_one_key_all_succeed_as_on_s3(sandbox):
    """S3 serves each request whole: writers of one key race to be last, readers get some whole version.

    moto frees an overwritten object's buffer at once; a request still reading it used to answer 500.
    """
    from concurrent.futures import ThreadPoolExecutor

    s3 = sandbox.client("s3", retries={"total_max_attempts": 1, "mode": "standard"})  # no retry hides a 500
    bodies = {bytes([65 + n]) * (64 * 1024) for n in range(8)}

    def write_then_read(body: bytes) -> bytes:
        for _ in range(15):
            s3.put_object(Bucket=BUCKET, Key="part-0.parquet", Body=body)
            read = s3.get_object(Bucket=BUCKET, Key="part-0.parquet")["Body"].read()
            assert read in bodies  # a whole version, never a mix
        return read

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(write_then_read, sorted(bodies))) <= bodies


def test_emptying_a_bucket_page_by_page_while_listing_its_versions_leaves_it_empty(sandbox):
    """Notebook 06's teardown: list versions a page (1,000) at a time and delete each page before the next.

    S3 continues after the marker even when the marker's object is gone; moto looked for the deleted marker,
    found nothing after it, and a class of 2,000 messages (`make demo`) ended in BucketNotEmpty.
    """
    from concurrent.futures import ThreadPoolExecutor

    s3 = sandbox.client("s3")
    bucket = "faults-teardown"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    keys = [f"telegram/context_date=2025-03-17/{n}.json" for n in range(1, 1501)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=b"{}"), keys))

    pages, deleted = [], 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        versions = page.get("Versions", []) + page.get("DeleteMarkers", [])
        pages.append(len(versions))
        objects = [{"Key": item["Key"], "VersionId": item["VersionId"]} for item in versions]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
            deleted += len(objects)
    s3.delete_bucket(Bucket=bucket)

    assert (pages, deleted) == ([1000, 500], 1500)


def test_version_listing_pages_do_not_repeat_or_skip_a_key(sandbox):
    s3 = sandbox.client("s3")
    bucket = "faults-versions"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    keys = sorted(f"k{n:03d}" for n in range(25))
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    pages = s3.get_paginator("list_object_versions").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 10}
    )
    listed = [item["Key"] for page in pages for item in page.get("Versions", [])]
    assert listed == keys


def test_a_versioned_bucket_split_inside_a_key_is_emptied_page_by_page_too(sandbox):
    # With versioning on, a page can end between two versions of one key; the older ones come on the next page.
    s3 = sandbox.client("s3")
    bucket = "faults-versioned"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for n in range(3):
        for key in ("a.json", "b.json", "c.json"):
            s3.put_object(Bucket=bucket, Key=key, Body=str(n).encode())
    deleted = 0
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 4})
    for page in pages:
        objects = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", [])]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
            deleted += len(objects)
    s3.delete_bucket(Bucket=bucket)
    assert deleted == 9
