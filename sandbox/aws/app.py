"""The AWS port: moto's WSGI app behind a small dispatcher that adds what moto lacks.

Intercepted before moto: Lambda Invoke (runs the handler), Athena query actions (sandbox.athena),
S3 latency/faults, execute-api URLs (/_sandbox/execute-api/{host}/{path}) and control routes (/_sandbox/...).
Every signed request is authorized for its caller (sandbox.aws.authorization): the sandbox's own credentials keep
full rights; IAM users created in the sandbox, and functions (with credentials of their own role), are allowed
only what their identity policies allow (sandbox.aws.iam_policy). A function's logs are written with its role too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from werkzeug.wrappers import Request, Response

from sandbox import config
from sandbox.aws.authorization import (
    ROOT_CANNOT_ASSUME_ROLES,
    Caller,
    athena_call_checks,
    athena_denial,
    decide,
    denied_response,
    entity_paths,
    error_response,
    find_caller,
    global_context,
    request_checks,
    role_session,
    root_caller,
    signed_request,
    sigv2_access_key,
    unknown_key_response,
    unmapped_response,
)
from sandbox.aws.faults import S3Faults, s3_error, s3_error_response
from sandbox.aws.gateway import LAMBDA_MAX_SYNC_PAYLOAD, Gateway, UnknownHost
from sandbox.aws.iam_patches import moto_judges_bucket_policies
from sandbox.aws.iam_policy import DELETE_KEY, DELETE_OBJECT, Check, Decision, UnmappedRequest
from sandbox.aws.lambda_api import (
    code_over_limits,
    lambda_error,
    repeated_statement,
    split_qualifier,
    statements_for,
    unzipped_total,
)
from sandbox.aws.lambda_runner import (
    FunctionSpec,
    InvocationResult,
    LambdaRunner,
    LayerCode,
)
from sandbox.aws.moto_setup import SERVICE_APPS, configure_moto, create_backends, seed_moto
from sandbox.aws.protocol import (
    UNKNOWN_OPERATION,
    MalformedRequest,
    Operation,
    UnknownOperation,
    content_type_of,
    from_moto,
    identify,
    moto_protocol,
    serialize,
    serialize_error,
    to_moto,
    unknown_operation_response,
)
from sandbox.aws.service_trust import (
    LAMBDA,
    LAMBDA_CANNOT_ASSUME,
    SCHEDULER,
    SCHEDULER_CANNOT_ASSUME,
    function_arn,
    schedule_group_arn,
    service_may_assume,
)
from sandbox.aws.tag_keys import with_tag_keys

log = logging.getLogger(__name__)

CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[\w-]+)/(?P<service>[\w-]+)/aws4_request")
ACCESS_KEY = re.compile(r"Credential=(?P<key>[^/]+)/")
EMPTY_DELETE_RESULT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></DeleteResult>'
)
DELETE_VERSION = re.compile(r"<VersionId>(.*?)</VersionId>", re.DOTALL)
# Calls no policy controls: GetCallerIdentity ("No permissions are required", its API reference) and
# GetSessionToken (IAM User Guide, "Permissions for GetSessionToken": "You cannot use policies to control
# authentication operations").
ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity", "sts:GetSessionToken"})
ATHENA_QUERY_ACTIONS = frozenset(
    {
        "StartQueryExecution",
        "GetQueryExecution",
        "GetQueryResults",
        "StopQueryExecution",
        "ListQueryExecutions",
        "BatchGetQueryExecution",
    }
)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _scope(environ: dict) -> tuple[str | None, str | None]:
    """(region, service) from the SigV4 Authorization header or a presigned URL."""
    text = environ.get("HTTP_AUTHORIZATION", "") or unquote(environ.get("QUERY_STRING", ""))
    text = text.replace("X-Amz-Credential=", "Credential=")
    match = CREDENTIAL_SCOPE.search(text)
    return (match["region"], match["service"]) if match else (None, None)


class AwsSandbox:
    def __init__(self, endpoint_url: str, seed: int = config.DEFAULT_SEED):
        configure_moto()
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.moto_app = DomainDispatcherApplication(create_backend_app)
        # Load every service now: the first call of a service no longer takes seconds, and the ids drawn
        # while loading do not shift the seeded ones (same seed -> same ids, from start as after a reset).
        for name in SERVICE_APPS:
            self.moto_app.app_instances[name] = create_backend_app(name)
        self.endpoint_url = endpoint_url
        self.seed = seed
        self.started = time.time()
        self._moto_lock = threading.Lock()  # moto's log backend is not thread-safe
        self._s3_lock = threading.Lock()  # one S3 request at a time inside moto (see __call__)
        # The credentials each function runs with.
        self.role_sessions: dict[str, tuple[str, str, str]] = {}  # key -> (role ARN, session name, token)
        self.runner = LambdaRunner(
            endpoint_url,
            config.ACCESS_KEY_ID,
            config.SECRET_ACCESS_KEY,
            seed,
            log_sink=self._write_logs,
            session_credentials=self._session_credentials,
        )
        self.gateway = Gateway(
            config.ACCOUNT_ID, invoke=self._invoke_for_gateway, policy=self._policy, seed=seed
        )
        self.faults = S3Faults()
        self._athena_service = None  # made at the first Athena request (see `athena`)
        self._athena_lock = threading.Lock()
        self.reset_hooks: list[Callable[[int], None]] = []
        self.status_hooks: list[Callable[[], dict]] = []
        create_backends()
        seed_moto(seed)

    # ---- WSGI -----------------------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_sandbox/"):
            return self._control(Request(environ))(environ, start_response)
        operation = None
        try:
            operation = _identify(environ)
            return self._serve(operation, environ, start_response)
        except UnknownOperation as error:
            log.info("operação desconhecida: %s", error.message)
            return _answer(unknown_operation_response(error))(environ, start_response)
        except Exception:
            # A fault of the sandbox itself: logged whole, answered as AWS answers its own faults (500
            # InternalFailure in the request's protocol), never as an HTML page a client cannot read.
            log.exception(
                "erro interno do sandbox em %s", operation.name if operation else environ.get("PATH_INFO")
            )
            return _answer(_internal_failure(environ, operation))(environ, start_response)

    def _serve(self, operation: Operation | None, environ: dict, start_response):
        try:
            denied = self._authorize(environ, operation)
            if denied is not None:
                return denied(environ, start_response)
            if operation is not None:
                served = self._served_here(operation, environ)
                if served is not None:
                    return served(environ, start_response)
                if not operation.native:
                    return self._translated(operation, environ)(environ, start_response)
        except MalformedRequest as error:
            answer = serialize_error(operation, "SerializationException", str(error), 400)
            return _answer(answer)(environ, start_response)
        if _scope(environ)[1] == "s3":
            status = self.faults.before_request()  # its latency is waited outside the lock, as on S3
            if status is not None:
                code, headers, body = s3_error_response(status, f"{time.time_ns():X}"[-16:])
                return Response(body, status=code, headers=headers)(environ, start_response)
            # S3 serves each request whole. moto closes an overwritten object's buffer at once, so a request
            # still reading it (the ETL run twice at once, a GET during a PUT) would answer 500.
            with self._s3_lock:
                return self._moto(operation, environ, start_response)
        if _scope(environ)[1] is None and sigv2_access_key(environ) is None:
            # Unsigned: moto serves it as before, bucket policies applied its own way (sandbox.aws.iam_patches).
            with moto_judges_bucket_policies():
                return self._moto(operation, environ, start_response)
        return self._moto(operation, environ, start_response)

    def _moto(self, operation: Operation | None, environ: dict, start_response):
        """moto's answer, but never an HTML page: an operation moto lacks, or the page Flask writes for a route
        nothing serves, becomes the protocol's own error; moto's JSON answers get the protocol's content type."""
        held: dict = {}

        def checked(status, headers, exc_info=None):
            content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
            if operation is not None and content_type.startswith("text/html"):
                if int(status.split()[0]) >= 400:  # maybe Flask's error page: decided once the body is read
                    held.update(status=status, headers=headers)
                    return lambda _data: None
                wanted = content_type_of(operation)
                headers = [(k, wanted if k.lower() == "content-type" else v) for k, v in headers]
            return start_response(status, headers, exc_info)

        try:
            body = self.moto_app(environ, checked)
        except NotImplementedError:
            name = operation.name if operation is not None else environ.get("PATH_INFO", "")
            message = f"O sandbox não implementa a operação {name} (o moto não a oferece)."
            return _answer(serialize_error(operation, UNKNOWN_OPERATION, message, 501))(
                environ, start_response
            )
        if not held:
            return body
        data = b"".join(body)
        if hasattr(body, "close"):
            body.close()
        status = int(held["status"].split()[0])
        if not data.lstrip()[:15].lower().startswith(b"<!doctype html"):
            headers = [
                (k, content_type_of(operation) if k.lower() == "content-type" else v)
                for k, v in held["headers"]
            ]
            start_response(held["status"], headers)
            return [data]
        if status not in (404, 405):  # Flask's page for an exception in a moto handler
            log.error("moto respondeu %s com uma página HTML em %s", status, operation.name)
            return _answer(_internal_failure(environ, operation))(environ, start_response)
        error = UnknownOperation(
            operation.service,
            operation.protocol,
            f"O sandbox não conhece esta rota ({environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}).",
        )
        return _answer(unknown_operation_response(error))(environ, start_response)

    def _served_here(self, operation: Operation, environ: dict) -> Response | None:
        """What the sandbox answers instead of moto, or checks before moto: Lambda runs functions and enforces its
        limits; Athena's queries run in sandbox.athena. None: moto answers."""
        if operation.service == "athena" and operation.name in ATHENA_QUERY_ACTIONS:
            return self._athena(operation, environ.get("sandbox.caller"))
        if operation.service == "scheduler" and operation.name in ("CreateSchedule", "UpdateSchedule"):
            return self._scheduler_role(environ, operation)
        if operation.service != "lambda":
            return None
        if operation.name == "Invoke":
            return self._lambda_invoke(environ, operation)
        if operation.name in ("CreateFunction", "UpdateFunctionCode", "UpdateFunctionConfiguration"):
            refused = code_over_limits(environ, operation.name, unzipped_total)
            return refused if refused is not None else self._lambda_role(environ, operation)
        if operation.name == "AddPermission":
            return repeated_statement(operation, self._policy)
        return None

    def _translated(self, operation: Operation, environ: dict) -> Response:
        """A request in a protocol moto's handlers do not read: re-encoded for moto, its answer written back."""
        captured: dict = {}

        def capture(status, headers, exc_info=None):
            captured.update(status=int(status.split()[0]), headers=dict(headers))

        as_moto_reads_it = dataclasses.replace(operation, protocol=moto_protocol(operation.service))
        body = b"".join(self._moto(as_moto_reads_it, to_moto(operation, environ), capture))
        status, headers, out = from_moto(operation, captured["status"], captured["headers"], body)
        return Response(out, status=status, headers=headers)

    # ---- roles a service assumes ----------------------------------------------------------------------
    def _lambda_role(self, environ: dict, operation: Operation) -> Response | None:
        """A function's execution role must trust Lambda: CreateFunction and UpdateFunctionConfiguration refuse
        one that does not, as Lambda does (sandbox.aws.service_trust)."""
        role = operation.params.get("Role")
        if operation.name == "UpdateFunctionCode" or not isinstance(role, str):
            return None
        region = _scope(environ)[0] or config.REGION
        source = function_arn(str(operation.params.get("FunctionName", "")), region, config.ACCOUNT_ID)
        with self._moto_lock:
            trusted = service_may_assume(role, LAMBDA, source, config.ACCOUNT_ID)
        if trusted:
            return None
        log.info("InvalidParameterValueException: o papel %s não confia em %s", role, LAMBDA)
        return lambda_error(400, "InvalidParameterValueException", LAMBDA_CANNOT_ASSUME)

    def _scheduler_role(self, environ: dict, operation: Operation) -> Response | None:
        """A schedule's role must trust EventBridge Scheduler: CreateSchedule and UpdateSchedule refuse one that
        does not. Whether the role may invoke the target is checked only when the schedule fires, as on AWS (and
        the sandbox never fires schedules)."""
        target = operation.params.get("Target")
        role = target.get("RoleArn") if isinstance(target, dict) else None
        if not isinstance(role, str):
            return None
        region = _scope(environ)[0] or config.REGION
        source = schedule_group_arn(operation.params.get("GroupName"), region, config.ACCOUNT_ID)
        with self._moto_lock:
            trusted = service_may_assume(role, SCHEDULER, source, config.ACCOUNT_ID)
        if trusted:
            return None
        log.info("ValidationException: o papel %s não confia em %s", role, SCHEDULER)
        return _answer(serialize_error(operation, "ValidationException", SCHEDULER_CANNOT_ASSUME, 400))

    def _function_role_trusted(self, spec: FunctionSpec) -> bool:
        """Whether Lambda may still assume the function's role (its trust may have changed since CreateFunction)."""
        with self._moto_lock:
            return service_may_assume(
                spec.role, LAMBDA, function_arn(spec.arn, spec.region, config.ACCOUNT_ID), config.ACCOUNT_ID
            )

    # ---- Lambda ---------------------------------------------------------------------------------------
    def function_spec(self, region: str, name: str, qualifier: str | None = None) -> FunctionSpec:
        """The function as moto stores it; raises LookupError when it does not exist."""
        from moto.awslambda.utils import get_backend
        from moto.core.exceptions import ServiceException, _RESTError

        backend = get_backend(config.ACCOUNT_ID, region)
        try:
            fn = backend.get_function(name, qualifier)
        except (ServiceException, _RESTError) as exc:
            raise LookupError(name) from exc
        layers = tuple(
            LayerCode(layer["Arn"], getattr(backend.layers_versions_by_arn(layer["Arn"]), "code_bytes", b""))
            for layer in fn.layers
        )
        return FunctionSpec(
            name=fn.function_name,
            arn=fn.function_arn,
            version="$LATEST" if qualifier in (None, "$LATEST") else str(fn.version),
            handler=fn.handler or "",
            runtime=fn.run_time or "",
            timeout=int(fn.timeout),
            memory_size=int(fn.memory_size),
            environment={str(k): str(v) for k, v in (fn.environment_vars or {}).items()},
            code_bytes=getattr(fn, "code_bytes", b""),
            code_sha256=fn.code_sha_256,
            layers=layers,
            region=region,
            role=fn.role or "",
        )

    def invoke(self, spec: FunctionSpec, event: bytes, asynchronous: bool = False) -> InvocationResult:
        if not spec.runtime.startswith("python3") or not spec.code_bytes:
            error = {
                "errorMessage": f"O sandbox só executa funções Python empacotadas em zip (runtime {spec.runtime}).",
                "errorType": "Runtime.InvalidRuntime",
            }
            return InvocationResult("", json.dumps(error).encode(), "Unhandled", "")
        return self.runner.invoke(spec, event, asynchronous=asynchronous)

    def _lambda_invoke(self, environ: dict, operation: Operation) -> Response:
        request = Request(environ)
        region = _scope(environ)[0] or config.REGION
        name = operation.params["FunctionName"]
        if ":function:" in name and not name.startswith("arn:"):
            name = f"arn:aws:lambda:{region}:{name}"  # a partial ARN, 123456789012:function:NAME (Invoke accepts it)
        try:
            spec = self.function_spec(region, name, operation.params.get("Qualifier"))
        except LookupError:
            # moto's Docker-less invoke would echo the payload even for a missing function.
            arn = (
                name
                if name.startswith("arn:")
                else f"arn:aws:lambda:{region}:{config.ACCOUNT_ID}:function:{name}"
            )
            body = {"Type": "User", "message": f"Function not found: {arn}"}
            headers = {"x-amzn-ErrorType": "ResourceNotFoundException", "Content-Type": "application/json"}
            return Response(json.dumps(body), status=404, headers=headers)
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        headers = {"Content-Type": "application/json", "X-Amz-Executed-Version": spec.version}
        if invocation_type == "DryRun":
            return Response(b"", status=204, headers=headers)
        payload = request.get_data()
        limit = 262_144 if invocation_type == "Event" else LAMBDA_MAX_SYNC_PAYLOAD
        if len(payload) > limit:
            error = {
                "Type": "User",
                "message": f"{len(payload)} byte payload is too large for the {invocation_type} invocation type "
                f"(limit {limit} bytes)",
            }
            headers = {
                "x-amzn-ErrorType": "RequestEntityTooLargeException",
                "Content-Type": "application/json",
            }
            return Response(json.dumps(error), status=413, headers=headers)
        if not self._function_role_trusted(spec):
            # Lambda assumes the role for each new execution environment: without the trust, nothing runs.
            log.info("Invoke de %s recusado: o papel %s não confia em %s", spec.name, spec.role, LAMBDA)
            return lambda_error(400, "InvalidParameterValueException", LAMBDA_CANNOT_ASSUME)
        result = self.invoke(spec, payload, asynchronous=invocation_type == "Event")
        headers["x-amzn-RequestId"] = result.request_id
        if invocation_type == "Event":
            return Response(b"", status=202, headers=headers)
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if request.headers.get("X-Amz-Log-Type") == "Tail":
            headers["X-Amz-Log-Result"] = result.log_tail_base64
        return Response(result.payload, status=200, headers=headers)

    # ---- a function's role in S3 ------------------------------------------------------------------
    def _session_credentials(self, spec: FunctionSpec) -> tuple[str, str, str]:
        """Credentials of the function's role session (session name = function name, as Lambda does)."""
        digest = hashlib.sha256(f"{spec.role}|{spec.name}".encode()).hexdigest()
        access_key = "ASIA" + digest[:16].upper()
        token = "sandbox-session-" + digest[:32]
        self.role_sessions[access_key] = (spec.role, spec.name, token)
        return access_key, digest[16:56], token

    def _authorize(self, environ: dict, operation: Operation | None) -> Response | None:
        """The caller's policies, and the resource policies that apply, decide the request; None when it may go on.

        The sandbox's own key is the account's root user: allowed by identity, but a bucket or function policy's
        explicit Deny applies to it (only S3 and Lambda have resource policies it may meet)."""
        scope = _scope(environ)
        match = ACCESS_KEY.search(
            (environ.get("HTTP_AUTHORIZATION", "") or unquote(environ.get("QUERY_STRING", ""))).replace(
                "X-Amz-Credential=", "Credential="
            )
        )
        access_key = match["key"] if match and scope[1] else sigv2_access_key(environ)
        if access_key is None:
            return None  # unsigned: anonymous requests are left to the service
        if scope[1] is None:
            scope = (config.REGION, "s3")  # Signature Version 2: S3 only, and it names no region
        root = access_key == config.ACCESS_KEY_ID
        if root and scope[1] not in ("s3", "lambda", "sts"):
            return None
        query = environ.get("QUERY_STRING", "")
        body = b""
        if scope[1] != "s3" or (environ.get("REQUEST_METHOD") == "POST" and "delete" in query):
            body = Request(environ).get_data()
            environ["wsgi.input"] = io.BytesIO(body)  # moto reads the body again when the request goes on
            environ["CONTENT_LENGTH"] = str(len(body))
        request = signed_request(environ, body, operation, config.REGION)
        request_id = f"{time.time_ns():X}"[-16:]
        head = environ.get("REQUEST_METHOD") == "HEAD"

        def answer(status_headers_body) -> Response:
            status, headers, out = status_headers_body
            return Response(b"" if head else out, status=status, headers=headers)

        if root:
            caller = root_caller(config.ACCOUNT_ID)
        else:
            with self._moto_lock:
                caller = find_caller(request.access_key, config.ACCOUNT_ID, self.role_sessions)
        sent_token = request.headers.get("x-amz-security-token") or request.query.get("X-Amz-Security-Token")
        if caller is None or (not root and sent_token != caller.session_token):
            # An unknown key, or a token that is not the key's (a user's long-term key takes none).
            log.info("credenciais inválidas para a chave de acesso %s", request.access_key)
            return answer(
                unknown_key_response(
                    request.service, request.access_key, request_id, bad_token=caller is not None
                )
            )
        # Athena runs queries with the caller's rights too (the root user's are everything).
        environ["sandbox.caller"] = None if root else caller
        try:
            checks = request_checks(request, config.ACCOUNT_ID, self._query_workgroup, caller.arn)
        except UnmappedRequest as error:
            if root:
                return None  # the root user is allowed by identity; no resource policy can be looked up
            log.warning(
                "requisição recusada: o sandbox não sabe mapeá-la para permissões do IAM (%s)", error.what
            )
            return answer(unmapped_response(request.service, error, request_id))
        if request.service == "iam":
            with self._moto_lock:
                checks = entity_paths(checks, config.ACCOUNT_ID)
        if request.service in ("iam", "lambda"):
            with self._moto_lock:
                checks = _with_tag_keys(checks, request, operation)
        if any(check.action in ALWAYS_ALLOWED for check in checks):
            return self._own_identity(operation, caller, request.access_key)  # allowed, even against a Deny
        if root and any(check.action == "sts:AssumeRole" for check in checks):
            log.info("AccessDenied: o usuário root da conta não pode assumir roles")
            return answer(error_response("sts", "AccessDenied", ROOT_CANNOT_ASSUME_ROLES, request_id))
        source_ip = environ.get("REMOTE_ADDR") or "127.0.0.1"
        context = global_context(caller.principal, request.region, source_ip, tags=caller.tags)
        checks = [dataclasses.replace(check, context={**context, **check.context}) for check in checks]
        if request.service == "s3" and request.method == "POST" and "delete" in request.query:
            decisions = [self._decide(caller, check) for check in checks]
            if all(decision.allowed for decision in decisions):
                return None
            return self._delete_objects_in_part(environ, body, [decision.allowed for decision in decisions])
        for check in checks:
            decision = self._decide(caller, check)
            if not decision.allowed:
                log.info("AccessDenied para %s: %s em %s", caller.arn, check.action, check.resource)
                return answer(denied_response(request.service, caller.arn, check, decision, request_id))
        if (
            not root
            and request.service == "s3"
            and checks[0].action in ("s3:GetObject", "s3:GetObjectVersion")
        ):
            bucket, _, key = Request(environ).path.lstrip("/").partition("/")
            may_list = Check("s3:ListBucket", f"arn:aws:s3:::{bucket}", context)
            if _missing_object(bucket, key) and not self._decide(caller, may_list).allowed:
                # S3 says "no such key" only to who may list the bucket; anyone else gets 403, which reveals
                # nothing about what exists (GetObject/HeadObject docs, "Permissions"). A ListBucket grant limited
                # by an s3:prefix condition is evaluated here without that key, so it does not count: stricter
                # than AWS if AWS counts it, never more lenient.
                log.info("AccessDenied do S3 para %s: %s não existe e falta s3:ListBucket", caller.arn, key)
                return answer(s3_error(403, "AccessDenied", "Access Denied", request_id))
        return None

    def _own_identity(self, operation: Operation | None, caller: Caller, access_key: str) -> Response | None:
        """GetCallerIdentity of the root user or of a function's role session, which moto does not know (it says
        "user/moto"): answered here (GetCallerIdentity API reference: the root user's UserId is the account id,
        its Arn arn:aws:iam::ACCOUNT:root). None: moto answers (users, sessions from its STS, other calls)."""
        if operation is None or operation.name != "GetCallerIdentity":
            return None
        if not (caller.root or access_key in self.role_sessions):
            return None
        principal = caller.principal
        identity = {"UserId": principal.userid, "Account": principal.account, "Arn": principal.arn}
        return _answer(serialize(operation, identity))

    def _decide(self, caller: Caller, check: Check) -> Decision:
        """AWS's decision on one check; a denial that aws:SecureTransport decided is explained in the log (the
        sandbox listens on plain HTTP, so the key is always false here, and true on AWS's HTTPS endpoints)."""
        decision = decide(caller, check, config.ACCOUNT_ID)
        if not decision.allowed and check.context.get("aws:SecureTransport") == "false":
            over_https = dataclasses.replace(check, context={**check.context, "aws:SecureTransport": "true"})
            if decide(caller, over_https, config.ACCOUNT_ID).allowed:
                log.warning(
                    "AccessDenied para %s em %s: uma condição aws:SecureTransport decidiu. O sandbox atende em HTTP "
                    "simples (sem TLS), então aws:SecureTransport é sempre false aqui; na AWS, pelo HTTPS que os "
                    "SDKs usam, seria true.",
                    caller.arn,
                    check.action,
                )
        return decision

    def _delete_objects_in_part(self, environ: dict, body: bytes, allowed: list[bool]) -> Response:
        """DeleteObjects authorizes each object (`allowed`, in the body's order): the allowed ones are deleted,
        the others come back as <Error> entries of a 200 answer (S3 never refuses the whole request for them)."""
        kept, errors = [], []
        entries = DELETE_OBJECT.findall(body.decode("utf-8", "replace"))
        for entry, ok in zip(entries, allowed, strict=True):
            if ok:
                kept.append(f"<Object>{entry}</Object>")
                continue
            key = DELETE_KEY.search(entry)
            version = DELETE_VERSION.search(entry)
            version_xml = f"<VersionId>{version[1]}</VersionId>" if version else ""
            errors.append(
                f"<Error><Key>{key[1] if key else ''}</Key>{version_xml}<Code>AccessDenied</Code>"
                "<Message>Access Denied</Message></Error>"
            )
        result = EMPTY_DELETE_RESULT
        if kept:
            quiet = (
                "<Quiet>true</Quiet>"
                if re.search(r"<Quiet>\s*true\s*</Quiet>", body.decode("utf-8", "replace"), re.I)
                else ""
            )
            subset = f"<Delete>{quiet}{''.join(kept)}</Delete>".encode()
            environ["wsgi.input"] = io.BytesIO(subset)
            environ["CONTENT_LENGTH"] = str(len(subset))
            for header in [
                name
                for name in environ
                if name.startswith("HTTP_X_AMZ_CHECKSUM") or name == "HTTP_CONTENT_MD5"
            ]:
                environ.pop(header)  # they describe the body the client sent
            captured: dict = {}
            chunks = self.moto_app(
                environ, lambda status, headers, exc_info=None: captured.update(status=status)
            )
            result = b"".join(chunks)
            if not captured.get("status", "").startswith("200"):
                return Response(result, status=int(captured["status"].split()[0]), mimetype="application/xml")
        result = result.replace(b"</DeleteResult>", "".join(errors).encode() + b"</DeleteResult>", 1)
        return Response(result, status=200, mimetype="application/xml")

    def _query_workgroup(self, execution_id: str) -> str | None:
        service = self._athena_service
        execution = service._executions.get(execution_id) if service is not None else None
        return execution.workgroup if execution is not None else None

    def _invoke_for_gateway(self, region: str, name: str, event: bytes) -> tuple[bytes, str | None]:
        spec = self.function_spec(region, name)
        if not self._function_role_trusted(spec):
            return b"", "InvalidParameterValueException"  # Invoke refuses it; API Gateway answers 500
        result = self.invoke(spec, event)
        return result.payload, result.function_error

    def _policy(self, region: str, name: str) -> list[dict]:
        from moto.awslambda.utils import get_backend
        from moto.core.exceptions import ServiceException, _RESTError

        function, qualifier = split_qualifier(name)
        try:
            statements = list(get_backend(config.ACCOUNT_ID, region).get_function(function).policy.statements)
        except (ServiceException, _RESTError) as exc:
            raise LookupError(name) from exc
        return statements_for(statements, qualifier)  # a version's or alias's policy is its own

    def _write_logs(self, spec: FunctionSpec, group: str, stream: str, events: list[tuple[int, str]]) -> None:
        """Lambda writes a function's logs with its role: without the logs permissions, they are lost (silently)."""
        from moto.logs.models import logs_backends

        backend = logs_backends[config.ACCOUNT_ID][spec.region]
        # The resource CloudWatch Logs authorizes is the log stream's ARN (for CreateLogGroup: an empty stream),
        # which a policy matches with the log group's ARN ending in ":*".
        stream_arn = f"arn:aws:logs:{spec.region}:{config.ACCOUNT_ID}:log-group:{group}:log-stream:"
        with self._moto_lock:
            session = role_session(spec.role, spec.name, config.ACCOUNT_ID, None)  # its policies and boundary
            missing = group not in backend.groups
            needed = ["logs:CreateLogGroup"] if missing else []
            needed += ["logs:CreateLogStream", "logs:PutLogEvents"]
            resources = {"logs:CreateLogGroup": stream_arn}
            for action in needed:
                if not decide(
                    session, Check(action, resources.get(action, stream_arn + stream)), config.ACCOUNT_ID
                ).allowed:
                    log.info("logs de %s descartados: a role da função não permite %s", spec.name, action)
                    return
            if missing:
                backend.create_log_group(group, {})
            if stream not in backend.groups[group].streams:
                backend.create_log_stream(group, stream)
            backend.put_log_events(group, stream, [{"timestamp": t, "message": m} for t, m in events])

    # ---- Athena ---------------------------------------------------------------------------------------
    @property
    def athena(self):
        """The Athena engine, imported and made at the first query: most sandboxes never run one (1.2 s saved at
        every start and reset). Its ids come from its own seeded generator, so when it is made changes nothing."""
        with self._athena_lock:
            if self._athena_service is None:
                from sandbox.athena import AthenaService

                self._athena_service = AthenaService(self.endpoint_url, config.REGION)
            return self._athena_service

    def _athena(self, operation: Operation, caller: Caller | None = None) -> Response:
        """An Athena query action, in whichever protocol it came (JSON 1.1 or REST), answered in the same one."""
        from sandbox.athena import AthenaError

        region = _scope(operation.request.environ)[0] or config.REGION

        def rights(service: str, name: str, params: dict, purpose: str, output_url: str) -> str | None:
            """Why the caller may not make a Glue or S3 call Athena makes for them (None: they may): decided with
            every policy of the caller's (boundary, session policies) and the bucket's policy, as their own
            requests are; with the global keys of the caller but aws:SourceIp and aws:SecureTransport, which
            describe Athena's own connection, not the caller's."""
            context = global_context(caller.principal, region, "", tags=caller.tags)
            for key in ("aws:SourceIp", "aws:SecureTransport"):
                context.pop(key)
            for check in athena_call_checks(service, name, params, region, config.ACCOUNT_ID):
                check = dataclasses.replace(check, context={**context, **check.context})
                outcome = decide(caller, check, config.ACCOUNT_ID)
                if not outcome.allowed:
                    log.info(
                        "o Athena não pôde, com os direitos de %s: %s em %s",
                        caller.arn,
                        check.action,
                        check.resource,
                    )
                    return athena_denial(caller.arn, check, outcome, purpose, output_url)
            return None

        try:
            result = self.athena.handle(operation.name, operation.params, rights if caller else None)
        except AthenaError as exc:
            return _answer(serialize_error(operation, exc.code, exc.message, exc.status))
        return _answer(serialize(operation, result))

    # ---- control --------------------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        """Empty all state: moto, Lambda workers, faults, Athena history and the reset hooks (Telegram)."""
        from moto.moto_api._internal.models import moto_api_backend

        self.seed = self.seed if seed is None else seed
        with self._moto_lock:
            moto_api_backend.reset()
        self.runner.reset(self.seed)
        self.gateway.reset(self.seed)
        self.faults.reset()
        with self._athena_lock:
            self._athena_service = None
        for hook in self.reset_hooks:
            hook(self.seed)
        create_backends()
        seed_moto(self.seed)  # last: the steps above may draw ids, as they did before the seeding at start

    def status(self) -> dict[str, Any]:
        status = {
            "pid": os.getpid(),
            "endpoint_url": self.endpoint_url,
            "region": config.REGION,
            "seed": self.seed,
            "uptime_s": round(time.time() - self.started, 1),
            "rss_mb": rss_mb(),
            "lambda_workers": self.runner.worker_count(),
            "s3": self.faults.snapshot(),
            "athena": "sandbox.athena",
        }
        for hook in self.status_hooks:
            status.update(hook())
        return status

    def _control(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path.startswith("/_sandbox/execute-api/"):
            return self._execute_api(request)
        if path == "/_sandbox/health" and method == "GET":
            return _json_response({"status": "ok"})
        if path == "/_sandbox/status" and method == "GET":
            return _json_response(self.status())
        if path in ("/_sandbox/reset", "/_sandbox/s3") and method == "POST":
            try:
                body = json.loads(request.get_data() or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("O corpo deve ser um objeto JSON.")
                if path == "/_sandbox/s3":
                    return _json_response(self.faults.configure(body))
                seed = body.get("seed")
                if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
                    raise ValueError("seed deve ser um número inteiro.")
                self.reset(seed)
                return _json_response({"status": "ok", "seed": self.seed})
            except ValueError as exc:
                return _json_response({"error": str(exc)}, 400)
        if path == "/_sandbox/s3" and method == "GET":
            return _json_response(self.faults.snapshot())
        return _json_response({"error": f"Rota de controle desconhecida: {method} {path}"}, 404)

    def _execute_api(self, request: Request) -> Response:
        rest = request.path[len("/_sandbox/execute-api/") :]
        host, _, path = rest.partition("/")
        url = f"https://{host}/{path}" + (f"?{request.query_string.decode()}" if request.query_string else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        headers["Host"] = host
        try:
            status, out_headers, body = self.gateway.handle(
                request.method, url, headers, request.get_data(), request.remote_addr or "127.0.0.1"
            )
        except UnknownHost:
            message = {"error": f"Nenhuma API do API Gateway no sandbox responde em {host}."}
            return _json_response(message, 502, {"x-sandbox-error": "unknown-host"})
        return Response(body, status=status, headers=out_headers)


def _with_tag_keys(checks: list[Check], request, operation: Operation | None) -> list[Check]:
    """aws:ResourceTag, aws:RequestTag and aws:TagKeys of an IAM or Lambda request (sandbox.aws.tag_keys)."""
    if request.service == "iam":
        params = dict(request.query)
        if request.method == "POST":
            params.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        name = params.get("Action", "")
    elif operation is not None:
        name, params = operation.name, operation.params
    else:
        return checks
    return with_tag_keys(checks, request.service, name, params, config.ACCOUNT_ID)


def _identify(environ: dict) -> Operation | None:
    """The operation a signed request calls, from the installed botocore's model; None for an unsigned request.
    S3's bodies (objects of any size) are not read here: its routes depend on the method, path and query only."""
    service = _scope(environ)[1]
    if service is None:
        return None
    body = None if service == "s3" else Request(environ).get_data()
    return identify(environ, body, service)


def _internal_failure(environ: dict, operation: Operation | None) -> tuple[int, dict[str, str], bytes]:
    message = "Erro interno do sandbox (não da AWS): veja o log do sandbox e avise quem mantém o tutorial."
    if operation is not None:
        return serialize_error(operation, "InternalFailure", message, 500)
    service = _scope(environ)[1] or ""
    wire = "rest-xml" if service == "s3" else "query" if service in ("iam", "sts") else "json"
    return serialize_error(None, "InternalFailure", message, 500, service=service, protocol=wire)


def _answer(answer: tuple[int, dict[str, str], bytes]) -> Response:
    status, headers, body = answer
    return Response(body, status=status, headers=headers)


def _json_response(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, headers=headers, mimetype="application/json"
    )


def _missing_object(bucket: str, key: str) -> bool:
    """Whether an existing bucket lacks the key (a missing bucket is left to moto's NoSuchBucket)."""
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends

    try:
        stored = s3_backends[config.ACCOUNT_ID]["aws"].get_bucket(bucket)
    except MissingBucket:
        return False
    return key not in stored.keys
