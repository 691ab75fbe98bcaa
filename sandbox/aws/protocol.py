"""How a request reaches an AWS service, read from the installed botocore's service models.

AWS moves services between protocols and keeps accepting the old form: botocore 1.44.18 models Athena as REST
(`GET /workgroups/{WorkGroup}`) where 1.44.13 sent JSON 1.1 (`X-Amz-Target: AmazonAthena.GetWorkGroup`). So the
sandbox hard-codes no route: each request is matched to its operation, and its parameters read, by moto's
model-driven router and parsers (moto.core.routing, moto.core.parse), for every protocol the model lists (query,
json, rest-json, rest-xml, smithy-rpc-v2-cbor). Answers the sandbox makes itself, and its errors, are written by
moto's serializers (moto.core.serialize) in the protocol the request came in.

moto's handlers were written for one protocol per service (`moto_protocol`). A request in another one is
re-encoded for moto with botocore's own client serializer, and moto's answer read back with botocore's client parser
and written again in the caller's protocol: an upgrade of botocore is all it takes when AWS moves the next service.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlencode

# Protocols AWS still accepts that the installed botocore no longer models, with the metadata they need. Athena
# answered JSON 1.1 under this target prefix (botocore <= 1.44.13, athena/2017-05-18/service-2.json), and moto 5.2's
# Athena handlers still read that form.
RETIRED_PROTOCOLS: dict[str, dict[str, str]] = {
    "athena": {"protocol": "json", "jsonVersion": "1.1", "targetPrefix": "AmazonAthena"},
}
CBOR = "smithy-rpc-v2-cbor"
# The services the sandbox offers (botocore names), by the SigV4 signing name their requests carry.
OFFERED = (
    "s3",
    "iam",
    "sts",
    "lambda",
    "apigateway",
    "apigatewayv2",
    "events",
    "scheduler",
    "glue",
    "athena",
    "logs",
    "ssm",
)
UNKNOWN_OPERATION = "UnknownOperationException"


class MalformedRequest(Exception):
    """A request whose parameters do not read as its operation's model says (AWS: SerializationException)."""


class UnknownOperation(Exception):
    """A signed request the sandbox cannot map to an operation it offers (message in Portuguese)."""

    def __init__(self, service: str, protocol: str, message: str):
        super().__init__(message)
        self.service, self.protocol, self.message = service, protocol, message


@dataclass
class Operation:
    """One request, identified: the service (botocore's name), the operation and the protocol it came in."""

    service: str
    name: str
    protocol: str
    model: Any  # moto.core.model.OperationModel
    request: Any = field(repr=False)  # moto.core.request.Request
    uri_params: dict = field(default_factory=dict, repr=False)
    _params: dict | None = field(default=None, repr=False)

    @property
    def params(self) -> dict:
        """The operation's input, parsed from wherever the model puts each member (uri, query, header, body)."""
        if self._params is None:
            from moto.core.parse import PROTOCOL_PARSERS

            parser = PROTOCOL_PARSERS[self.protocol](self.model)
            try:
                self._params = parser.parse(
                    {
                        "method": self.request.method,
                        "values": self.request.values,
                        "headers": self.request.headers,
                        "body": self.request.get_data(),
                        "url_path": self.request.path,
                        "url_params": self.uri_params,
                    }
                )
            except (
                Exception
            ) as error:  # moto's parsers raise what the bytes make them (ValueError, KeyError...)
                raise MalformedRequest(f"Corpo inválido para {self.name}: {error}") from error
        return self._params

    @property
    def native(self) -> bool:
        """Whether moto's handlers read this request as it is."""
        return self.protocol == moto_protocol(self.service)


# ---- the model, as the sandbox and moto see it -----------------------------------------------------------------
def install_retired_protocols() -> None:
    """moto reads the installed botocore's models; give a moved service its retired protocol back, so that moto's
    router still matches the form its handlers were written for (and the sandbox accepts it from old clients)."""
    import moto.core.routing as routing
    import moto.core.utils as utils

    from sandbox.aws.patching import replaces

    @replaces(utils, "_load_service_model")
    def _load_service_model(original, service_name: str, model_name: str) -> dict:
        model = original(service_name, model_name)
        retired = retired_protocol(service_name, model["metadata"]) if model_name == "service-2" else None
        if retired is not None:
            metadata = model["metadata"]
            protocols = metadata.get("protocols") or [metadata["protocol"]]
            if retired["protocol"] not in protocols:
                model = {
                    **model,
                    "metadata": {**retired, **metadata, "protocols": [*protocols, retired["protocol"]]},
                }
        return model

    # Models and routers read before this (a process that preloads moto) are read again.
    utils.get_service_model.cache_clear()
    routing.get_service_router.cache_clear()
    service_model.cache_clear()


def retired_protocol(service: str, metadata: dict) -> dict[str, str] | None:
    """The form moto's handlers read that the model no longer lists: Athena's JSON 1.1, or JSON for a JSON service
    whose model lists CBOR alone. (The 48 services botocore 1.44 models in CBOR all list JSON or query too; the
    day one drops it, its CBOR path `/service/{targetPrefix}/operation/...` still names the JSON target prefix.)"""
    if service in RETIRED_PROTOCOLS:
        return RETIRED_PROTOCOLS[service]
    protocols = metadata.get("protocols") or [metadata["protocol"]]
    if protocols == [CBOR] and "targetPrefix" in metadata:
        return {
            "protocol": "json",
            "jsonVersion": metadata.get("jsonVersion", "1.0"),
            "targetPrefix": metadata["targetPrefix"],
        }
    return None


@cache
def service_model(name: str):
    from moto.core.utils import get_service_model

    return get_service_model(name)


@cache
def moto_protocol(service: str) -> str:
    """The protocol moto's handlers for a service read: a retired one the sandbox restored, else the first the model
    lists that is not CBOR (moto's JSON handlers predate smithy-rpc-v2-cbor), else the model's own."""
    if service in RETIRED_PROTOCOLS:
        return RETIRED_PROTOCOLS[service]["protocol"]
    metadata = service_model(service).metadata
    protocols = metadata.get("protocols") or [metadata["protocol"]]
    return next((p for p in protocols if p != CBOR), metadata["protocol"])


@cache
def services_signed_as(signing_name: str) -> tuple[str, ...]:
    """The offered services whose requests are signed with this name (API Gateway's v1 and v2 share one)."""
    found = []
    for name in OFFERED:
        metadata = service_model(name).metadata
        if metadata.get("signingName", metadata["endpointPrefix"]) == signing_name:
            found.append(name)
    return tuple(found)


def protocol_of(service: str, request, strict: bool = False) -> str:
    """The protocol a request uses, as moto tells it (headers and content type), among those the model lists. Not
    one of them: NotImplementedError when strict, else the model's own (for the error's shape)."""
    from moto.core.request import determine_request_protocol

    model = service_model(service)
    try:
        return determine_request_protocol(model, request)
    except NotImplementedError:
        if strict:
            raise
        return model.metadata["protocol"]


# ---- reading a request --------------------------------------------------------------------------------------------
def identify(environ: dict, body: bytes | None, signing_name: str) -> Operation:
    """The operation a signed request calls. Raises UnknownOperation for a service, protocol or operation the
    sandbox does not offer. The body is put back in `environ` for whoever reads it next; with `body` None the body
    is left unread (and the operation's params cannot be read)."""
    from moto.core.request import Request
    from werkzeug.exceptions import NotFound

    if body is not None:
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
    request = Request(environ)
    if body is not None:
        request.get_data()  # read (and kept) now, so the environ's stream can be rewound for moto
        environ["wsgi.input"] = io.BytesIO(body)
    candidates = services_signed_as(signing_name)
    if not candidates:
        raise UnknownOperation(
            signing_name,
            _protocol_guess(signing_name, request),
            f"O sandbox não oferece o serviço {signing_name}.",
        )
    from moto.core.routing import get_service_router

    for service in candidates:
        try:
            protocol = protocol_of(service, request, strict=True)
            operation, uri_params = get_service_router(service).match(request)
        except (NotFound, NotImplementedError):
            continue
        return Operation(service, operation.name, protocol, operation, request, dict(uri_params))
    service = candidates[0]
    protocol = protocol_of(service, request)
    described = request.headers.get("X-Amz-Target") or f"{request.method} {request.path}"
    raise UnknownOperation(
        service,
        protocol,
        f"O sandbox não conhece esta operação do {service_model(service).metadata['serviceId']} "
        f"({described}): ela não existe no modelo do botocore instalado.",
    )


def _protocol_guess(signing_name: str, request) -> str:
    """For a service the sandbox does not offer: its protocol from the installed botocore, if it has the model."""
    import botocore.exceptions
    import botocore.session

    try:
        return botocore.session.get_session().get_service_model(signing_name).metadata["protocol"]
    except botocore.exceptions.UnknownServiceError:
        return "json" if request.headers.get("X-Amz-Target") else "rest-json"


# ---- writing answers ---------------------------------------------------------------------------------------------
def serialize(operation: Operation, result: dict) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a successful answer, in the protocol the request came in."""
    from moto.core.serialize import get_serializer_class

    serializer = get_serializer_class(operation.service, _answer_protocol(operation))(operation.model)
    response = serializer.serialize(result)
    return _response(response)


def serialize_error(
    operation: Operation | None, code: str, message: str, status: int, service: str = "", protocol: str = ""
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of an error, in the request's protocol: what botocore reads as a ClientError."""
    from moto.core.exceptions import ServiceException

    service = operation.service if operation is not None else service
    protocol = _answer_protocol(operation) if operation is not None else protocol
    if operation is None or not _modeled(service, code):
        return _unmodeled_error(service, protocol, code, message, status)
    from moto.core.serialize import get_serializer_class

    serializer = get_serializer_class(service, protocol)(operation.model)
    response = serializer.serialize(ServiceException(code, message))
    response["status_code"] = status
    return _response(response)


def content_type_of(operation: Operation) -> str:
    """The Content-Type of an answer in the request's protocol."""
    return {
        "json": f"application/x-amz-json-{service_model(operation.service).metadata.get('jsonVersion', '1.1')}",
        "rest-json": "application/json",
        "smithy-rpc-v2-cbor": "application/cbor",
        "query": "text/xml",
        "ec2": "text/xml",
    }.get(operation.protocol, "application/xml")


@cache
def _error_codes(service: str):
    from moto.core.errors import ErrorLookupFactory

    return ErrorLookupFactory().for_service(service_model(service))


def _modeled(service: str, code: str) -> bool:
    """Whether the model describes this error (moto's serializer warns about, and guesses at, any other)."""
    return _error_codes(service).from_code(code) is not None


def _answer_protocol(operation: Operation) -> str:
    # moto writes a query-protocol answer as JSON when the caller asked for it (the AWS CLI v2 does for IAM).
    return operation.protocol


def _response(response: dict) -> tuple[int, dict[str, str], bytes]:
    body = response["body"]
    body = body.encode() if isinstance(body, str) else (body or b"")
    return int(response["status_code"]), {k: str(v) for k, v in response["headers"].items()}, body


def _unmodeled_error(service: str, protocol: str, code: str, message: str, status: int):
    """An error for a request no operation of the model matches (so no serializer has an operation to write for)."""
    from xml.sax.saxutils import escape

    if protocol in ("query", "ec2"):
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{escape(message)}</Message></Error></ErrorResponse>"
        )
        return status, {"Content-Type": "text/xml"}, body.encode()
    if protocol == "rest-xml":
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>'
        return status, {"Content-Type": "application/xml"}, body.encode()
    headers = {"x-amzn-ErrorType": code}
    if protocol == "smithy-rpc-v2-cbor":
        from botocore.model import ShapeResolver
        from botocore.serialize import RpcV2CBORSerializer

        shapes = {"Error": {"type": "structure", "members": {"__type": {"shape": "S"}, "message": {"shape": "S"}}},
                  "S": {"type": "string"}}  # fmt: skip
        body = bytearray()
        RpcV2CBORSerializer()._serialize_data_item(
            body, {"__type": code, "message": message}, ShapeResolver(shapes).get_shape_by_name("Error")
        )
        return (
            status,
            headers | {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"},
            bytes(body),
        )
    content_type = "application/json" if protocol.startswith("rest") else "application/x-amz-json-1.1"
    body = json.dumps({"__type": code, "message": message}, ensure_ascii=False).encode()
    return status, headers | {"Content-Type": content_type}, body


def unknown_operation_response(error: UnknownOperation) -> tuple[int, dict[str, str], bytes]:
    """AWS answers an operation it does not know with UnknownOperationException: 400 in the RPC protocols, 404 on a
    REST route no operation has; S3 and the query services answer in XML."""
    rest = error.protocol.startswith("rest")
    code = "NotImplemented" if error.protocol == "rest-xml" else UNKNOWN_OPERATION
    status = 501 if error.protocol == "rest-xml" else 404 if rest else 400
    return _unmodeled_error(error.service, error.protocol, code, error.message, status)


# ---- moto in its own protocol --------------------------------------------------------------------------------------
def to_moto(operation: Operation, environ: dict) -> dict:
    """A WSGI environ carrying the same call in the protocol moto's handlers read (botocore's client serializer)."""
    from botocore.serialize import create_serializer

    protocol = moto_protocol(operation.service)
    request = create_serializer(protocol, include_validation=False).serialize_to_request(
        operation.params, operation.model
    )
    body = request["body"]
    if isinstance(body, dict):  # the query protocol's form, which botocore's client encodes when it sends
        body = urlencode(body)
    body = body.encode() if isinstance(body, str) else (body or b"")
    query = request["query_string"]
    translated = {k: v for k, v in environ.items() if not k.startswith("HTTP_") or k == "HTTP_AUTHORIZATION"}
    translated |= {
        "REQUEST_METHOD": request["method"],
        "PATH_INFO": request["url_path"].split("?", 1)[0],
        "QUERY_STRING": urlencode(query, doseq=True) if isinstance(query, dict) else (query or ""),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    translated.pop("CONTENT_TYPE", None)
    for name in ("HTTP_HOST", "HTTP_X_AMZ_DATE"):
        if name in environ:
            translated[name] = environ[name]
    for name, value in request["headers"].items():
        key = name.upper().replace("-", "_")
        translated["CONTENT_TYPE" if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return translated


def from_moto(
    operation: Operation, status: int, headers: dict, body: bytes
) -> tuple[int, dict[str, str], bytes]:
    """moto's answer (in its protocol) read with botocore's client parser and written in the request's protocol."""
    from botocore.parsers import create_parser

    parser = create_parser(moto_protocol(operation.service))
    response = {"status_code": status, "headers": headers, "body": body}
    parsed = parser.parse(response, operation.model.output_shape)
    request_id = parsed.get("ResponseMetadata", {}).get("RequestId")
    if status >= 300:
        error = parsed.get("Error", {})
        answer = serialize_error(
            operation, error.get("Code") or "InternalFailure", error.get("Message", ""), status
        )
    else:
        parsed.pop("ResponseMetadata", None)
        answer = serialize(operation, parsed)
    if request_id:
        answer[1]["x-amzn-RequestId"] = request_id
    return answer
