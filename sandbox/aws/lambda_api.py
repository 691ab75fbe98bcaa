"""Lambda's API checks that moto does not make: code size limits and repeated permission statements.

The sandbox runs them before moto stores anything (sandbox.aws.app routes CreateFunction, UpdateFunctionCode,
UpdateFunctionConfiguration and AddPermission here); the messages are Lambda's own.
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from collections.abc import Callable
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from sandbox import config
from sandbox.aws.lambda_runner import UNZIPPED_LIMIT, unzipped_size

# A 50 MB zip, base64-encoded in the JSON request: Lambda refuses larger requests with this number.
MAX_CODE_REQUEST = 69_905_067
REGION_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[\w-]+)/")


def _region(environ: dict) -> str:
    match = REGION_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match["region"] if match else config.REGION


def code_over_limits(
    environ: dict, operation: str, layers_size: Callable[[str, list], int]
) -> Response | None:
    """Lambda's size limits on code, checked before moto stores it; the messages are Lambda's own.

    A direct upload's request is at most a 50 MB zip in base64 ("Request must be smaller than 69905067 bytes
    for the CreateFunction operation", as reported in motdotla/node-lambda#123); the zip may unzip to at most
    250 MB, and with its layers too. Sizes come from the zips' central directories: nothing is extracted
    (the runner's extraction is bounded as well, for entries that lie).
    """
    length = environ.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > MAX_CODE_REQUEST:
        return lambda_error(
            413,
            "RequestEntityTooLargeException",
            f"Request must be smaller than {MAX_CODE_REQUEST} bytes for the {operation} operation",
        )
    body = Request(environ).get_data()
    environ["wsgi.input"] = io.BytesIO(body)  # moto reads the body again when the request goes on
    environ["CONTENT_LENGTH"] = str(len(body))
    region = _region(environ)
    name = unquote(environ["PATH_INFO"].split("/")[3]) if operation != "CreateFunction" else None
    try:
        params = json.loads(body or b"{}")
        code = params.get("Code") if operation == "CreateFunction" else params
        zipped = base64.b64decode(code["ZipFile"], validate=True) if "ZipFile" in (code or {}) else None
        if zipped is None and "S3Key" in (code or {}):
            zipped = s3_object(code.get("S3Bucket"), code["S3Key"])
        code_size = unzipped_size(zipped) if zipped is not None else None
        layers = params.get("Layers") if operation != "UpdateFunctionCode" else None
    except (ValueError, TypeError, KeyError, AttributeError, zipfile.BadZipFile):
        return None  # malformed, or not a zip: moto answers as before
    if code_size is not None and code_size > UNZIPPED_LIMIT:
        return lambda_error(
            400,
            "InvalidParameterValueException",
            f"Unzipped size must be smaller than {UNZIPPED_LIMIT} bytes",
        )
    if code_size is None and not layers:
        return None
    try:
        total = layers_size(region, name, code_size, layers)
    except LookupError:
        return None  # a missing function or layer: moto says so
    if total > UNZIPPED_LIMIT:
        return lambda_error(
            400,
            "InvalidParameterValueException",
            f"Function code combined with layers exceeds the maximum allowed size of {UNZIPPED_LIMIT} bytes. "
            f"The actual size is {total} bytes.",
        )
    return None


def s3_object(bucket: str, key: str) -> bytes | None:
    """The code object a CreateFunction/UpdateFunctionCode names in S3; None when moto has no such object."""
    from moto.s3.models import s3_backends

    try:
        return s3_backends[config.ACCOUNT_ID]["aws"].get_object(bucket, key).value
    except Exception:  # moto's own errors (no bucket, no key): it answers them itself
        return None


def lambda_error(status: int, error_type: str, message: str) -> Response:
    headers = {"x-amzn-ErrorType": error_type, "Content-Type": "application/json"}
    return Response(json.dumps({"Type": "User", "message": message}), status=status, headers=headers)


def unzipped_total(region: str, name: str | None, code_size: int | None, layers: list | None) -> int:
    """Unzipped bytes of a function's code plus its layers; what is not given is the function's current one.

    Layers the sandbox provides from its own environment (the AWS-managed pandas layer) count as 0.
    """
    from moto.awslambda.utils import get_backend
    from moto.core.exceptions import ServiceException, _RESTError

    backend = get_backend(config.ACCOUNT_ID, region)
    current = None
    if name is not None and (code_size is None or layers is None):
        try:
            current = backend.get_function(name)
        except (ServiceException, _RESTError) as exc:
            raise LookupError(name) from exc
    if code_size is None:
        code_size = unzipped_size(getattr(current, "code_bytes", b"") or b"") if current else 0
    arns = layers if layers is not None else [layer["Arn"] for layer in (current.layers if current else [])]
    total = code_size
    for arn in arns:
        version = backend.layers_versions_by_arn(arn) if isinstance(arn, str) else None
        if version is None:
            raise LookupError(arn)
        total += unzipped_size(getattr(version, "code_bytes", b"") or b"")
    return total


def repeated_statement(operation, policy: Callable[[str, str], list[dict]]) -> Response | None:
    """AddPermission with a StatementId the policy already has: AWS refuses it, moto would add a twin; and
    AddPermission on $LATEST, which Lambda refuses."""
    region = _region(operation.request.environ)
    if operation.params.get("Qualifier") == "$LATEST" or str(operation.params.get("FunctionName")).endswith(
        ":$LATEST"
    ):
        # AddPermission API reference: "Lambda does not support adding policies to version $LATEST" (the answer is
        # quoted in terraform-aws-modules/terraform-aws-lambda#36)
        return lambda_error(
            400, "InvalidParameterValueException", "We currently do not support adding policies for $LATEST."
        )
    try:
        statement_id = operation.params.get("StatementId")
        name = str(operation.params["FunctionName"])
        qualifier = operation.params.get("Qualifier")
        existing = policy(region, f"{name}:{qualifier}" if qualifier else name)  # each qualifier has its own
    except LookupError:
        return None  # moto answers missing functions itself
    if statement_id not in {statement.get("Sid") for statement in existing}:
        return None
    return lambda_error(
        409,
        "ResourceConflictException",
        f"The statement id ({statement_id}) provided already exists. "
        "Please provide a new statement id, or remove the existing statement.",
    )


# ---- a version's or alias's own policy ---------------------------------------------------------------------------
# AddPermission API reference: "You can apply the policy at the function level, or specify a qualifier to restrict
# access to a single version or alias. If you use a qualifier, the invoker must use the full Amazon Resource Name
# (ARN) of that version or alias to invoke the function. Note: Lambda does not support adding policies to version
# $LATEST." moto keeps every qualifier's statements in one list, each Resource ending with its qualifier.


def split_qualifier(name: str, qualifier: str | None = None) -> tuple[str, str | None]:
    """(the function's name or unqualified ARN, the qualifier) of a name, partial ARN or ARN; $LATEST is none."""
    parts = name.split(":")
    if name.startswith("arn:") and len(parts) > 7:
        name, qualifier = ":".join(parts[:7]), qualifier or parts[7]
    elif not name.startswith("arn:") and ":function:" in name and len(parts) > 3:
        name, qualifier = ":".join(parts[:3]), qualifier or parts[3]
    elif ":function:" not in name and len(parts) == 2:
        name, qualifier = parts[0], qualifier or parts[1]
    return name, (None if qualifier in (None, "", "$LATEST") else qualifier)


def statements_for(statements: list[dict], qualifier: str | None) -> list[dict]:
    """The statements of the function's own policy (qualifier None) or of one version's or alias's."""

    def qualifier_of(statement: dict) -> str | None:
        resource = statement.get("Resource")
        parts = resource.split(":") if isinstance(resource, str) else []
        return parts[7] if len(parts) > 7 else None

    return [statement for statement in statements if qualifier_of(statement) == qualifier]


def install_qualified_policies() -> None:
    """GetPolicy answers the policy of the qualifier asked for (moto answered every qualifier's statements)."""
    from moto.awslambda.exceptions import GenericResourcNotFound
    from moto.awslambda.models import LambdaBackend

    from sandbox.aws.patching import replaces

    @replaces(LambdaBackend, "get_policy")
    def get_policy(original, self, function_name: str, qualifier: str | None = None) -> str:
        original(self, function_name, qualifier)  # moto's errors for a missing function or qualifier
        name, wanted = split_qualifier(function_name, qualifier)
        fn = self.get_function(name)
        statements = statements_for(list(fn.policy.statements), wanted)
        if not statements:
            raise GenericResourcNotFound()
        policy = {"Version": "2012-10-17", "Id": "default", "Statement": statements}
        return json.dumps({"Policy": json.dumps(policy), "RevisionId": fn.policy.revision})
