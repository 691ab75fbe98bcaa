"""A Lambda function's S3 requests checked against its role's policies, as AWS does and moto does not.

On AWS a function calls S3 with its execution role's temporary credentials, and S3 answers 403 AccessDenied
to whatever the role's identity policies do not allow. moto serves every request with full rights, so a
too-narrow role (a missing s3:GetObject, a ListBucket prefix condition that does not match) would pass here
and fail on AWS. The sandbox gives each function session credentials of its own and checks its S3 requests
with the evaluation below.

Covered: the object and bucket operations functions use (Get/Head/Put/Copy/Delete object, multipart uploads,
DeleteObjects, ListObjects(V2) with the s3:prefix / s3:delimiter / s3:max-keys condition keys, HeadBucket,
GetBucketLocation), Action/NotAction, Resource/NotResource with * and ? wildcards, explicit Deny, and the
String*/Arn*/Bool/Null condition operators (with ...IfExists). Not covered: bucket policies, permission
boundaries, policy variables and the ForAnyValue/ForAllValues qualifiers (such a condition never matches).
Other S3 operations are checked as `s3:<Operation>` names that only a wildcard action grants.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

# Bucket subresources (query parameters) and the IAM action of a GET/PUT/DELETE on them (S3 User Guide, "Required
# permissions for Amazon S3 API operations"; a DELETE of a configuration needs the permission that writes it).
BUCKET_SUBRESOURCES = {
    "location": ("s3:GetBucketLocation", None, None),
    "versioning": ("s3:GetBucketVersioning", "s3:PutBucketVersioning", None),
    "policy": ("s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"),
    "policyStatus": ("s3:GetBucketPolicyStatus", None, None),
    "tagging": ("s3:GetBucketTagging", "s3:PutBucketTagging", "s3:PutBucketTagging"),
    "acl": ("s3:GetBucketAcl", "s3:PutBucketAcl", None),
    "publicAccessBlock": (
        "s3:GetBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
    ),
    "ownershipControls": (
        "s3:GetBucketOwnershipControls",
        "s3:PutBucketOwnershipControls",
        "s3:PutBucketOwnershipControls",
    ),
    "encryption": (
        "s3:GetEncryptionConfiguration",
        "s3:PutEncryptionConfiguration",
        "s3:PutEncryptionConfiguration",
    ),
    "lifecycle": (
        "s3:GetLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
    ),
    "cors": ("s3:GetBucketCORS", "s3:PutBucketCORS", "s3:PutBucketCORS"),
    "notification": ("s3:GetBucketNotification", "s3:PutBucketNotification", None),
    "website": ("s3:GetBucketWebsite", "s3:PutBucketWebsite", "s3:DeleteBucketWebsite"),
    "logging": ("s3:GetBucketLogging", "s3:PutBucketLogging", None),
    "object-lock": ("s3:GetBucketObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration", None),
    "versions": ("s3:ListBucketVersions", None, None),
    "uploads": ("s3:ListBucketMultipartUploads", None, None),
}
# Object subresources: (GET, PUT, DELETE) of the current version, then of a given versionId.
OBJECT_SUBRESOURCES = {
    "tagging": (
        ("s3:GetObjectTagging", "s3:PutObjectTagging", "s3:DeleteObjectTagging"),
        ("s3:GetObjectVersionTagging", "s3:PutObjectVersionTagging", "s3:DeleteObjectVersionTagging"),
    ),
    "acl": (
        ("s3:GetObjectAcl", "s3:PutObjectAcl", None),
        ("s3:GetObjectVersionAcl", "s3:PutObjectVersionAcl", None),
    ),
    "retention": (("s3:GetObjectRetention", "s3:PutObjectRetention", None),) * 2,
    "legal-hold": (("s3:GetObjectLegalHold", "s3:PutObjectLegalHold", None),) * 2,
}
# Query parameters that do not change what a request is authorized as: listing and paging parameters, response
# header overrides, presigned URLs' signature, botocore's x-id marker.
PLAIN_PARAMETERS = re.compile(
    r"^(prefix|delimiter|max-keys|marker|list-type|continuation-token|start-after|fetch-owner|encoding-type|"
    r"key-marker|version-id-marker|upload-id-marker|max-uploads|max-parts|part-number-marker|partNumber|"
    r"uploadId|versionId|x-id|response-[a-z-]+|X-Amz-[A-Za-z-]+|AWSAccessKeyId|Signature|Expires)$"
)
DELETE_OBJECT = re.compile(r"<Object>(.*?)</Object>", re.DOTALL)
DELETE_KEY = re.compile(r"<Key>(.*?)</Key>", re.DOTALL)
XML_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&amp;": "&"}


class UnmappedRequest(Exception):
    """A request the sandbox cannot map to the permissions AWS checks for it: it is refused, never allowed."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


@dataclass(frozen=True)
class Check:
    """One authorization S3 makes for a request: an action on a resource, with the request's context keys."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)


def s3_checks(method: str, bucket: str, key: str, query: dict[str, str], headers: dict[str, str], body=b""):
    """The checks S3 makes for one request (path-style: bucket and key already split and URL-decoded).

    Raises UnmappedRequest for a request whose permissions the sandbox does not know."""
    method = method.upper()
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if not bucket:
        # ListBuckets: the S3 User Guide's own example grants s3:ListAllMyBuckets on "arn:aws:s3:::*"
        # (example-bucket-policies.html, "Granting permissions to list all buckets"; a policy on "*" matches too).
        return [Check("s3:ListAllMyBuckets", "arn:aws:s3:::*")]
    if key:
        return _object_checks(method, bucket_arn, key, query, headers)
    if method == "POST" and "delete" in query:
        # DeleteObjects: S3 authorizes each object of the XML body (a version of one: s3:DeleteObjectVersion).
        checks = []
        for entry in DELETE_OBJECT.findall(body.decode("utf-8", "replace")):
            key_found = DELETE_KEY.search(entry)
            action = "s3:DeleteObjectVersion" if "<VersionId>" in entry else "s3:DeleteObject"
            checks.append(Check(action, f"{bucket_arn}/{_unescape(key_found[1] if key_found else '')}"))
        return checks
    for name, actions in BUCKET_SUBRESOURCES.items():
        if name in query:
            action = dict(zip(("GET", "PUT", "DELETE"), actions, strict=True)).get(method)
            if action is None:
                raise UnmappedRequest(f"S3 {method} /{bucket}?{name}")
            return [Check(action, bucket_arn)]
    _refuse_unknown_parameters(query, f"S3 {method} /{bucket}")
    if method in ("GET", "HEAD"):
        # ListObjects(V2) and HeadBucket. Without a prefix, S3 evaluates s3:prefix as the empty string.
        context = {"s3:prefix": query.get("prefix", "")}
        for name in ("delimiter", "max-keys"):
            if name in query:
                context[f"s3:{name}"] = query[name]
        return [Check("s3:ListBucket", bucket_arn, context)]
    if method == "PUT":
        return [Check("s3:CreateBucket", bucket_arn)]
    if method == "DELETE":
        return [Check("s3:DeleteBucket", bucket_arn)]
    raise UnmappedRequest(f"S3 {method} /{bucket}")


def _object_checks(method: str, bucket_arn: str, key: str, query: dict[str, str], headers: dict[str, str]):
    resource = f"{bucket_arn}/{key}"
    versioned = "versionId" in query
    for name, (current, of_version) in OBJECT_SUBRESOURCES.items():
        if name in query:
            actions = of_version if versioned else current
            action = dict(zip(("GET", "PUT", "DELETE"), actions, strict=True)).get(method)
            if action is None:
                raise UnmappedRequest(f"S3 {method} {resource}?{name}")
            return [Check(action, resource)]
    if method == "POST" and not ("uploads" in query or "uploadId" in query):
        raise UnmappedRequest(f"S3 POST {resource}?{'&'.join(query)}")
    _refuse_unknown_parameters({k: v for k, v in query.items() if k != "uploads"}, f"S3 {method} {resource}")
    if method in ("GET", "HEAD"):
        if "uploadId" in query:
            return [Check("s3:ListMultipartUploadParts", resource)]
        # A given version is read with s3:GetObjectVersion (S3 User Guide, "Required permissions for Amazon S3 API
        # operations": GetObject, HeadObject).
        return [Check("s3:GetObjectVersion" if versioned else "s3:GetObject", resource)]
    if method == "DELETE":
        if "uploadId" in query:
            return [Check("s3:AbortMultipartUpload", resource)]
        return [Check("s3:DeleteObjectVersion" if versioned else "s3:DeleteObject", resource)]
    if method in ("PUT", "POST"):  # PutObject, CopyObject, UploadPart, Create/CompleteMultipartUpload
        checks = [Check("s3:PutObject", resource)]
        lowered = {k.lower(): v for k, v in headers.items()}
        # PutObject (and CopyObject, CreateMultipartUpload) with tags also needs s3:PutObjectTagging, with an ACL
        # also s3:PutObjectAcl (PutObject API reference, "Permissions").
        if "x-amz-tagging" in lowered:
            checks.append(Check("s3:PutObjectTagging", resource))
        if "x-amz-acl" in lowered or any(name.startswith("x-amz-grant-") for name in lowered):
            checks.append(Check("s3:PutObjectAcl", resource))
        source = lowered.get("x-amz-copy-source")
        if source:  # CopyObject and UploadPartCopy also read the source object (a given version of it)
            source_path, _, source_query = source.partition("?")
            action = "s3:GetObjectVersion" if "versionId=" in source_query else "s3:GetObject"
            checks.append(Check(action, f"arn:aws:s3:::{unquote(source_path).lstrip('/')}"))
        return checks
    raise UnmappedRequest(f"S3 {method} {resource}")


def _refuse_unknown_parameters(query: dict[str, str], what: str) -> None:
    unknown = [name for name in query if not PLAIN_PARAMETERS.match(name)]
    if unknown:
        raise UnmappedRequest(f"{what}?{'&'.join(unknown)}")


def _unescape(text: str) -> str:
    return re.sub(r"&(lt|gt|quot|apos|amp);", lambda m: XML_ENTITIES[m.group(0)], text)


def evaluate(
    policies: list[dict], check: Check, principal: Principal | None = None, reach: str = "all"
) -> str:
    """ "allow", "implicit" (no statement allows) or "explicit" (a Deny statement applies).

    A statement with a Principal (or NotPrincipal) element, as in a resource-based policy, applies only when it
    names `principal` (`Principal.names(reach)`: the principal itself, its role too, or its account as well)."""
    allowed = False
    for policy in policies:
        statements = policy.get("Statement", [])
        for statement in [statements] if isinstance(statements, dict) else statements:
            if not _applies(statement, check) or not _names(statement, principal, reach):
                continue
            if statement.get("Effect") == "Deny":
                return "explicit"
            allowed = allowed or statement.get("Effect") == "Allow"
    return "allow" if allowed else "implicit"


def _applies(statement: dict, check: Check) -> bool:
    if "Action" in statement:
        action_ok = _any_match(statement["Action"], check.action, ignore_case=True)
    else:
        action_ok = not _any_match(statement.get("NotAction", []), check.action, ignore_case=True)
    if "Resource" in statement:
        resource_ok = _any_match(statement["Resource"], check.resource)
    else:
        resource_ok = not _any_match(statement.get("NotResource", []), check.resource)
    return action_ok and resource_ok and _conditions_hold(statement.get("Condition") or {}, check.context)


def _names(statement: dict, principal: Principal | None, reach: str) -> bool:
    """Whether a statement's Principal / NotPrincipal covers the caller (identity policies have neither)."""
    if "Principal" not in statement and "NotPrincipal" not in statement:
        return True
    if principal is None:
        return False
    if "Principal" in statement:
        return _principal_listed(statement["Principal"], principal.names(reach))
    return not _principal_listed(statement["NotPrincipal"], principal.names("all"))


def _principal_listed(element, names: frozenset[str]) -> bool:
    if element == "*":
        return True
    values = (element or {}).get("AWS", []) if isinstance(element, dict) else []
    values = [values] if isinstance(values, str) else values
    return any(value == "*" or value in names for value in values)


def _any_match(patterns, value: str, ignore_case: bool = False) -> bool:
    patterns = [patterns] if isinstance(patterns, str) else patterns
    return any(wildcard_match(pattern, value, ignore_case) for pattern in patterns)


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's matching: * is any run of characters (also /), ? is one character."""
    return _wildcard_regex(pattern, ignore_case).fullmatch(value) is not None


@functools.lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str, ignore_case: bool) -> re.Pattern:
    # Every request is checked against the same few policies: each pattern is translated once.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _conditions_hold(conditions: dict, context: dict[str, str]) -> bool:
    """Every operator and key must hold; a key absent from the request fails (unless ...IfExists or Null)."""
    keys = {name.lower(): value for name, value in context.items()}
    for operator, entries in conditions.items():
        if_exists = operator.endswith("IfExists")
        base = operator[: -len("IfExists")] if if_exists else operator
        for name, expected in entries.items():
            expected = [expected] if isinstance(expected, str | bool) else list(expected)
            expected = [str(value).lower() if isinstance(value, bool) else str(value) for value in expected]
            actual = keys.get(name.lower())
            if base == "Null":
                if (actual is None) != (expected[0].lower() == "true"):
                    return False
                continue
            if actual is None:
                if if_exists:
                    continue
                return False
            if not _operator_holds(base, actual, expected):
                return False
    return True


def _operator_holds(operator: str, actual: str, expected: list[str]) -> bool:
    if operator == "StringEquals" or operator == "ArnEquals":
        return actual in expected
    if operator == "StringNotEquals" or operator == "ArnNotEquals":
        return actual not in expected
    if operator == "StringEqualsIgnoreCase":
        return actual.lower() in {value.lower() for value in expected}
    if operator == "StringNotEqualsIgnoreCase":
        return actual.lower() not in {value.lower() for value in expected}
    if operator in ("StringLike", "ArnLike"):
        return any(wildcard_match(value, actual) for value in expected)
    if operator in ("StringNotLike", "ArnNotLike"):
        return not any(wildcard_match(value, actual) for value in expected)
    if operator == "Bool":
        return actual.lower() in {value.lower() for value in expected}
    return False  # an operator this evaluation does not know never matches


# ---- policy types combined -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Principal:
    """Who makes a request, as policies name it (Principal elements, aws:username, aws:PrincipalArn...)."""

    arn: str  # arn:aws:iam::ACCOUNT:user/NAME, arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION or ...:root
    account: str
    kind: str  # "user", "assumed-role" or "root"
    role_arn: str | None = None  # a session's role (a resource policy naming the role matches its sessions)
    username: str | None = None  # aws:username: users only
    userid: str | None = None  # aws:userid: AIDA... for a user, AROA...:SESSION for a role session

    def names(self, reach: str) -> frozenset[str]:
        """How a Principal element may name this caller: "self" (its own ARN or unique id), "role" (also a
        session's role) or "all" (also its account, which in an Allow only delegates to the account's policies)."""
        names = {self.arn, self.userid or self.arn}
        if reach in ("role", "all") and self.role_arn:
            names.add(self.role_arn)
        if reach == "all":
            names |= {self.account, f"arn:aws:iam::{self.account}:root"}
        return frozenset(names)


@dataclass(frozen=True)
class Decision:
    """The verdict on one check, and the kind of policy that decided a denial (AWS names it in AccessDenied)."""

    outcome: str  # "allow", "implicit" or "explicit"
    # "identity-based", "resource-based", "permissions boundary" or "session"
    policy_type: str = "identity-based"

    @property
    def allowed(self) -> bool:
        return self.outcome == "allow"


def authorize(
    check: Check,
    principal: Principal,
    identity: list[dict],
    *,
    resource: list[dict] = (),
    boundary: dict | None = None,
    session: list[dict] | None = None,
) -> Decision:
    """AWS's policy evaluation logic within one account ("Policy evaluation logic", IAM User Guide):

    an explicit Deny in any policy wins; then a resource-based policy that allows the principal's own ARN (the
    user, or the role session) allows, whatever the boundary and the session policies say; otherwise the identity
    policies, or a resource policy naming the session's role, must allow, and so must the permissions boundary and
    the session policies when there are any. `session` None means no session policy was passed (not "deny all").
    """
    kinds = [("identity-based", identity), ("resource-based", list(resource))]
    kinds += [("permissions boundary", [boundary] if boundary else []), ("session", session or [])]
    for kind, policies in kinds:
        if evaluate(policies, check, principal) == "explicit":
            return Decision("explicit", kind)
    if resource and evaluate(list(resource), check, principal, reach="self") == "allow":
        return Decision("allow", "resource-based")
    # A resource policy naming the session's role grants like an identity policy (boundary and session policies
    # still limit it); one naming the account only delegates: the identity policies must allow.
    by_role = bool(resource) and evaluate(list(resource), check, principal, reach="role") == "allow"
    if not by_role and evaluate(identity, check, principal) != "allow":
        return Decision("implicit", "identity-based")
    if boundary and evaluate([boundary], check, principal) != "allow":
        return Decision("implicit", "permissions boundary")
    if session is not None and evaluate(session, check, principal) != "allow":
        return Decision("implicit", "session")
    return Decision("allow", "identity-based")
