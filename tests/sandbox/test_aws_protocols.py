"""Every protocol AWS accepts, read from the installed botocore's models (sandbox.aws.protocol).

The cases come from the models themselves: for each service the sandbox offers and each protocol its model lists,
every operation is serialized as botocore would send it, and the sandbox must name the same operation and read the
same parameters. A service that moves to another protocol on some botocore release fails a test named after it.
Then real requests, hand-signed, reach the running sandbox in both of Athena's protocols, and what the sandbox
does not offer comes back in each protocol's own error shape, never as an HTML page.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from urllib.parse import unquote, urlencode, urlsplit

import boto3
import botocore.config
import botocore.loaders
import botocore.session
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.parsers import RpcV2CBORParser
from botocore.serialize import create_serializer

from sandbox.aws import protocol
from sandbox.server import SandboxServer

REGION = "sa-east-1"
CREDENTIALS = Credentials("testing", "testing")


def setup_module():
    protocol.install_retired_protocols()


def signing_name(service: str) -> str:
    metadata = protocol.service_model(service).metadata
    return metadata.get("signingName", metadata["endpointPrefix"])


def protocols_of(service: str) -> list[str]:
    """What the installed model lists, and the retired protocol the sandbox still accepts (Athena's JSON 1.1)."""
    metadata = botocore.session.get_session().get_service_model(service).metadata
    listed = metadata.get("protocols") or [metadata["protocol"]]
    retired = protocol.RETIRED_PROTOCOLS.get(service, {}).get("protocol")
    return [*listed, *([retired] if retired and retired not in listed else [])]


CASES = [(service, name) for service in protocol.OFFERED for name in protocols_of(service)]


# ---- placeholder input for any operation, from its input shape ---------------------------------------------------
def example(shape, depth: int = 0):
    """A small valid value for a shape: required members only, strings long enough for their minimum."""
    kind = shape.type_name
    if kind == "structure":
        return {name: example(shape.members[name], depth + 1) for name in shape.required_members if depth < 6}
    if kind == "list":
        return [example(shape.member, depth + 1)]
    if kind == "map":
        return {"k": example(shape.value, depth + 1)}
    if kind == "string":
        if shape.enum:
            return shape.enum[0]
        return "x" * max(1, int(shape.metadata.get("min", 1)))
    if kind in ("integer", "long"):
        return max(1, int(shape.metadata.get("min", 1)))
    if kind in ("float", "double"):
        return 1.5
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.timezone.utc)
    if kind == "blob":
        return b"x"
    return "x"


def environ_for(request_dict: dict, host: str = "127.0.0.1:4566") -> tuple[dict, bytes]:
    """A WSGI environ as the sandbox's server hands over the request botocore serialized."""
    body = request_dict["body"]
    if isinstance(body, dict):  # the query protocol's form, which botocore's client encodes when it sends
        body = urlencode(body)
    body = body.encode() if isinstance(body, str) else body if isinstance(body, bytes) else b""
    url = urlsplit("http://" + host + request_dict["url_path"])
    query = request_dict["query_string"]
    query_string = (
        requests.models.RequestEncodingMixin._encode_params(query) if isinstance(query, dict) else query
    )
    query_string = "&".join(filter(None, [url.query, query_string]))
    environ = {
        "REQUEST_METHOD": request_dict["method"],
        "PATH_INFO": unquote(url.path).encode().decode("latin-1"),
        "QUERY_STRING": query_string,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "4566",
        "HTTP_HOST": host,
        "wsgi.url_scheme": "http",
    }
    for name, value in request_dict["headers"].items():
        key = name.upper().replace("-", "_")
        value = value.decode() if isinstance(value, bytes) else str(value)
        environ["CONTENT_TYPE" if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return environ, body


@pytest.mark.parametrize(("service", "wire"), CASES, ids=[f"{s}-{p}" for s, p in CASES])
def test_every_operation_of_the_model_is_identified_in_each_protocol(service, wire):
    model = protocol.service_model(service)
    serializer = create_serializer(wire, include_validation=False)
    wrong = []
    for name in model.operation_names:
        operation_model = model.operation_model(name)
        params = example(operation_model.input_shape) if operation_model.input_shape else {}
        environ, body = environ_for(serializer.serialize_to_request(params, operation_model))
        found = protocol.identify(environ, None if service == "s3" else body, signing_name(service))
        same_route = _same_route(operation_model, found.model)
        if found.name != name and not same_route:
            wrong.append(f"{name} -> {found.name}")
            continue
        assert found.protocol == wire, name
        if service != "s3" and found.name == name:
            sent = {key for key, value in params.items() if value not in ({}, [])}  # empty ones are not sent
            assert sent <= set(found.params), (name, params, found.params)
    assert not wrong, f"{len(wrong)} of {len(model.operation_names)} operations misread: {wrong[:10]}"


def _same_route(expected, found) -> bool:
    """Two operations the wire cannot tell apart, on AWS either: S3's deprecated GetBucketLifecycle and its
    successor GetBucketLifecycleConfiguration are both `GET /{Bucket}?lifecycle` (the same answer)."""
    keys = ("method", "requestUri")
    return [expected.http.get(k) for k in keys] == [found.http.get(k) for k in keys]


def test_athena_moved_from_json_to_rest_and_both_are_read():
    rest = create_serializer("rest-json").serialize_to_request(
        {"WorkGroup": "primary"}, protocol.service_model("athena").operation_model("GetWorkGroup")
    )
    json_1_1 = create_serializer("json").serialize_to_request(
        {"WorkGroup": "primary"}, protocol.service_model("athena").operation_model("GetWorkGroup")
    )
    found = [protocol.identify(*environ_for(r), "athena") for r in (rest, json_1_1)]
    assert [(f.name, f.protocol, f.params) for f in found] == [
        ("GetWorkGroup", "rest-json", {"WorkGroup": "primary"}),
        ("GetWorkGroup", "json", {"WorkGroup": "primary"}),
    ]
    assert json_1_1["headers"]["X-Amz-Target"] == "AmazonAthena.GetWorkGroup"
    assert protocol.moto_protocol("athena") == "json"


# ---- the running sandbox, hand-signed requests --------------------------------------------------------------------
@pytest.fixture(scope="module")
def server():
    running = SandboxServer(aws_port=0, with_telegram=False).start()
    running.aws.reset()
    yield running
    running.stop()


def signed(server, service: str, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    """Send a request signed by hand with SigV4, as any AWS client does, and return the raw answer."""
    url = server.aws.endpoint_url + path
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    SigV4Auth(CREDENTIALS, service, REGION).add_auth(request)
    prepared = request.prepare()
    return requests.request(method, prepared.url, headers=dict(prepared.headers), data=body, timeout=30)


def json_1_1(server, operation: str, params: dict, prefix: str = "AmazonAthena"):
    headers = {"X-Amz-Target": f"{prefix}.{operation}", "Content-Type": "application/x-amz-json-1.1"}
    return signed(server, "athena", "POST", "/", json.dumps(params).encode(), headers)


def test_athena_answers_a_hand_signed_json_request_and_a_rest_one_alike(server):
    by_json = json_1_1(server, "GetWorkGroup", {"WorkGroup": "primary"})
    by_rest = signed(server, "athena", "GET", "/workgroups/primary")
    assert (by_json.status_code, by_rest.status_code) == (200, 200)
    assert by_json.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert by_rest.headers["Content-Type"] == "application/json"
    assert by_json.json()["WorkGroup"]["Name"] == by_rest.json()["WorkGroup"]["Name"] == "primary"


def test_athena_queries_run_in_both_protocols(server):
    s3 = boto3.client("s3", endpoint_url=server.aws.endpoint_url, region_name=REGION)
    s3.create_bucket(Bucket="resultados", CreateBucketConfiguration={"LocationConstraint": REGION})
    start = {
        "QueryString": "SELECT 40 + 2 AS resposta",
        "ResultConfiguration": {"OutputLocation": "s3://resultados/q/"},
    }
    by_json = json_1_1(server, "StartQueryExecution", start).json()["QueryExecutionId"]
    body = json.dumps(start).encode()
    by_rest = signed(
        server, "athena", "POST", "/query-executions", body, {"Content-Type": "application/json"}
    )
    by_rest = by_rest.json()["QueryExecutionId"]
    for execution_id in (by_json, by_rest):
        _wait(server, execution_id)
        rest = signed(
            server, "athena", "GET", f"/query-executions/{execution_id}/results?MaxResults=10"
        ).json()
        rpc = json_1_1(server, "GetQueryResults", {"QueryExecutionId": execution_id, "MaxResults": 10}).json()
        assert rest == rpc
        assert rest["ResultSet"]["Rows"][1] == {"Data": [{"VarCharValue": "42"}]}


def _wait(server, execution_id: str) -> None:
    athena = boto3.client("athena", endpoint_url=server.aws.endpoint_url, region_name=REGION)
    status = {"State": "QUEUED"}
    deadline = time.monotonic() + 60  # a wait, not a speed goal
    while status["State"] in ("QUEUED", "RUNNING") and time.monotonic() < deadline:
        status = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]
        time.sleep(0.05)
    assert status["State"] == "SUCCEEDED", status


def test_moto_served_athena_operations_answer_both_protocols(server):
    """Work groups, data catalogs, databases, named queries and prepared statements (moto's Athena handlers read
    JSON 1.1 only; a REST request is re-encoded for them)."""
    athena = boto3.client("athena", endpoint_url=server.aws.endpoint_url, region_name=REGION)
    athena.create_work_group(
        Name="turma", Configuration={"ResultConfiguration": {"OutputLocation": "s3://r/"}}
    )
    named = athena.create_named_query(
        Name="contagem", Database="telegram", QueryString="SELECT 1", WorkGroup="turma"
    )
    athena.create_prepared_statement(StatementName="por_dia", WorkGroup="turma", QueryStatement="SELECT ?")
    assert "turma" in [w["Name"] for w in athena.list_work_groups()["WorkGroups"]]
    assert athena.get_named_query(NamedQueryId=named["NamedQueryId"])["NamedQuery"]["Name"] == "contagem"
    statement = athena.get_prepared_statement(StatementName="por_dia", WorkGroup="turma")["PreparedStatement"]
    assert statement["QueryStatement"] == "SELECT ?"
    assert isinstance(athena.list_data_catalogs()["DataCatalogsSummary"], list)
    by_json = json_1_1(server, "GetNamedQuery", {"NamedQueryId": named["NamedQueryId"]})
    assert by_json.json()["NamedQuery"]["QueryString"] == "SELECT 1"
    with pytest.raises(ClientError) as missing:
        athena.get_work_group(WorkGroup="nao-existe")
    assert missing.value.response["Error"]["Code"] == "InvalidRequestException"


# ---- what the sandbox does not offer ----------------------------------------------------------------------------
def test_an_unknown_json_operation_is_a_json_error_in_portuguese(server):
    answer = json_1_1(server, "DescobrirTudo", {})
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert answer.json()["__type"] == "UnknownOperationException"
    assert "O sandbox não conhece esta operação" in answer.json()["message"]
    assert "<html" not in answer.text.lower()


def test_an_unknown_rest_route_is_a_404_with_its_error_type(server):
    answer = signed(server, "athena", "GET", "/rotas/que-nao-existem")
    assert answer.status_code == 404
    assert answer.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    assert "GET /rotas/que-nao-existem" in answer.json()["message"]


def test_botocore_reads_the_unknown_operation_as_a_client_error(server):
    """An operation the installed model has but the sandbox never serves reaches a learner as a ClientError."""
    athena = boto3.client("athena", endpoint_url=server.aws.endpoint_url, region_name=REGION)
    with pytest.raises(ClientError) as raised:
        athena._make_api_call("ListApplicationDPUSizes", {})
    assert "<!doctype" not in str(raised.value).lower()


def test_a_service_the_sandbox_does_not_offer_answers_in_its_own_protocol(server):
    ec2 = signed(server, "ec2", "POST", "/", b"Action=DescribeInstances&Version=2016-11-15",
                 {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert ec2.status_code == 400
    assert "<Code>UnknownOperationException</Code>" in ec2.content.decode()
    assert "O sandbox não oferece o serviço ec2" in ec2.content.decode()
    client = boto3.client("ec2", endpoint_url=server.aws.endpoint_url, region_name=REGION)
    with pytest.raises(ClientError, match="O sandbox não oferece o serviço ec2"):
        client.describe_instances()


def test_unknown_query_and_s3_operations_answer_in_xml(server):
    iam = signed(server, "iam", "POST", "/", b"Action=InventarUmaAcao&Version=2010-05-08",
                 {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert iam.status_code == 400 and "<Code>UnknownOperationException</Code>" in iam.text
    s3 = signed(server, "s3", "PATCH", "/um-bucket")
    assert s3.status_code == 501 and "<Code>NotImplemented</Code>" in s3.text


# ---- the next service to move ----------------------------------------------------------------------------------
@pytest.fixture
def logs_moved_to_cbor(server, monkeypatch):
    """CloudWatch Logs as a botocore release would model it once AWS moves it to Smithy RPC v2 CBOR alone (48
    services list CBOR already, next to JSON or query, which botocore 1.44 still prefers): then a boto3 client
    sends CBOR. The sandbox and the client both read the changed model; moto's caches are cleared around it."""
    import moto.core.routing as routing
    import moto.core.utils as utils

    def moved(model: dict) -> dict:
        cbor = "smithy-rpc-v2-cbor"
        return {**model, "metadata": {**model["metadata"], "protocol": cbor, "protocols": [cbor]}}

    def clear():
        for cached in (utils.get_service_model, routing.get_service_router, protocol.service_model,
                       protocol.moto_protocol, protocol.services_signed_as):  # fmt: skip
            cached.cache_clear()

    # Beneath both readers: botocore's loader class, which moto's own loader extends.
    load = botocore.loaders.Loader.load_service_model

    def load_moved(loader, name, kind, api_version=None):
        model = load(loader, name, kind, api_version)
        return moved(model) if (name, kind) == ("logs", "service-2") else model

    monkeypatch.setattr(botocore.loaders.Loader, "load_service_model", load_moved)
    clear()
    session = botocore.session.get_session()
    yield boto3.Session(botocore_session=session).client(
        "logs", endpoint_url=server.aws.endpoint_url, region_name=REGION
    )
    monkeypatch.undo()
    clear()


def test_a_service_that_moves_to_cbor_keeps_working_with_the_new_client(logs_moved_to_cbor, server):
    logs_server = server
    logs = logs_moved_to_cbor
    assert logs.meta.service_model.resolved_protocol == "smithy-rpc-v2-cbor"  # what the new client sends
    sent = []
    logs.meta.events.register(
        "before-send", lambda request, **_: sent.append(request.headers["smithy-protocol"])
    )
    logs.create_log_group(logGroupName="/aws/lambda/ingestao")
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/aws/lambda/ingestao"]
    with pytest.raises(ClientError) as again:
        logs.create_log_group(logGroupName="/aws/lambda/ingestao")
    assert again.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    assert again.value.response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/cbor"
    assert sent == [b"rpc-v2-cbor"] * 3
    # Clients of the botocore before the move still send JSON 1.1, which AWS keeps accepting.
    old = signed(logs_server, "logs", "POST", "/", b'{"logGroupNamePrefix": "/aws/"}',
                 {"X-Amz-Target": "Logs_20140328.DescribeLogGroups", "Content-Type": "application/x-amz-json-1.1"})  # fmt: skip
    assert [g["logGroupName"] for g in old.json()["logGroups"]] == ["/aws/lambda/ingestao"]


def test_an_unknown_cbor_operation_is_a_cbor_error(logs_moved_to_cbor, server):
    path = "/service/Logs_20140328/operation/InventarUmaOperacao"
    answer = signed(server, "logs", "POST", path, b"\xa0",
                    {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"})  # fmt: skip
    assert answer.status_code == 400 and answer.headers["Content-Type"] == "application/cbor"
    parsed = RpcV2CBORParser().parse(
        {"status_code": 400, "headers": answer.headers, "body": answer.content}, None
    )
    assert parsed["Error"]["Code"] == "UnknownOperationException"
    assert "O sandbox não conhece esta operação do CloudWatch Logs" in parsed["Error"]["Message"]


# ---- the sandbox's own faults -----------------------------------------------------------------------------------
@pytest.mark.parametrize("service", ["athena", "iam", "s3"])
def test_a_fault_of_the_sandbox_is_a_500_the_client_reads_not_an_html_page(server, monkeypatch, service):
    def broken(*args, **kwargs):
        raise RuntimeError("um defeito do sandbox")

    monkeypatch.setattr(server.aws, "_served_here", broken)
    client = boto3.client(
        service,
        endpoint_url=server.aws.endpoint_url,
        region_name=REGION,
        config=botocore.config.Config(retries={"max_attempts": 1}),
    )
    call = {"athena": lambda: client.list_work_groups(), "iam": lambda: client.list_users(),
            "s3": lambda: client.list_buckets()}[service]  # fmt: skip
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert error["Error"]["Code"] == "InternalFailure"
    assert "Erro interno do sandbox" in error["Error"]["Message"]
