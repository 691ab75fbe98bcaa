"""Who signed a request and what AWS checks for it, enforced per request as AWS does and moto does not.

Any access key must belong to someone: the sandbox's own `testing` key acts as the account's root user (allowed
by identity, but an explicit Deny in a bucket or function policy applies to it as on AWS), an IAM user created in
the sandbox (`create_user` + `create_access_key`, with its inline and attached policies, those of its groups and
its permissions boundary), a role session moto's STS handed out (the role's policies and boundary, and the session
policies given to AssumeRole), or a Lambda function's role session. Each request is mapped to the IAM action(s)
and resource ARN(s) AWS authorizes for it (`request_checks`, pure), each check carries the global condition keys
of the request (`global_context`), and `sandbox.aws.iam_policy.authorize` decides with the resource policies that
apply (`resource_policies`: bucket policies, function policies, role trust policies). A denied call gets the
error each service really returns (`denied_response`), an unknown key the service's invalid-credentials error
(`unknown_key_response`), a request the sandbox cannot map an AccessDenied that says so (never an allow).

Why not moto's own enforcement (`INITIAL_NO_AUTH_ACTION_COUNT`, moto/iam/access_control.py): it is one switch for
the whole process (a request counter), so the `testing` key would be refused like any unknown key; most
services authorize against resource `*` (a policy scoped to `telegram-*` ARNs would deny everything); its
AccessDenied has neither the resource nor the JSON services' error shapes; and the requests the sandbox serves
itself (Lambda Invoke, Athena queries) never reach it.

Not enforced: signatures (the secret key is not checked), SCPs and RCPs, ACLs, resource and request tags of
services other than Lambda and IAM (aws:ResourceTag, aws:RequestTag and aws:TagKeys are set for functions, roles
and users by sandbox.aws.tag_keys; aws:PrincipalTag is set for every caller). The Glue and S3 calls Athena makes on the caller's behalf are
authorized for the caller too (`athena_call_checks`), with every policy of theirs (`decide`)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from sandbox.aws.iam_policy import (
    Check,
    Decision,
    Principal,
    UnmappedRequest,
    authorize,
    evaluate,
    s3_checks,
)
from sandbox.aws.protocol import Operation, UnknownOperation, identify

ACCESS_KEY = re.compile(
    r"Credential=(?P<key>[^/,\s]+)/\d{8}/(?P<region>[\w-]+)/(?P<service>[\w-]+)/aws4_request"
)
INVALID_TOKEN = "The security token included in the request is invalid."  # noqa: S105 - an error text
# IAM actions whose name is not the operation's.
ACTION_NAMES = {
    "lambda:Invoke": "lambda:InvokeFunction",
    "lambda:InvokeWithResponseStream": "lambda:InvokeFunction",
}


# The root user's identity: everything (IAM User Guide, "Policy evaluation logic": "all requests are implicitly
# denied with the exception of the AWS account root user, which has full access").
ROOT_IDENTITY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclass(frozen=True)
class Caller:
    """Who signed a request, and every policy of theirs that AWS evaluates: identity policies, the permissions
    boundary (None: none) and the session policies (None: no session policy was passed, not "deny all")."""

    principal: Principal
    policies: tuple[dict, ...]
    session_token: str | None = None  # what temporary credentials must send along; None for a user's key
    boundary: dict | None = None
    session_policies: tuple[dict, ...] | None = None
    tags: tuple[
        tuple[str, str], ...
    ] = ()  # aws:PrincipalTag/KEY: the user's or role's tags, then session tags

    @property
    def arn(self) -> str:
        """The ARN AWS names in its errors (a role session's, not its role's)."""
        return self.principal.arn

    @property
    def root(self) -> bool:
        return self.principal.kind == "root"


def root_caller(account: str) -> Caller:
    principal = Principal(f"arn:aws:iam::{account}:root", account, "root", userid=account)
    return Caller(principal, (ROOT_IDENTITY,))


@dataclass(frozen=True)
class SignedRequest:
    """What authorization needs from an HTTP request (body already read)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    access_key: str
    region: str
    # The SigV4 signing name: s3, iam, sts, lambda, apigateway, scheduler, athena, glue, logs, ssm.
    service: str
    # What the request calls, read with the service's model (sandbox.aws.protocol); None for S3, which the
    # checks map from the method and path themselves, and for what no operation matches.
    operation: Operation | None = None


def signed_request(
    environ: dict, body: bytes, operation: Operation | None = None, default_region: str = "us-east-1"
) -> SignedRequest | None:
    """The request's signing scope (Authorization header or presigned URL); None for an unsigned request.

    `operation` is the request already identified; otherwise it is identified here (but for S3). An S3 request
    signed with Signature Version 2 names no region: `default_region`."""
    query_string = environ.get("QUERY_STRING", "")
    text = environ.get("HTTP_AUTHORIZATION", "") or unquote(query_string).replace(
        "X-Amz-Credential=", "Credential="
    )
    match = ACCESS_KEY.search(text)
    if match is None:
        key = sigv2_access_key(environ)
        if key is None:
            return None
        match = {"key": key, "region": default_region, "service": "s3"}
    if operation is None and match["service"] != "s3":
        try:
            operation = identify(environ, body, match["service"])
        except UnknownOperation:
            pass
    headers = {
        key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    return SignedRequest(
        method=environ.get("REQUEST_METHOD", "GET").upper(),
        # WSGI gives the path already percent-decoded, as latin-1 (PEP 3333): back to the UTF-8 AWS signed.
        path=environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace"),
        query=dict(parse_qsl(query_string, keep_blank_values=True)),
        headers=headers,
        body=body,
        access_key=match["key"],
        region=match["region"],
        service=match["service"],
        operation=operation,
    )


SIGV2_HEADER = re.compile(r"^AWS (?P<key>[^:\s]+):")
SIGV2_QUERY = re.compile(r"(?:^|&)AWSAccessKeyId=(?P<key>[^&]+)")


def sigv2_access_key(environ: dict) -> str | None:
    """The access key of an S3 request signed with Signature Version 2 (an "AWS KEY:SIGNATURE" header, or the
    AWSAccessKeyId of a presigned URL, which botocore still writes for S3 unless told s3v4); None otherwise."""
    found = SIGV2_HEADER.match(environ.get("HTTP_AUTHORIZATION", "")) or SIGV2_QUERY.search(
        environ.get("QUERY_STRING", "")
    )
    return unquote(found["key"]) if found else None


# ---- request -> (action, resource) ---------------------------------------------------------------------------
def request_checks(
    request: SignedRequest,
    account: str,
    query_workgroup: Callable[[str], str | None] = lambda _id: None,
    caller_arn: str | None = None,
) -> list[Check]:
    """Every authorization AWS makes for the request, in the order it makes them. `caller_arn`: the signer, whose
    own user IAM's calls about yourself (GetUser without UserName...) are checked against.

    Raises UnmappedRequest for a request whose permissions the sandbox does not know."""
    service, region = request.service, request.region
    if service == "s3":
        bucket, _, key = request.path.lstrip("/").partition("/")
        return s3_checks(request.method, bucket, key, request.query, request.headers, request.body)
    if service in ("iam", "sts"):
        params = dict(request.query)
        if request.method == "POST":
            params.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        if not params.get("Action"):
            raise UnmappedRequest(f"{service.upper()} {request.method} {request.path}")
        return _query_checks(service, params["Action"], params, account, caller_arn)
    if service == "apigateway":
        # API Gateway authorizes the HTTP verb on the resource path (v2 APIs without their /v2 prefix).
        path = request.path.removeprefix("/v2")
        return [Check(f"apigateway:{request.method}", f"arn:aws:apigateway:{region}::{path}")]
    operation = request.operation
    if operation is None:
        raise UnmappedRequest(f"{service} {request.method} {request.path}")
    name, params = operation.name, operation.params
    if operation.service == "lambda":
        return _lambda_checks(name, params, region, account)
    if operation.service == "scheduler":
        return _scheduler_checks(name, params, region, account)
    if operation.service == "athena":
        return _athena_checks(name, params, region, account, query_workgroup)
    if operation.service == "glue":
        return _glue_checks(name, params, region, account)
    if operation.service == "logs":
        return _logs_checks(name, params, region, account)
    if operation.service == "ssm":
        return _ssm_checks(name, params, region, account)
    if operation.service == "events":
        return _events_checks(name, params, region, account)
    raise UnmappedRequest(f"{service}:{name}")


# IAM operations whose UserName may be left out: they are then about the caller's own user, which they authorize
# (IAM User Guide, "Allows IAM users to manage their own credentials": Resource "arn:aws:iam::*:user/${aws:username}").
ABOUT_YOURSELF = frozenset(
    {
        "GetUser",
        "ListAccessKeys",
        "CreateAccessKey",
        "UpdateAccessKey",
        "DeleteAccessKey",
        "ListSigningCertificates",
        "UploadSigningCertificate",
        "UpdateSigningCertificate",
        "DeleteSigningCertificate",
        "ListSSHPublicKeys",
        "ListServiceSpecificCredentials",
        "ListMFADevices",
        "GetLoginProfile",
        "ChangePassword",
    }
)


# IAM parameters naming a resource the sandbox does not map (its ARN form): such a request is refused.
IAM_UNMAPPED_PARAMETERS = (
    "OpenIDConnectProviderArn",
    "SAMLProviderArn",
    "ServerCertificateName",
    "SerialNumber",
)


def _query_checks(
    service: str, action: str, params: dict, account: str, caller_arn: str | None
) -> list[Check]:
    if service == "sts":
        if action == "AssumeRole" and "RoleArn" in params:
            # Session tags and a source identity are authorized too, by the same trust policy (IAM User Guide,
            # "Passing session tags in AWS STS": sts:TagSession; "Monitor and control actions taken with assumed
            # roles": sts:SetSourceIdentity).
            checks = [Check("sts:AssumeRole", params["RoleArn"])]
            if any(name.startswith("Tags.member.") for name in params):
                checks.append(Check("sts:TagSession", params["RoleArn"]))
            if params.get("SourceIdentity"):
                checks.append(Check("sts:SetSourceIdentity", params["RoleArn"]))
            return checks
        if action == "GetFederationToken" and "Name" in params:
            return [
                Check("sts:GetFederationToken", f"arn:aws:sts::{account}:federated-user/{params['Name']}")
            ]
        return [Check(f"sts:{action}", "*")]
    # The Service Authorization Reference's resource types: a role's, a group's (AddUserToGroup and
    # RemoveUserFromGroup name a user too, but authorize the group), a user's, an instance profile's, a policy's.
    # An entity's ARN carries its path: the one a Create call gives, or (entity_paths) the existing entity's.
    path = params.get("Path") or "/" if action in ("CreateRole", "CreateUser", "CreateGroup") else "/"
    if "RoleName" in params:
        resource = f"arn:aws:iam::{account}:role{path}{params['RoleName']}"
    elif "GroupName" in params:
        resource = f"arn:aws:iam::{account}:group{path}{params['GroupName']}"
    elif "UserName" in params:
        resource = f"arn:aws:iam::{account}:user{path}{params['UserName']}"
    elif action in ABOUT_YOURSELF and caller_arn:
        resource = caller_arn
    elif "InstanceProfileName" in params:
        resource = f"arn:aws:iam::{account}:instance-profile/{params['InstanceProfileName']}"
    elif "PolicyArn" in params:
        resource = params["PolicyArn"]
    elif action == "CreatePolicy" and "PolicyName" in params:
        resource = f"arn:aws:iam::{account}:policy{params.get('Path') or '/'}{params['PolicyName']}"
    elif any(name in params for name in IAM_UNMAPPED_PARAMETERS):
        raise UnmappedRequest(f"iam:{action}")
    else:
        resource = "*"
    context = {}
    if action in BOUNDARY_IN_REQUEST and params.get("PermissionsBoundary"):
        context["iam:PermissionsBoundary"] = params["PermissionsBoundary"]
    if action in POLICY_ARN_ACTIONS and params.get("PolicyArn"):
        context["iam:PolicyARN"] = params["PolicyArn"]
    return [Check(f"iam:{action}", resource, context)]


# IAM's own condition keys (Service Authorization Reference, "Actions, resources, and condition keys for AWS Identity
# and Access Management", list_awsidentityandaccessmanagementiam.html). iam:PermissionsBoundary, "the specified policy
# is set as the permissions boundary on the IAM entity": the request's PermissionsBoundary for the calls that set one
# (the IAM User Guide's delegation example, access_policies_boundaries.html: "set the permissions boundary for
# existing users but only using that same policy"), the entity's current boundary for the calls on an existing one
# ("manage permissions policies for users with this permissions boundary set"); absent when there is none.
BOUNDARY_IN_REQUEST = frozenset(
    {"CreateRole", "CreateUser", "PutRolePermissionsBoundary", "PutUserPermissionsBoundary"}
)
BOUNDARY_OF_ENTITY = frozenset(
    {"iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:DeleteRole", "iam:DeleteRolePermissionsBoundary",
     "iam:DeleteRolePolicy", "iam:DeleteUserPermissionsBoundary", "iam:DeleteUserPolicy", "iam:DetachRolePolicy",
     "iam:DetachUserPolicy", "iam:GetRole", "iam:PutRolePolicy", "iam:PutUserPolicy", "iam:UpdateAssumeRolePolicy",
     "iam:UpdateRole", "iam:UpdateRoleDescription"}
)  # fmt: skip
# iam:PolicyARN, "the ARN of an IAM policy": the managed policy attached or detached.
POLICY_ARN_ACTIONS = frozenset(
    {"AttachGroupPolicy", "AttachRolePolicy", "AttachUserPolicy", "DetachGroupPolicy", "DetachRolePolicy",
     "DetachUserPolicy"}
)  # fmt: skip


def _function_arn(name: str, region: str, account: str) -> str:
    if name.startswith("arn:"):
        return name
    if ":function:" in name:  # partial ARN: 123456789012:function:name
        return f"arn:aws:lambda:{region}:{name}"
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def _lambda_checks(operation: str, params: dict, region: str, account: str) -> list[Check]:
    action = ACTION_NAMES.get(f"lambda:{operation}", f"lambda:{operation}")
    if "FunctionName" in params:
        arn = _function_arn(str(params["FunctionName"]), region, account)
        if params.get("Qualifier") and arn.count(":") == 6:
            arn += f":{params['Qualifier']}"
        checks = [Check(action, arn)]
    elif isinstance(params.get("Resource"), str) and params["Resource"].startswith("arn:"):
        checks = [
            Check(action, params["Resource"])
        ]  # TagResource, UntagResource, ListTags: the function's ARN
    elif "LayerName" in params and "VersionNumber" in params:
        layer = params["LayerName"]
        layer_arn = layer if layer.startswith("arn:") else f"arn:aws:lambda:{region}:{account}:layer:{layer}"
        checks = [Check(action, f"{layer_arn}:{params['VersionNumber']}")]
    else:
        checks = [Check(action, "*")]
    if operation in ("CreateFunction", "UpdateFunctionConfiguration"):
        # Lambda passes the role to itself and reads every layer version with the caller's rights.
        if params.get("Role"):
            checks.append(
                Check("iam:PassRole", params["Role"], {"iam:PassedToService": "lambda.amazonaws.com"})
            )
        checks += [Check("lambda:GetLayerVersion", layer) for layer in params.get("Layers") or []]
    return checks


def _scheduler_checks(operation: str, params: dict, region: str, account: str) -> list[Check]:
    action = f"scheduler:{operation}"
    if "Name" in params and "Schedule" in operation:
        group = params.get("GroupName") or params.get("groupName") or "default"
        checks = [Check(action, f"arn:aws:scheduler:{region}:{account}:schedule/{group}/{params['Name']}")]
    else:
        checks = [Check(action, "*")]
    role = (params.get("Target") or {}).get("RoleArn") if isinstance(params.get("Target"), dict) else None
    if operation in ("CreateSchedule", "UpdateSchedule") and role:
        checks.append(Check("iam:PassRole", role, {"iam:PassedToService": "scheduler.amazonaws.com"}))
    return checks


def _workgroup_arn(name: str, region: str, account: str) -> str:
    return f"arn:aws:athena:{region}:{account}:workgroup/{name}"


def _athena_checks(operation: str, params: dict, region: str, account: str, query_workgroup) -> list[Check]:
    action = f"athena:{operation}"
    if operation in ("CreateWorkGroup",):
        return [Check(action, _workgroup_arn(str(params.get("Name", "")), region, account))]
    if operation in (
        "GetQueryExecution",
        "GetQueryResults",
        "StopQueryExecution",
        "GetQueryRuntimeStatistics",
    ):
        workgroup = query_workgroup(str(params.get("QueryExecutionId", ""))) or "primary"
        return [Check(action, _workgroup_arn(workgroup, region, account))]
    if operation in ("ListWorkGroups", "ListDataCatalogs", "BatchGetQueryExecution"):
        return [Check(action, "*")]
    workgroup = params.get("WorkGroup") or "primary"
    return [Check(action, _workgroup_arn(str(workgroup), region, account))]


def _glue_arns(region: str, account: str):
    base = f"arn:aws:glue:{region}:{account}"
    return base + ":catalog", base + ":database/", base + ":table/", base + ":userDefinedFunction/"


def glue_resources(operation: str, params: dict, region: str, account: str) -> list[str]:
    """The Data Catalog resources Glue authorizes an operation on (catalog, database, table)."""
    catalog, database, table, function = _glue_arns(region, account)
    if operation == "GetDatabases":
        return [catalog, database + "*"]
    if operation in ("CreateDatabase",):
        return [catalog, database + str((params.get("DatabaseInput") or {}).get("Name", ""))]
    if operation in ("GetDatabase", "UpdateDatabase"):
        return [catalog, database + str(params.get("Name", ""))]
    if operation == "DeleteDatabase":
        name = str(params.get("Name", ""))
        return [catalog, database + name, f"{table}{name}/*", f"{function}{name}/*"]
    db = str(params.get("DatabaseName", ""))
    if operation == "GetTables":
        return [catalog, database + db, f"{table}{db}/*"]
    if operation in ("CreateTable", "UpdateTable"):
        return [catalog, database + db, f"{table}{db}/{(params.get('TableInput') or {}).get('Name', '')}"]
    if "TableName" in params or "Name" in params and db:
        return [catalog, database + db, f"{table}{db}/{params.get('TableName') or params.get('Name')}"]
    return [catalog]


def _glue_checks(operation: str, params: dict, region: str, account: str) -> list[Check]:
    return [Check(f"glue:{operation}", arn) for arn in glue_resources(operation, params, region, account)]


def _logs_checks(operation: str, params: dict, region: str, account: str) -> list[Check]:
    # CloudWatch Logs authorizes a log stream's ARN (":log-stream:" with an empty stream for group-level calls,
    # and no group at all for DescribeLogGroups), which policies match with "log-group:NAME:*".
    group = params.get("logGroupName") or ""
    stream = params.get("logStreamName") or ""
    return [
        Check(f"logs:{operation}", f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{stream}")
    ]


def _ssm_checks(operation: str, params: dict, region: str, account: str) -> list[Check]:
    names = params.get("Names") or ([params["Name"]] if "Name" in params else [])
    if "Path" in params:
        names = [params["Path"]]
    if not names:
        return [Check(f"ssm:{operation}", "*")]
    return [Check(f"ssm:{operation}", parameter_arn(str(name), region, account)) for name in names]


def parameter_arn(name: str, region: str, account: str) -> str:
    """A parameter's ARN; AWS's public parameters (/aws/service/...) have no account in theirs."""
    if name.startswith("arn:"):
        return name
    if name.startswith("/aws/service/"):
        return f"arn:aws:ssm:{region}::parameter{name}"
    return f"arn:aws:ssm:{region}:{account}:parameter/{name.lstrip('/')}"


# EventBridge operations on one rule, which they authorize (rule/NAME, or rule/BUS/NAME on a custom bus), and those
# with no resource type ("Actions, resources, and condition keys for Amazon EventBridge").
EVENTS_RULE_OPERATIONS = frozenset(
    {"PutRule", "DeleteRule", "DescribeRule", "EnableRule", "DisableRule", "PutTargets", "RemoveTargets",
     "ListTargetsByRule"}
)  # fmt: skip
EVENTS_UNSCOPED_OPERATIONS = frozenset(
    {"ListRules", "ListEventBuses", "ListRuleNamesByTarget", "TestEventPattern"}
)


def _events_checks(operation: str, params: dict, region: str, account: str) -> list[Check]:
    if operation in EVENTS_UNSCOPED_OPERATIONS:
        return [Check(f"events:{operation}", "*")]
    name = params.get("Name") or params.get("Rule")
    if operation not in EVENTS_RULE_OPERATIONS or not name:
        raise UnmappedRequest(f"events:{operation}")
    bus = params.get("EventBusName") or "default"
    bus = bus.rsplit("/", 1)[-1]
    path = str(name) if bus == "default" else f"{bus}/{name}"
    return [Check(f"events:{operation}", f"arn:aws:events:{region}:{account}:rule/{path}")]


# ---- Athena's calls on the caller's behalf -------------------------------------------------------------------
# Athena reads the catalog and the table's data, and writes its results, with the caller's own permissions:
# "When actors interact with Athena, their permissions pass through Athena to determine what Athena can access"
# (Athena User Guide, "Control access to Amazon S3 from Athena"; for Glue, "Configure access to databases and
# tables in the AWS Glue Data Catalog"). These are forward access sessions (IAM User Guide, "Forward access
# sessions"): each call is authorized as the caller's own request would be, with aws:CalledVia and
# aws:ViaAWSService set, and without the caller's aws:SourceIp ("requests to Amazon S3 come from a private IPv4
# address for Athena", same S3 page). The sandbox's engine makes the Glue and S3 calls Athena's makes, in the same
# order (GetDatabase, GetTable, GetPartitions, then ListObjectsV2 and GetObject of each file it reads; PutObject
# of what it writes), and each one is mapped here to the checks of the same request sent directly.
ATHENA_PRINCIPAL = "athena.amazonaws.com"
FORWARD_ACCESS = {
    "aws:CalledVia": [ATHENA_PRINCIPAL],
    "aws:CalledViaFirst": ATHENA_PRINCIPAL,
    "aws:CalledViaLast": ATHENA_PRINCIPAL,
    "aws:ViaAWSService": "true",
}
# The S3 operations the engine calls, as the REST request each one is (method, query parameters).
ATHENA_S3_REQUESTS = {
    "GetBucketLocation": ("GET", {"location": ""}),
    "ListObjectsV2": ("GET", {"list-type": "2"}),
    "GetObject": ("GET", {}),
    "PutObject": ("PUT", {}),
}
S3_LIST_PARAMS = {"Prefix": "prefix", "Delimiter": "delimiter", "MaxKeys": "max-keys"}
# GetQueryResults without s3:GetObject on the result file (seen from AWS in awslabs/amazon-s3-find-and-forget#290).
RESULTS_UNREADABLE = (
    "You do not seem to have access to the S3 location of your query results. Please confirm your account has "
    "access to the S3 location where your query results are saved and try again. If specifying an expected bucket "
    "owner, confirm the bucket is owned by the expected account. If you are using KMS to encrypt query results, "
    "please ensure you have permission to access your KMS key. If you continue to see this issue, please contact "
    "customer support."
)


def athena_call_checks(service: str, operation: str, params: dict, region: str, account: str) -> list[Check]:
    """The checks of one Glue or S3 call Athena makes for a caller: those of the same request made directly
    (`glue_resources`, `s3_checks`), with the forward access session's context keys."""
    if service == "glue":
        checks = _glue_checks(operation, params, region, account)
    elif service == "s3" and operation in ATHENA_S3_REQUESTS:
        method, query = ATHENA_S3_REQUESTS[operation]
        query = dict(query)
        query.update({S3_LIST_PARAMS[k]: str(v) for k, v in params.items() if k in S3_LIST_PARAMS})
        checks = s3_checks(method, str(params.get("Bucket", "")), str(params.get("Key", "")), query, {})
    else:  # a call this mapping does not know is refused rather than allowed unchecked
        checks = [Check(f"{service}:{operation}", "*")]
    return [Check(c.action, c.resource, {**c.context, **FORWARD_ACCESS}) for c in checks]


def athena_denial(principal: str, check: Check, outcome: str, purpose: str, output_url: str) -> str:
    """How Athena words a call it could not make with the caller's rights: a query's StateChangeReason, or for
    `purpose` "fetch" the message of GetQueryResults' InvalidRequestException.

    The texts are AWS's own, as seen in answers quoted in public threads: Glue's AccessDenied after "Insufficient
    permissions to execute the query." (getredash/website#54 and others); S3's, as Athena engine version 3 reports
    it ("PERMISSION_DENIED: User: ... is not authorized to perform: s3:ListBucket on resource: ..." with the SDK's
    "(Service: S3, Status Code: 403, Request ID: ..., Extended Request ID: ...)"); and the result location's."""
    if check.action.startswith("glue:"):
        return "Insufficient permissions to execute the query. " + denial_message(principal, check, outcome)
    if purpose == "fetch":
        return RESULTS_UNREADABLE
    if purpose == "results" and check.action == "s3:GetBucketLocation":
        return f"Unable to verify/create output bucket {check.resource.removeprefix('arn:aws:s3:::')}"
    if purpose == "results":
        return (
            f"Access denied when writing output to url: {output_url} . Please ensure you are allowed to access "
            "the S3 bucket. If you are encrypting query results with KMS key, please ensure you are allowed to "
            "access your KMS key"
        )
    # S3's request ids, drawn from the query and the resource so that a run repeats itself (sandbox seed).
    digest = hashlib.sha256(f"{output_url} {check.action} {check.resource}".encode()).digest()
    request_id = digest[:8].hex().upper()
    extended = base64.b64encode(digest[8:32] * 2).decode()
    return (
        f"PERMISSION_DENIED: {denial_message(principal, check, outcome, quoted=True)} (Service: S3, Status Code: "
        f"403, Request ID: {request_id}, Extended Request ID: {extended})"
    )


# ---- answers -------------------------------------------------------------------------------------------------
# How AccessDenied names each kind of policy since 2023 (IAM User Guide, "Troubleshoot access denied error
# messages": "with an explicit deny in a TYPE" / "because no TYPE allows the ACTION action").
POLICY_TYPE_PHRASES = {
    "identity-based": "identity-based policy",
    "resource-based": "resource-based policy",
    "permissions boundary": "permissions boundary",
    "session": "session policy",
}
# IAM names an existing role or user as "role NAME" / "user NAME" (GetRole, DeleteRole, AttachRolePolicy,
# DetachRolePolicy, GetLoginProfile... as AWS answers them in aws/aws-cdk#27067, aws/aws-parallelcluster#4031,
# rebuy-de/aws-nuke#294), but by ARN what does not exist yet or is passed to a service (CreateRole, CreateUser,
# PassRole: serverless-components/backend#10, aws/aws-sdk-js#1909).
IAM_NAMED_BY_ARN = frozenset({"iam:CreateRole", "iam:CreateUser", "iam:PassRole"})
IAM_ENTITY = re.compile(r"^arn:aws:iam::\d{12}:(?P<kind>role|user)/(?:[^/]+/)*(?P<name>[^/]+)$")


def denial_message(principal: str, check: Check, outcome: str | Decision, quoted: bool = False) -> str:
    """AWS's AccessDenied text since 2023 (S3 quotes the resource, the other services do not)."""
    decision = outcome if isinstance(outcome, Decision) else Decision(outcome)
    kind = POLICY_TYPE_PHRASES.get(decision.policy_type, f"{decision.policy_type} policy")
    reason = (
        f"with an explicit deny in {'an' if kind[0] in 'aeiou' else 'a'} {kind}"
        if decision.outcome == "explicit"
        else f"because no {kind} allows the {check.action} action"
    )
    resource = check.resource
    entity = IAM_ENTITY.match(resource) if check.action.startswith("iam:") else None
    if entity and check.action not in IAM_NAMED_BY_ARN:
        resource = f"{entity['kind']} {entity['name']}"
    elif quoted:
        resource = f'"{resource}"'
    return f"User: {principal} is not authorized to perform: {check.action} on resource: {resource} {reason}"


def unmapped_message(error: UnmappedRequest) -> str:
    """What a learner reads when the sandbox cannot tell which permissions AWS would check."""
    return (
        f"O sandbox não sabe quais permissões do IAM a AWS verifica para esta requisição ({error.what}); "
        "ele a recusa em vez de permitir o que a AWS poderia negar."
    )


def _query_error(code: str, message: str, request_id: str) -> bytes:
    from xml.sax.saxutils import escape

    return (
        '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()


def error_response(
    service: str, code: str, message: str, request_id: str
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of an authorization error in the service's own protocol."""
    if service == "s3":
        from xml.sax.saxutils import escape

        from sandbox.aws.faults import s3_error

        return s3_error(403, code, escape(message), request_id)
    if service in ("iam", "sts"):
        return (
            403,
            {"Content-Type": "text/xml", "x-amzn-RequestId": request_id},
            _query_error(code, message, request_id),
        )
    headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": code}
    if service == "lambda":
        body = {"Type": "User", "Message" if code == "AccessDeniedException" else "message": message}
        return 403, headers | {"Content-Type": "application/json"}, json.dumps(body).encode()
    if service == "apigateway":
        return 403, headers | {"Content-Type": "application/json"}, json.dumps({"message": message}).encode()
    if service == "scheduler":
        return 403, headers | {"Content-Type": "application/json"}, json.dumps({"Message": message}).encode()
    # JSON 1.1 services (Athena, Glue, CloudWatch Logs, SSM) answer client errors with 400.
    key = "Message" if code == "AccessDeniedException" else "message"
    body = json.dumps({"__type": code, key: message}).encode()
    return 400, headers | {"Content-Type": "application/x-amz-json-1.1"}, body


def denied_response(service: str, principal: str, check: Check, outcome: str | Decision, request_id: str):
    message = denial_message(principal, check, outcome, quoted=service == "s3")
    return error_response(service, _denied_code(service), message, request_id)


def unmapped_response(service: str, error: UnmappedRequest, request_id: str):
    """The refusal of a request the sandbox cannot map, in the service's own AccessDenied shape."""
    return error_response(service, _denied_code(service), unmapped_message(error), request_id)


def _denied_code(service: str) -> str:
    return "AccessDenied" if service in ("s3", "iam", "sts") else "AccessDeniedException"


def unknown_key_response(service: str, access_key: str, request_id: str, bad_token: bool = False):
    """An access key no one has (or sent with a token that is not its own): each service's invalid-credentials
    error."""
    if service == "s3" and bad_token:
        from sandbox.aws.faults import s3_error

        return s3_error(
            403, "InvalidToken", "The provided token is malformed or otherwise invalid.", request_id
        )
    if service == "s3":
        from sandbox.aws.faults import s3_error

        message = "The AWS Access Key Id you provided does not exist in our records."
        status, headers, body = s3_error(403, "InvalidAccessKeyId", message, request_id)
        body = body.replace(
            b"<RequestId>", f"<AWSAccessKeyId>{access_key}</AWSAccessKeyId><RequestId>".encode(), 1
        )
        return status, headers, body
    if service in ("iam", "sts"):
        return error_response(service, "InvalidClientTokenId", INVALID_TOKEN, request_id)
    return error_response(service, "UnrecognizedClientException", INVALID_TOKEN, request_id)


# ---- who signed ----------------------------------------------------------------------------------------------
def _iam(account: str):
    from moto.iam.models import iam_backends

    return iam_backends[account]["aws"]


def role_policies(role_arn: str, account: str) -> list[dict]:
    """The identity policies of a role in moto's IAM (inline and attached); none when the role is gone."""
    role = _role(role_arn, account)
    return [] if role is None else _documents(role.policies.values(), role.managed_policies.values())


def _role(role_arn: str, account: str):
    from moto.iam.exceptions import NotFoundException

    try:
        return _iam(account).get_role_by_arn(role_arn)
    except NotFoundException:  # a deleted role grants nothing, as on AWS
        return None


def _documents(inline, managed) -> list[dict]:
    documents = list(inline)
    for policy in managed:
        documents += [version.document for version in policy.versions if version.is_default]
    return [_parsed(doc) for doc in documents]


def _parsed(document) -> dict:
    return json.loads(document) if isinstance(document, str) else document


def managed_document(policy_arn: str | None, account: str) -> dict | None:
    """The default version of a managed policy (a permissions boundary); a boundary whose policy is gone allows
    nothing, as an empty policy."""
    if not policy_arn:
        return None
    from moto.iam.exceptions import NotFoundException

    try:
        policy = _iam(account).get_policy(policy_arn)
    except NotFoundException:
        return {"Version": "2012-10-17", "Statement": []}
    return next(
        (_parsed(version.document) for version in policy.versions if version.is_default),
        {"Version": "2012-10-17", "Statement": []},
    )


def role_session(
    role_arn: str,
    session: str,
    account: str,
    token: str | None,
    session_policies: tuple[dict, ...] | None = None,
    session_tags: tuple[tuple[str, str], ...] = (),
) -> Caller:
    """A role session: the role's policies and boundary; its ARN names the session, aws:userid the role's id."""
    role = _role(role_arn, account)
    arn = f"arn:aws:sts::{account}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/{session}"
    role_id = role.id if role is not None else "AROA"
    principal = Principal(arn, account, "assumed-role", role_arn=role_arn, userid=f"{role_id}:{session}")
    identity = (
        () if role is None else tuple(_documents(role.policies.values(), role.managed_policies.values()))
    )
    boundary = managed_document(getattr(role, "permissions_boundary_arn", None), account)
    # A session tag replaces the role's tag of the same key (IAM User Guide, "Passing session tags in AWS STS").
    tags = {key.lower(): (key, value) for key, value in _tag_pairs(getattr(role, "tags", None))}
    tags.update({key.lower(): (key, value) for key, value in session_tags})
    return Caller(principal, identity, token, boundary, session_policies, tuple(tags.values()))


def _tag_pairs(tags) -> list[tuple[str, str]]:
    """moto's tags, as a list or a dict of {"Key", "Value"}, as (key, value) pairs."""
    entries = tags.values() if isinstance(tags, dict) else tags or []
    return [(str(tag["Key"]), str(tag["Value"])) for tag in entries if isinstance(tag, dict) and "Key" in tag]


def find_caller(
    access_key: str, account: str, role_sessions: dict[str, tuple[str, str, str]]
) -> Caller | None:
    """The identity behind an access key: a function's role session, an IAM user, or a session moto's STS gave."""
    from moto.sts.models import sts_backends

    if access_key in role_sessions:
        role_arn, session, token = role_sessions[access_key]
        return role_session(role_arn, session, account, token)
    backend = _iam(account)
    user = backend.get_user_from_access_key_id(access_key)
    if user is not None:
        key = next(k for k in user.access_keys if k.access_key_id == access_key)
        if key.status != "Active":  # AWS treats an inactive key as an invalid one
            return None
        documents = _documents(user.policies.values(), user.managed_policies.values())
        for group in backend.get_groups_for_user(user.name):
            documents += _documents(group.policies.values(), group.managed_policies.values())
        principal = Principal(user.arn, account, "user", username=user.name, userid=user.id)
        boundary = managed_document(getattr(user, "permissions_boundary_arn", None), account)
        tags = tuple(_tag_pairs(backend.list_user_tags(user.name)))
        return Caller(principal, tuple(documents), None, boundary, None, tags)
    assumed = sts_backends[account]["aws"].get_assumed_role_from_access_key(access_key)
    if assumed is not None:
        return role_session(
            assumed.role_arn,
            assumed.session_name,
            account,
            assumed.session_token,
            session_policies(assumed, account),
            tuple(getattr(assumed, "session_tags", ())),
        )
    return None


def session_policies(assumed, account: str) -> tuple[dict, ...] | None:
    """The session policies given to AssumeRole (`Policy`, `PolicyArns`); None when none was given."""
    documents = [_parsed(assumed.policy)] if assumed.policy else []
    documents += [managed_document(arn, account) for arn in getattr(assumed, "policy_arns", ())]
    return tuple(documents) if documents else None


IAM_ENTITY_ARN = re.compile(r"^arn:aws:iam::(?P<account>\d{12}):(?P<kind>role|user|group)/(?P<name>[^/]+)$")


def entity_paths(checks: list[Check], account: str) -> list[Check]:
    """IAM checks on an existing role, user or group named by the request, with the ARN that carries its path
    (arn:aws:iam::ACCOUNT:user/PATH/NAME), which is what a policy's Resource matches, and the entity's permissions
    boundary as iam:PermissionsBoundary for the calls that carry it (BOUNDARY_OF_ENTITY)."""
    result = []
    for check in checks:
        found = IAM_ENTITY_ARN.match(check.resource) if check.action.startswith("iam:") else None
        entity = _entity(found["kind"], found["name"], account) if found else None
        if entity is None:
            result.append(check)
            continue
        context = dict(check.context)
        boundary = getattr(entity, "permissions_boundary_arn", None)
        if check.action in BOUNDARY_OF_ENTITY and boundary:
            context["iam:PermissionsBoundary"] = boundary
        result.append(Check(check.action, entity.arn, context))
    return result


def _entity(kind: str, name: str, account: str):
    backend = _iam(account)
    if kind == "user":
        return backend.users.get(name)
    if kind == "group":
        return backend.groups.get(name)
    return next((role for role in backend.roles.values() if role.name == name), None)


# ---- resource policies and the request's context -------------------------------------------------------------
FUNCTION_ARN = re.compile(r"^arn:aws:lambda:(?P<region>[\w-]+):\d{12}:function:(?P<name>[^:]+)(?::[^:]+)?$")
# The actions a role's trust policy must allow, whatever the caller's own policies say (IAM User Guide, "Roles
# terms and concepts": a trust policy is the only resource-based policy IAM supports; AssumeRole needs it).
TRUST_ACTIONS = frozenset({"sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"})


def resource_policies(check: Check, account: str) -> list[dict]:
    """The resource-based policies AWS evaluates with a check: the bucket's policy, the function's policy, the
    role's trust policy."""
    if check.resource.startswith("arn:aws:s3:::") and check.resource != "arn:aws:s3:::*":
        return _bucket_policy(check.resource[len("arn:aws:s3:::") :].split("/", 1)[0], account)
    if check.action.startswith("lambda:"):
        found = FUNCTION_ARN.match(check.resource)
        return _function_policy(found["region"], found["name"], account) if found else []
    if check.action in TRUST_ACTIONS:
        role = _role(check.resource, account) if check.resource.startswith("arn:aws:iam::") else None
        return [_parsed(role.assume_role_policy_document)] if role is not None else []
    return []


def _bucket_policy(bucket: str, account: str) -> list[dict]:
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends

    try:
        policy = s3_backends[account]["aws"].get_bucket(bucket).policy
    except MissingBucket:
        return []
    return [json.loads(policy)] if policy else []


def _function_policy(region: str, name: str, account: str) -> list[dict]:
    from moto.awslambda.utils import get_backend
    from moto.core.exceptions import ServiceException, _RESTError

    try:
        statements = list(get_backend(account, region).get_function(name).policy.statements)
    except (ServiceException, _RESTError):
        return []
    if not statements:
        return []
    return [{"Version": "2012-10-17", "Statement": [_aws_principal(statement) for statement in statements]}]


def _aws_principal(statement: dict) -> dict:
    """A function policy statement with its Principal as Lambda shows it (moto keeps AddPermission's string):
    {"Service": ...} for a service, {"AWS": "arn:aws:iam::ACCOUNT:root"} for an account id, {"AWS": ARN} for an
    ARN (Lambda Developer Guide, "Viewing resource-based IAM policies in Lambda")."""
    principal = statement.get("Principal")
    if not isinstance(principal, str) or principal == "*":
        return statement
    if principal.endswith(".amazonaws.com"):
        shaped = {"Service": principal}
    elif re.fullmatch(r"\d{12}", principal):
        shaped = {"AWS": f"arn:aws:iam::{principal}:root"}
    else:
        shaped = {"AWS": principal}
    return {**statement, "Principal": shaped}


PRINCIPAL_TYPES = {"user": "User", "assumed-role": "AssumedRole", "root": "Account"}


def global_context(
    principal: Principal,
    region: str,
    source_ip: str,
    now: float | None = None,
    tags: tuple[tuple[str, str], ...] = (),
) -> dict[str, str]:
    """The global condition keys every request carries (IAM User Guide, "AWS global condition context keys").

    The sandbox listens on plain HTTP: aws:SecureTransport is "false" in every request."""
    now = time.time() if now is None else now
    context = {
        "aws:RequestedRegion": region,
        "aws:CurrentTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "aws:EpochTime": str(int(now)),
        "aws:SourceIp": source_ip,
        "aws:SecureTransport": "false",
        "aws:ViaAWSService": "false",
        "aws:PrincipalIsAWSService": "false",
        "aws:PrincipalAccount": principal.account,
        "aws:PrincipalArn": principal.role_arn or principal.arn,  # a role session's key is its role's ARN
        "aws:PrincipalType": PRINCIPAL_TYPES[principal.kind],
        "aws:userid": principal.userid or principal.account,
    }
    if principal.username:  # users only: roles and the root user have no aws:username
        context["aws:username"] = principal.username
    for key, value in tags:  # present only for a principal with tags
        context[f"aws:PrincipalTag/{key}"] = value
    if principal.kind == "assumed-role":
        # Present only with temporary credentials, "false" when they were issued without MFA (the sandbox has no
        # MFA); absent for a user's access key.
        context["aws:MultiFactorAuthPresent"] = "false"
    return context


def decide(caller: Caller, check: Check, account: str) -> Decision:
    """AWS's decision on one check for this caller, with the resource policies that apply."""
    resource = resource_policies(check, account)
    if caller.root and check.action in ROOT_BUCKET_POLICY_ACTIONS:
        resource = []  # S3 never locks the bucket owner's root user out of the bucket policy
    decision = authorize(
        check,
        caller.principal,
        list(caller.policies),
        resource=resource,
        boundary=caller.boundary,
        session=None if caller.session_policies is None else list(caller.session_policies),
    )
    if decision.allowed and check.action in TRUST_ACTIONS:
        # Assuming a role takes its trust policy's Allow as well: an identity policy alone never does.
        if not caller.root and evaluate(resource, check, caller.principal) != "allow":
            return Decision("implicit", "resource-based")
    return decision


# The root user may not assume a role: STS answers AccessDenied with this text (as quoted from AWS in
# kubeflow/testing#961 and Netflix/security_monkey#1026).
ROOT_CANNOT_ASSUME_ROLES = "Roles may not be assumed by root accounts."
# DeleteBucketPolicy API reference: "the root principal in a bucket owner's AWS account can perform the
# GetBucketPolicy, PutBucketPolicy, and DeleteBucketPolicy API actions, even if their bucket policy explicitly
# denies the root principal's access".
ROOT_BUCKET_POLICY_ACTIONS = frozenset({"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"})
