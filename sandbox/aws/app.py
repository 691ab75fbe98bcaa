"""The AWS port: moto's WSGI app behind a small dispatcher that adds what moto lacks.

Intercepted before moto: Lambda Invoke (runs the handler), Athena query actions (sandbox.athena),
S3 latency/faults, execute-api URLs (/_sandbox/execute-api/{host}/{path}) and control routes (/_sandbox/...).
Every signed request is authorized for its caller (sandbox.aws.authorization): the sandbox's own credentials keep
full rights; IAM users created in the sandbox, and functions (with credentials of their own role), are allowed
only what their identity policies allow (sandbox.aws.iam_policy). A function's logs are written with its role too.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import re
import threading
import time
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from sandbox import config
from sandbox.aws.authorization import (
    Caller,
    athena_denial,
    athena_query_checks,
    denied_response,
    find_caller,
    request_checks,
    role_policies,
    signed_request,
    unknown_key_response,
)
from sandbox.aws.faults import S3Faults, s3_error, s3_error_response
from sandbox.aws.gateway import LAMBDA_MAX_SYNC_PAYLOAD, Gateway, UnknownHost
from sandbox.aws.iam_policy import DELETE_KEY, DELETE_OBJECT, Check, evaluate
from sandbox.aws.lambda_runner import (
    UNZIPPED_LIMIT,
    FunctionSpec,
    InvocationResult,
    LambdaRunner,
    LayerCode,
    unzipped_size,
)
from sandbox.aws.patching import replaces

log = logging.getLogger(__name__)

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
CREATE_PATH = re.compile(r"^/2015-03-31/functions/?$")
CODE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/code/?$")
CONFIGURATION_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/configuration/?$")
# A 50 MB zip, base64-encoded in the JSON request: Lambda refuses larger requests with this number.
MAX_CODE_REQUEST = 69_905_067
POLICY_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/policy/?$")
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[\w-]+)/(?P<service>[\w-]+)/aws4_request")
ACCESS_KEY = re.compile(r"Credential=(?P<key>[^/]+)/")
EMPTY_DELETE_RESULT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></DeleteResult>'
)
DELETE_VERSION = re.compile(r"<VersionId>(.*?)</VersionId>", re.DOTALL)
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


# moto's service modules (get_backend names) and server apps (URL dispatcher names) the tutorial uses.
SERVICES = (
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
SERVICE_APPS = (
    "s3",
    "iam",
    "sts",
    "awslambda",
    "apigateway",
    "events",
    "scheduler",
    "glue",
    "athena",
    "logs",
    "ssm",
)


def configure_moto() -> None:
    """Settings moto reads once: must run before any backend is created."""
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    # moto wraps every service app in flask-cors (Access-Control-Allow-Origin: *), which would let any web
    # page read the answers; the flag is read at import, so the module's copy is switched off too.
    os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"
    from moto.moto_server import werkzeug_app

    werkzeug_app.DISABLE_GLOBAL_CORS = True
    from moto.core.config import default_user_config

    # The Docker-less Lambda backend; its echoing invoke is replaced by our runner.
    default_user_config["lambda"]["use_docker"] = False
    share_botocore_loaders()
    share_botocore_event_caches()
    from sandbox.aws.layers import install_managed_layers

    install_managed_layers()
    from sandbox.aws.quickcreate import install_quick_create

    install_quick_create()
    from sandbox.aws.s3_versions import install_version_listing

    install_version_listing()
    from sandbox.aws.timestamps import install_fast_timestamps

    install_fast_timestamps()
    from sandbox.aws.dispatch import install_backend_lookup_cache

    install_backend_lookup_cache()
    _find_access_keys_without_creating_backends()
    _parse_managed_policies_once()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def share_botocore_loaders() -> None:
    """One botocore loader (per data path, as botocore keys it) and one moto model loader for this process.

    moto makes new boto3 Sessions again and again (three at EC2's import, one per service model it loads), and
    `mock_aws` drops boto3's default session at every start (the tests); each new one parsed botocore's endpoint
    and model files anew: 0.75 s of every sandbox start, a third of tests/test_ingestion.py. The files depend
    only on the installed botocore, so one loader serves them all, as it serves all the clients of one Session."""
    import botocore.loaders
    import botocore.session
    import moto.core.loaders
    import moto.core.utils

    if not hasattr(botocore.session.create_loader, "cache_info"):
        botocore.session.create_loader = cache(botocore.loaders.create_loader)
        moto.core.utils.create_loader = cache(moto.core.loaders.create_loader)  # moto's models, same files


def share_botocore_event_caches() -> None:
    """Half of what a new boto3 Session and client cost (19 ms here) is botocore working out the same answers again:
    each event emitter starts with an empty cache of event-name aliases (7,500 names per Session and client), and
    each of the ~140 handlers it registers is checked with `inspect` for `**kwargs`. Both answers depend only on
    the name (for botocore's own aliases) and on the function, so one cache per process serves every Session."""
    import botocore.hooks

    aliases: dict[str, str] = {}
    checked: dict[Any, bool] = {}

    @replaces(botocore.hooks.EventAliaser, "__init__")
    def __init__(original, self, event_emitter, event_aliases=None):
        original(self, event_emitter, event_aliases)
        if self._event_aliases == botocore.hooks.EVENT_ALIASES:  # copies of a Session's emitter pass a copy
            self._alias_name_cache = aliases

    @replaces(botocore.hooks, "accepts_kwargs")
    def accepts_kwargs(original, func) -> bool:
        key = getattr(func, "__func__", func)  # a bound method takes what its function takes
        try:
            return checked[key]
        except KeyError:
            checked[key] = answer = bool(original(func))
            return answer
        except TypeError:  # an unhashable callable
            return bool(original(func))


def _find_access_keys_without_creating_backends() -> None:
    """moto finds a request's account by looking for its access key in the IAM backend of every account and every
    partition, creating the missing ones; each new one parses AWS's 1,500 managed policies (0.1 s), so the first
    request after a start or a reset cost 0.6 s of CPU. A key can only be in a backend that exists: look there."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam import models

    def get_account_id_from(access_key: str) -> str:
        for account_id, account in list(models.iam_backends.items()):
            for backend in list(account.values()):
                if access_key in backend.access_keys:
                    return account_id
        return DEFAULT_ACCOUNT_ID

    models.get_account_id_from = get_account_id_from


def _parse_managed_policies_once() -> None:
    """Every IAM backend moto creates (two at each start and reset) parsed the 1.3 MB of AWS's managed policies
    again (0.13 s). The parsed data is only read (each policy keeps its document as a string): parsed once here,
    the policies are then made exactly as before, with the same random ids in the same order."""
    from moto.iam import models

    parsed = cache(lambda: json.loads(models.aws_managed_policies_data))

    @replaces(models.IAMBackend, "_init_aws_policies")
    def _init_aws_policies(_original, self) -> list:
        if not models.load_iam_aws_managed_policies():
            return []
        return [
            models.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
            for name, data in parsed().items()
        ]


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
        _create_backends()
        _seed_moto(seed)

    # ---- WSGI -----------------------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_sandbox/"):
            return self._control(Request(environ))(environ, start_response)
        denied = self._authorize(environ)
        if denied is not None:
            return denied(environ, start_response)
        if environ.get("REQUEST_METHOD") == "POST" and INVOKE_PATH.match(path):
            return self._lambda_invoke(environ)(environ, start_response)
        method = environ.get("REQUEST_METHOD")
        if method == "PUT" and CONFIGURATION_PATH.match(path):
            refused = _code_over_limits(environ, "UpdateFunctionConfiguration", self._unzipped_total)
            if refused is not None:
                return refused(environ, start_response)
        if (method == "POST" and CREATE_PATH.match(path)) or (method == "PUT" and CODE_PATH.match(path)):
            refused = _code_over_limits(
                environ, "CreateFunction" if method == "POST" else "UpdateFunctionCode", self._unzipped_total
            )
            if refused is not None:
                return refused(environ, start_response)
        if environ.get("REQUEST_METHOD") == "POST" and POLICY_PATH.match(path):
            conflict = self._repeated_statement(environ)
            if conflict is not None:
                return conflict(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("AmazonAthena."):
            action = target.split(".", 1)[1]
            if action in ATHENA_QUERY_ACTIONS:
                return self._athena(action, Request(environ), environ.get("sandbox.caller"))(
                    environ, start_response
                )
        if _scope(environ)[1] == "s3":
            status = self.faults.before_request()  # its latency is waited outside the lock, as on S3
            if status is not None:
                code, headers, body = s3_error_response(status, f"{time.time_ns():X}"[-16:])
                return Response(body, status=code, headers=headers)(environ, start_response)
            # S3 serves each request whole. moto closes an overwritten object's buffer at once, so a request
            # still reading it (the ETL run twice at once, a GET during a PUT) would answer 500.
            with self._s3_lock:
                return self.moto_app(environ, start_response)
        return self.moto_app(environ, start_response)

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

    def _lambda_invoke(self, environ: dict) -> Response:
        request = Request(environ)
        region = _scope(environ)[0] or config.REGION
        name = unquote(INVOKE_PATH.match(environ["PATH_INFO"])["name"])
        try:
            spec = self.function_spec(region, name, request.args.get("Qualifier"))
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
        result = self.invoke(spec, payload, asynchronous=invocation_type == "Event")
        headers["x-amzn-RequestId"] = result.request_id
        if invocation_type == "Event":
            return Response(b"", status=202, headers=headers)
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if request.headers.get("X-Amz-Log-Type") == "Tail":
            headers["X-Amz-Log-Result"] = result.log_tail_base64
        return Response(result.payload, status=200, headers=headers)

    def _repeated_statement(self, environ: dict) -> Response | None:
        """AddPermission with a StatementId the policy already has: AWS refuses it, moto would add a twin."""
        body = Request(environ).get_data()
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads the body again when the request goes on
        environ["CONTENT_LENGTH"] = str(len(body))
        name = unquote(POLICY_PATH.match(environ["PATH_INFO"])["name"])
        try:
            statement_id = json.loads(body or b"{}").get("StatementId")
            existing = self._policy(_scope(environ)[0] or config.REGION, name)
        except (ValueError, LookupError):
            return None  # moto answers malformed bodies and missing functions itself
        if statement_id not in {statement.get("Sid") for statement in existing}:
            return None
        error = {
            "Type": "User",
            "message": f"The statement id ({statement_id}) provided already exists. "
            "Please provide a new statement id, or remove the existing statement.",
        }
        headers = {"x-amzn-ErrorType": "ResourceConflictException", "Content-Type": "application/json"}
        return Response(json.dumps(error), status=409, headers=headers)

    # ---- a function's role in S3 ------------------------------------------------------------------
    def _session_credentials(self, spec: FunctionSpec) -> tuple[str, str, str]:
        """Credentials of the function's role session (session name = function name, as Lambda does)."""
        digest = hashlib.sha256(f"{spec.role}|{spec.name}".encode()).hexdigest()
        access_key = "ASIA" + digest[:16].upper()
        token = "sandbox-session-" + digest[:32]
        self.role_sessions[access_key] = (spec.role, spec.name, token)
        return access_key, digest[16:56], token

    def _authorize(self, environ: dict) -> Response | None:
        """The caller's identity policies applied to the request; None when it may go on (always for `testing`)."""
        scope = _scope(environ)
        if scope[1] is None:
            return None  # unsigned: anonymous requests are left to the service
        match = ACCESS_KEY.search(
            (environ.get("HTTP_AUTHORIZATION", "") or unquote(environ.get("QUERY_STRING", ""))).replace(
                "X-Amz-Credential=", "Credential="
            )
        )
        if match is None or match["key"] == config.ACCESS_KEY_ID:
            return None
        query = environ.get("QUERY_STRING", "")
        body = b""
        if scope[1] != "s3" or (environ.get("REQUEST_METHOD") == "POST" and "delete" in query):
            body = Request(environ).get_data()
            environ["wsgi.input"] = io.BytesIO(body)  # moto reads the body again when the request goes on
            environ["CONTENT_LENGTH"] = str(len(body))
        request = signed_request(environ, body)
        request_id = f"{time.time_ns():X}"[-16:]
        head = environ.get("REQUEST_METHOD") == "HEAD"
        with self._moto_lock:
            caller = find_caller(request.access_key, config.ACCOUNT_ID, self.role_sessions)
        sent_token = request.headers.get("x-amz-security-token") or request.query.get("X-Amz-Security-Token")
        if caller is None or sent_token != caller.session_token:
            # An unknown key, or a token that is not the key's (a user's long-term key takes none).
            log.info("credenciais inválidas para a chave de acesso %s", request.access_key)
            status, headers, out = unknown_key_response(
                request.service, request.access_key, request_id, bad_token=caller is not None
            )
            return Response(b"" if head else out, status=status, headers=headers)
        environ["sandbox.caller"] = caller  # Athena runs queries with the caller's rights too
        checks = request_checks(request, config.ACCOUNT_ID, self._query_workgroup)
        if request.target == "AWSSecurityTokenServiceV20110615.GetCallerIdentity" or any(
            check.action == "sts:GetCallerIdentity" for check in checks
        ):
            return None  # always allowed, even with an explicit deny (as on AWS)
        if request.service == "s3" and request.method == "POST" and "delete" in request.query:
            allowed = [evaluate(list(caller.policies), check) == "allow" for check in checks]
            return None if all(allowed) else self._delete_objects_in_part(environ, body, allowed)
        for check in checks:
            outcome = evaluate(list(caller.policies), check)
            if outcome != "allow":
                log.info("AccessDenied para %s: %s em %s", caller.arn, check.action, check.resource)
                status, headers, out = denied_response(
                    request.service, caller.arn, check, outcome, request_id
                )
                return Response(b"" if head else out, status=status, headers=headers)
        if request.service == "s3" and [check.action for check in checks] == ["s3:GetObject"]:
            bucket, _, key = Request(environ).path.lstrip("/").partition("/")
            if _missing_object(bucket, key) and (
                evaluate(list(caller.policies), Check("s3:ListBucket", f"arn:aws:s3:::{bucket}")) != "allow"
            ):
                # S3 says "no such key" only to who may list the bucket; anyone else gets 403, which reveals
                # nothing about what exists (GetObject/HeadObject docs, "Permissions"). A ListBucket grant limited
                # by an s3:prefix condition is evaluated here without that key, so it does not count: stricter
                # than AWS if AWS counts it, never more lenient.
                log.info("AccessDenied do S3 para %s: %s não existe e falta s3:ListBucket", caller.arn, key)
                status, headers, out = s3_error(403, "AccessDenied", "Access Denied", request_id)
                return Response(b"" if head else out, status=status, headers=headers)
        return None

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

    def _unzipped_total(
        self, region: str, name: str | None, code_size: int | None, layers: list | None
    ) -> int:
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
        arns = (
            layers if layers is not None else [layer["Arn"] for layer in (current.layers if current else [])]
        )
        total = code_size
        for arn in arns:
            version = backend.layers_versions_by_arn(arn) if isinstance(arn, str) else None
            if version is None:
                raise LookupError(arn)
            total += unzipped_size(getattr(version, "code_bytes", b"") or b"")
        return total

    def _invoke_for_gateway(self, region: str, name: str, event: bytes) -> tuple[bytes, str | None]:
        result = self.invoke(self.function_spec(region, name), event)
        return result.payload, result.function_error

    def _policy(self, region: str, name: str) -> list[dict]:
        from moto.awslambda.utils import get_backend
        from moto.core.exceptions import ServiceException, _RESTError

        try:
            return list(get_backend(config.ACCOUNT_ID, region).get_function(name).policy.statements)
        except (ServiceException, _RESTError) as exc:
            raise LookupError(name) from exc

    def _write_logs(self, spec: FunctionSpec, group: str, stream: str, events: list[tuple[int, str]]) -> None:
        """Lambda writes a function's logs with its role: without the logs permissions, they are lost (silently)."""
        from moto.logs.models import logs_backends

        backend = logs_backends[config.ACCOUNT_ID][spec.region]
        policies = role_policies(spec.role, config.ACCOUNT_ID)
        # The resource CloudWatch Logs authorizes is the log stream's ARN (for CreateLogGroup: an empty stream),
        # which a policy matches with the log group's ARN ending in ":*".
        stream_arn = f"arn:aws:logs:{spec.region}:{config.ACCOUNT_ID}:log-group:{group}:log-stream:"
        with self._moto_lock:
            missing = group not in backend.groups
            needed = ["logs:CreateLogGroup"] if missing else []
            needed += ["logs:CreateLogStream", "logs:PutLogEvents"]
            resources = {"logs:CreateLogGroup": stream_arn}
            for action in needed:
                if evaluate(policies, Check(action, resources.get(action, stream_arn + stream))) != "allow":
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

    def _athena(self, action: str, request: Request, caller: Caller | None = None) -> Response:
        from sandbox.athena import AthenaError

        headers = {"Content-Type": "application/x-amz-json-1.1"}
        region = _scope(request.environ)[0] or config.REGION

        def authorize(query: str, database: str | None, result_url: str) -> str | None:
            for check in athena_query_checks(query, database, result_url, region, config.ACCOUNT_ID):
                outcome = evaluate(list(caller.policies), check)
                if outcome != "allow":
                    return athena_denial(caller.arn, check, outcome, result_url)
            return None

        try:
            params = json.loads(request.get_data() or b"{}")
            result = self.athena.handle(action, params, authorize if caller is not None else None)
        except AthenaError as exc:
            body = {"__type": exc.code, "Message": exc.message}
            return Response(json.dumps(body), status=exc.status, headers=headers)
        except ValueError:
            body = {"__type": "InvalidRequestException", "Message": "Invalid JSON body"}
            return Response(json.dumps(body), status=400, headers=headers)
        return Response(json.dumps(result, default=str), status=200, headers=headers)

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
        _create_backends()
        _seed_moto(self.seed)  # last: the steps above may draw ids, as they did before the seeding at start

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


def _code_over_limits(
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
        return _lambda_error(
            413,
            "RequestEntityTooLargeException",
            f"Request must be smaller than {MAX_CODE_REQUEST} bytes for the {operation} operation",
        )
    body = Request(environ).get_data()
    environ["wsgi.input"] = io.BytesIO(body)  # moto reads the body again when the request goes on
    environ["CONTENT_LENGTH"] = str(len(body))
    region = _scope(environ)[0] or config.REGION
    name = unquote(environ["PATH_INFO"].split("/")[3]) if operation != "CreateFunction" else None
    try:
        params = json.loads(body or b"{}")
        code = params.get("Code") if operation == "CreateFunction" else params
        zipped = base64.b64decode(code["ZipFile"], validate=True) if "ZipFile" in (code or {}) else None
        if zipped is None and "S3Key" in (code or {}):
            zipped = _s3_object(code.get("S3Bucket"), code["S3Key"])
        code_size = unzipped_size(zipped) if zipped is not None else None
        layers = params.get("Layers") if operation != "UpdateFunctionCode" else None
    except (ValueError, TypeError, KeyError, AttributeError, zipfile.BadZipFile):
        return None  # malformed, or not a zip: moto answers as before
    if code_size is not None and code_size > UNZIPPED_LIMIT:
        return _lambda_error(
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
        return _lambda_error(
            400,
            "InvalidParameterValueException",
            f"Function code combined with layers exceeds the maximum allowed size of {UNZIPPED_LIMIT} bytes. "
            f"The actual size is {total} bytes.",
        )
    return None


def _s3_object(bucket: str, key: str) -> bytes | None:
    """The code object a CreateFunction/UpdateFunctionCode names in S3; None when moto has no such object."""
    from moto.s3.models import s3_backends

    try:
        return s3_backends[config.ACCOUNT_ID]["aws"].get_object(bucket, key).value
    except Exception:  # moto's own errors (no bucket, no key): it answers them itself
        return None


def _lambda_error(status: int, error_type: str, message: str) -> Response:
    headers = {"x-amzn-ErrorType": error_type, "Content-Type": "application/json"}
    return Response(json.dumps({"Type": "User", "message": message}), status=status, headers=headers)


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


def _create_backends() -> None:
    """Create the region's backends now: their creation draws random ids, which must not shift seeded ones."""
    from moto.backends import get_backend

    for service in SERVICES:
        backends = get_backend(service)[config.ACCOUNT_ID]
        for region in (config.REGION, "global", "aws"):
            if region in backends.regions:
                backends[region]
                break


def _seed_moto(seed: int) -> None:
    # moto draws resource ids (API ids, route ids, ...) from this generator: same seed, same ids.
    from moto.moto_api._internal import mock_random

    mock_random.seed(seed)
