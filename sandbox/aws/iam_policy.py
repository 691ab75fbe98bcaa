"""A Lambda function's S3 requests checked against its role's policies, as AWS does and moto does not.

On AWS a function calls S3 with its execution role's temporary credentials, and S3 answers 403 AccessDenied
to whatever the role's identity policies do not allow. moto serves every request with full rights, so a
too-narrow role (a missing s3:GetObject, a ListBucket prefix condition that does not match) would pass here
and fail on AWS. The sandbox gives each function session credentials of its own and checks its S3 requests
with the evaluation below.

Covered: the object and bucket operations functions use (Get/Head/Put/Copy/Delete object, multipart uploads,
DeleteObjects, ListObjects(V2) with the s3:prefix / s3:delimiter / s3:max-keys condition keys, HeadBucket,
GetBucketLocation, the bucket and object subresources of BUCKET_SUBRESOURCES / OBJECT_SUBRESOURCES, a version's
s3:GetObjectVersion, PutObject's tagging and ACL permissions). A request it cannot map raises UnmappedRequest: the
sandbox refuses it rather than guess.

The evaluation (`evaluate`, `authorize`) follows the IAM User Guide; tests/sandbox/test_iam_evaluation.py probes
it page by page (202 probes, each with its page). Covered:
- Action/NotAction, Resource/NotResource with * and ? wildcards; explicit Deny over any Allow.
- Every condition operator: String*, Numeric*, Date* (W3C ISO 8601 or epoch seconds), Bool, BinaryEquals,
  IpAddress/NotIpAddress (IPv4 and IPv6), Arn* per ARN component, Null; ...IfExists; several values OR, several
  keys and operators AND; a negated operator on an absent key is true; the ForAnyValue:/ForAllValues: qualifiers
  over multivalued keys (a list in `Check.context`).
- Policy variables in Version 2012-10-17 policies: `${aws:username}`, `${aws:userid}`, `${aws:PrincipalArn}`, any
  key of the request, `${*}` `${?}` `${$}`, defaults; only after a Resource's fifth colon; a variable without a
  value makes its statement invalid. Earlier Versions (2008-10-17, none) read them as text.
- Principal/NotPrincipal in resource-based policies, and `authorize`: the same-account logic of "Policy evaluation
  logic" across identity, resource-based, permissions boundary and session policies, the root user, and service
  principals.
Not covered: cross-account access, SCPs and RCPs, federated-user sessions (the sandbox has none of them).

Where the documentation leaves the outcome open, the sandbox takes the stricter side (it may deny what AWS
allows, never allow what AWS denies): an unknown operator (IAM refuses to store one) or a plain operator on a key
with several request values never grants and never spares from a Deny; Principal "*" grants as a role's ARN does
(boundaries and session policies still limit it); a NotPrincipal Deny spares the caller only when its own ARN, its
role's and its account's are all listed.

Why hand-written: the libraries that evaluate IAM policies were judged by the same probes, the 142 on conditions,
variables and Versions. principalmapper 1.1.5 (local_policy_simulation; last release 2022-01; does not import on
Python 3.10+ without a shim for `collections.Mapping`) matches 111: it misses default values, `${*}`, the Version
rule, negated operators on absent keys, BinaryEquals, date-only values, ARN components, NullIfExists. moto's own
evaluator (moto/iam/access_control.py) matches 65: StringEquals is its only condition operator, and an Allow whose
condition fails denies explicitly. policyuniverse, parliament, iam-ape and iamspy (0.0.1, 2022) analyse or lint
policies; none evaluates a request.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import ipaddress
import operator
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, unquote

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


# Request headers S3 exposes as condition keys of the same name, prefixed "s3:" (Service Authorization Reference
# for Amazon S3, "Condition keys"; S3 User Guide, "Amazon S3 condition key examples").
S3_HEADER_KEYS = (
    "x-amz-acl",
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-storage-class",
    "x-amz-metadata-directive",
    "x-amz-copy-source",
    "x-amz-website-redirect-location",
    "x-amz-content-sha256",
    "x-amz-object-ownership",
)


def s3_checks(method: str, bucket: str, key: str, query: dict[str, str], headers: dict[str, str], body=b""):
    """The checks S3 makes for one request (path-style: bucket and key already split and URL-decoded), each with
    S3's condition keys of the request.

    Raises UnmappedRequest for a request whose permissions the sandbox does not know."""
    checks = _s3_checks(method, bucket, key, query, headers, body)
    context = _s3_context(query, {name.lower(): value for name, value in headers.items()})
    return [Check(check.action, check.resource, {**context, **check.context}) for check in checks]


def _s3_context(query: dict[str, str], headers: dict[str, str]) -> dict:
    # Signed in the Authorization header or in a presigned URL's query, with SigV4 or SigV2 ("AWS").
    sigv2 = headers.get("authorization", "").startswith("AWS ") or "AWSAccessKeyId" in query
    context = {
        "s3:authType": "REST-HEADER" if "authorization" in headers else "REST-QUERY-STRING",
        "s3:signatureversion": "AWS" if sigv2 else "AWS4-HMAC-SHA256",
    }
    context.update({f"s3:{name}": headers[name] for name in S3_HEADER_KEYS if name in headers})
    if "versionId" in query:
        context["s3:VersionId"] = query["versionId"]
    if (
        "x-amz-tagging" in headers
    ):  # the tags a PutObject sets: s3:RequestObjectTagKeys, s3:RequestObjectTag/KEY
        tags = dict(parse_qsl(headers["x-amz-tagging"], keep_blank_values=True))
        context["s3:RequestObjectTagKeys"] = list(tags)
        context.update({f"s3:RequestObjectTag/{name}": value for name, value in tags.items()})
    return context


def _s3_checks(method: str, bucket: str, key: str, query: dict[str, str], headers: dict[str, str], body=b""):
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
    names `principal` (`Principal.names(reach)`: the principal itself, its role too, or its account as well).
    A statement whose policy variable has no value in the request does not apply ("Variables and tags")."""
    allowed = False
    keys = _request_keys(check.context, principal)
    for policy in policies:
        variables = keys if policy.get("Version") == VARIABLES_VERSION else None
        statements = policy.get("Statement", [])
        for statement in [statements] if isinstance(statements, dict) else statements:
            if not _names(statement, principal, reach):
                continue
            effect = _effect(statement)
            try:
                if not _applies(statement, check, keys, variables, effect):
                    continue
            except _Unresolved:
                continue
            if effect == "Deny":
                return "explicit"
            allowed = allowed or effect == "Allow"
    return "allow" if allowed else "implicit"


def _effect(statement: dict) -> str:
    """ "Allow", "Deny" or "" (grants nothing). moto stores an Effect in any case (its validator compares them
    lower-cased); AWS documents only "Allow" and "Deny": a "deny" still denies, an "allow" grants nothing."""
    effect = statement.get("Effect")
    if effect == "Allow":
        return "Allow"
    return "Deny" if isinstance(effect, str) and effect.lower() == "deny" else ""


def _applies(statement: dict, check: Check, keys: dict, variables: dict | None, effect: str) -> bool:
    """Whether the statement's Action, Resource and Condition cover the check. `keys`: the request's condition keys;
    `variables`: the same when the policy's Version replaces variables, else None."""
    if "Action" in statement:
        action_ok = _any_match(statement["Action"], check.action, ignore_case=True)
    elif "NotAction" in statement:
        action_ok = not _any_match(statement["NotAction"], check.action, ignore_case=True)
    else:  # IAM refuses to store such a statement ("Policy statement must contain actions."): never lenient
        action_ok = effect == "Deny"
    if not action_ok:
        return False
    if "Resource" in statement:
        resource_ok = _any_resource(statement["Resource"], check.resource, variables)
    else:
        resource_ok = not _any_resource(statement.get("NotResource", []), check.resource, variables)
    conditions = statement.get("Condition") or {}
    return resource_ok and _conditions_hold(conditions, keys, variables, effect)


def _names(statement: dict, principal: Principal | None, reach: str) -> bool:
    """Whether a statement's Principal / NotPrincipal covers the caller (identity policies have neither)."""
    if "Principal" not in statement and "NotPrincipal" not in statement:
        return True
    if principal is None:
        return False
    service = principal.kind == "service"
    if "Principal" in statement:
        return _principal_listed(
            statement["Principal"], principal.names(reach), service, everyone=reach != "self"
        )
    element = statement["NotPrincipal"]
    listed = [_principal_listed(element, names, service, everyone=True) for names in principal.identities()]
    if statement.get("Effect") == "Deny":
        # "AWS might validate the account first, then the role, and then the assumed-role user" (NotPrincipal):
        # the caller escapes the Deny only when its own ARN, its role's and its account's are all listed.
        return not all(listed)
    # NotPrincipal with Allow "allows all principals except the one named": as Principal "*" grants
    return reach != "self" and not any(listed)


def _principal_listed(element, names: frozenset[str], service: bool, everyone: bool) -> bool:
    """Principal element forms ("AWS JSON policy elements: Principal"): "*", {"AWS": "*" | ARN | account id |
    [...]}, {"Service": name | [...]}; other kinds (Federated, CanonicalUser) never name an IAM caller.

    `everyone`: whether "*" counts. It never names the caller by its own ARN: it grants as naming a role does (no
    identity policy needed; boundaries and session policies still limit it), the stricter reading of a case the
    evaluation-logic page does not list."""
    if element == "*":
        return everyone
    if not isinstance(element, dict):
        return False
    for kind, values in element.items():
        values = [values] if isinstance(values, str) else values if isinstance(values, list) else []
        if (
            kind == "AWS"
            and not service
            and any((value == "*" and everyone) or value in names for value in values)
        ):
            return True
        if kind == "Service" and service and any(value in names for value in values):
            return True
    return False


def _any_match(patterns, value: str, ignore_case: bool = False) -> bool:
    patterns = [patterns] if isinstance(patterns, str) else patterns
    return any(wildcard_match(pattern, value, ignore_case) for pattern in patterns)


def _any_resource(patterns, value: str, variables: dict | None) -> bool:
    """Resource / NotResource: variables are replaced only in the part after the fifth colon ("Variables and tags":
    "You can't use a variable to replace parts of the ARN before the fifth colon")."""
    patterns = [patterns] if isinstance(patterns, str) else patterns
    return any(
        wildcard_match(pattern, value)
        if variables is None or "${" not in pattern
        else _regex(_resource_tokens(pattern), variables, False).fullmatch(value)
        for pattern in patterns
    )


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's matching: * is any run of characters (also /), ? is one character."""
    return _wildcard_regex(pattern, ignore_case).fullmatch(value) is not None


@functools.lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str, ignore_case: bool) -> re.Pattern:
    # Every request is checked against the same few policies: each pattern is translated once.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


# ---- policy variables ("IAM policy elements: Variables and tags", reference_policies_variables.html) ----------
VARIABLES_VERSION = "2012-10-17"  # earlier Versions (2008-10-17, or none) read ${...} as literal text
VARIABLE = re.compile(r"\$\{([^}]*)\}")
# ${aws:username, 'default'}: the default in single quotes, after a comma (and a space, in the doc's examples)
VARIABLE_DEFAULT = re.compile(r"^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$")
SPECIAL_VARIABLES = frozenset("*?$")
WILDCARD = re.compile(r"([*?])")  # ${*} ${?} ${$}: the character itself, never a wildcard


class _Unresolved(Exception):
    """A variable whose key the request lacks (nor a default): "any attempt to match it fails and causes the
    statement to be invalid" (Variables and tags, principal key values)."""


def _request_keys(context: dict, principal: Principal | None) -> dict:
    """The request's condition keys by lower-case name ("Key names are case-insensitive"). aws:username exists
    only for an IAM user; aws:userid and aws:PrincipalArn for every principal: taken from the principal when the
    request's context lacks them."""
    keys = {name.lower(): value for name, value in context.items()}
    if principal is not None:
        if principal.kind == "user" and principal.username:
            keys.setdefault("aws:username", principal.username)
        if principal.userid:
            keys.setdefault("aws:userid", principal.userid)
        keys.setdefault("aws:principalarn", principal.arn)
    return keys


@functools.lru_cache(maxsize=4096)
def _tokens(text: str, wildcards: bool, variables: bool = True) -> tuple[tuple[str, str, str | None], ...]:
    """`text` as ("text", chars), ("*"|"?" wildcard) and ("var", key, default) pieces, parsed once per text."""
    pieces: list[tuple[str, str, str | None]] = []
    plain = functools.partial(_plain_pieces, wildcards=wildcards)
    position = 0
    for found in VARIABLE.finditer(text) if variables else ():
        pieces += plain(text[position : found.start()])
        inner = found[1].strip()
        if inner in SPECIAL_VARIABLES:
            pieces.append(("text", inner, None))
        else:
            with_default = VARIABLE_DEFAULT.match(found[1])
            name, default = (with_default[1], with_default[2]) if with_default else (inner, None)
            pieces.append(("var", name.lower(), default))
        position = found.end()
    pieces += plain(text[position:])
    return tuple(pieces)


def _plain_pieces(text: str, wildcards: bool) -> list[tuple[str, str, str | None]]:
    if not wildcards:
        return [("text", text, None)] if text else []
    return [
        (part, part, None) if part in "*?" else ("text", part, None) for part in WILDCARD.split(text) if part
    ]


@functools.lru_cache(maxsize=4096)
def _resource_tokens(pattern: str) -> tuple[tuple[str, str, str | None], ...]:
    parts = pattern.split(":", 5)
    if len(parts) < 6:  # not an ARN (e.g. "*"): nothing after a fifth colon to replace
        return _tokens(pattern, True, False)
    head = ":".join(parts[:5]) + ":"
    return _tokens(head, True, False) + _tokens(parts[5], True, True)


def _resolved(pieces, variables: dict) -> list[tuple[str, str]]:
    """Each variable replaced by its value, as literal text (a value's * or ? is no wildcard)."""
    out = []
    for kind, text, default in pieces:
        if kind != "var":
            out.append((kind, text))
            continue
        value = variables.get(text, default)
        if value is None or not isinstance(value, str):
            # absent, or a multivalued key: "you can't use multivalued context keys as policy variables"
            if default is None:
                raise _Unresolved(text)
            value = default
        out.append(("text", value))
    return out


def _regex(pieces, variables: dict, ignore_case: bool) -> re.Pattern:
    regex = "".join(
        ".*" if kind == "*" else "." if kind == "?" else re.escape(text)
        for kind, text in _resolved(pieces, variables)
    )
    return _compiled(regex, ignore_case)


@functools.lru_cache(maxsize=4096)
def _compiled(regex: str, ignore_case: bool) -> re.Pattern:
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _substituted(value: str, variables: dict | None) -> str:
    """A condition value with its variables replaced (String and ARN operators, and Bool)."""
    if variables is None or "${" not in value:
        return value
    return "".join(text for _kind, text in _resolved(_tokens(value, False), variables))


def _like_regex(value: str, variables: dict | None, ignore_case: bool = False) -> re.Pattern:
    if variables is None or "${" not in value:
        return _wildcard_regex(value, ignore_case)
    return _regex(_tokens(value, True), variables, ignore_case)


# ---- conditions ("IAM JSON policy elements: Condition operators", reference_policies_elements_condition_operators) --
STRING_OPERATORS = frozenset(
    ("StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
     "StringNotLike")
)  # fmt: skip
NUMERIC_OPERATORS = {
    "Equals": operator.eq, "NotEquals": operator.eq, "LessThan": operator.lt, "LessThanEquals": operator.le,
    "GreaterThan": operator.gt, "GreaterThanEquals": operator.ge,
}  # fmt: skip
ARN_OPERATORS = frozenset(("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"))
OPERATORS = (
    STRING_OPERATORS
    | ARN_OPERATORS
    | {f"Numeric{name}" for name in NUMERIC_OPERATORS}
    | {f"Date{name}" for name in NUMERIC_OPERATORS}
    | {"Bool", "BinaryEquals", "IpAddress", "NotIpAddress"}
)
# "A policy variable ... in any condition that involves the string operators or the ARN operators"; the Condition
# operators page adds Boolean ("You can use a policy variable with the Boolean condition operator").
VARIABLE_OPERATORS = STRING_OPERATORS | ARN_OPERATORS | {"Bool"}
SET_QUALIFIERS = ("ForAnyValue:", "ForAllValues:")
# W3C's profiles of ISO 8601 (YYYY, YYYY-MM, YYYY-MM-DD, then hh:mm, :ss and fractions with a zone designator)
W3C_DATE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?"
)


@dataclass(frozen=True)
class _Operator:
    qualifier: str  # "", "ForAnyValue:" or "ForAllValues:"
    base: str  # e.g. "StringLike"
    if_exists: bool
    negated: bool  # true when an absent key satisfies it (StringNotEquals, NotIpAddress, ...)


@functools.lru_cache(maxsize=512)
def _operator(name: str) -> _Operator | None:
    """The parsed operator, or None for one IAM does not know (IAM refuses such a policy when it is stored)."""
    qualifier = next((prefix for prefix in SET_QUALIFIERS if name.startswith(prefix)), "")
    base = name[len(qualifier) :]
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base == "Null":
        return None if if_exists or qualifier else _Operator("", "Null", False, False)
    if base not in OPERATORS:
        return None
    negated = (
        "Not" in base
    )  # StringNotEquals, StringNotLike, NumericNotEquals, DateNotEquals, NotIpAddress, Arn...
    return _Operator(qualifier, base, if_exists, negated)


class _Undecided(Exception):
    """A condition this evaluation cannot decide as AWS does: it never grants, and it never spares from a Deny."""


def _conditions_hold(conditions: dict, keys: dict, variables: dict | None, effect: str) -> bool:
    """Every operator and every key must hold (AND); a key's values are alternatives (OR).

    A condition that cannot be decided as AWS documents it (an operator IAM does not know, a plain operator on a
    key with several values in the request) makes an Allow not apply and a Deny apply: the sandbox may be stricter
    than AWS, never more lenient."""
    if not isinstance(conditions, dict):
        return effect == "Deny"
    try:
        for name, entries in conditions.items():
            parsed = _operator(name)
            if parsed is None or not isinstance(entries, dict):
                raise _Undecided(name)
            for key, expected in entries.items():
                expected = [expected] if not isinstance(expected, list) else expected
                if not _condition_holds(
                    parsed, keys.get(key.lower()), [_text(value) for value in expected], variables
                ):
                    return False
    except _Undecided:
        return effect == "Deny"
    return True


def _text(value) -> str:
    if isinstance(value, bool):  # JSON true/false
        return "true" if value else "false"
    if isinstance(value, dict | list):
        raise _Undecided(value)
    return str(value)


def _condition_holds(op: _Operator, actual, expected: list[str], variables: dict | None) -> bool:
    if op.base == "Null":
        # "true (the key doesn't exist — it is null) or false (the key exists and its value is not null)"
        absent = actual is None or actual == []
        return any(absent == (value.lower() == "true") for value in expected)
    if variables is not None and op.base in VARIABLE_OPERATORS:
        expected_values = [_Value(value, variables) for value in expected]
    else:
        expected_values = [_Value(value, None) for value in expected]
    if op.qualifier:
        values = [] if actual in (None, "") else [actual] if isinstance(actual, str) else list(actual)
        if not values:
            # "If the key values in the request resolve to an empty data set (for example, an empty string), a
            # condition operator modified by ForAllValues returns true, and ... ForAnyValue returns false."
            return op.if_exists or op.qualifier == "ForAllValues:"
        results = (_single_holds(op, value, expected_values) for value in values)
        return all(results) if op.qualifier == "ForAllValues:" else any(results)
    if isinstance(actual, list):
        if len(actual) > 1:  # a multivalued key needs a set operator; AWS does not document the plain case
            raise _Undecided(actual)
        actual = actual[0] if actual else None
    if actual is None:
        # "If the key ... is not present in the request context, the values do not match and the condition is
        # false ... If the policy condition requires that the key is not matched ... the condition is true."
        return op.if_exists or op.negated
    return _single_holds(op, actual, expected_values)


@dataclass(frozen=True)
class _Value:
    """A condition value of the policy, and the request's keys its variables are replaced from (None: no Version
    2012-10-17, or an operator that takes no variables)."""

    text: str
    variables: dict | None

    def literal(self) -> str:
        return _substituted(self.text, self.variables)


def _single_holds(op: _Operator, actual, expected: list[_Value]) -> bool:
    """One request value against the policy's values (any of them); a negated operator: against none of them."""
    matched = any(_matches(op.base, actual, value) for value in expected)
    return not matched if op.negated else matched


def _matches(base: str, actual, value: _Value) -> bool:
    try:
        if base.startswith("String"):
            if base.endswith("Like"):
                return _like_regex(value.text, value.variables).fullmatch(str(actual)) is not None
            if base.endswith("IgnoreCase"):
                return str(actual).lower() == value.literal().lower()
            return str(actual) == value.literal()
        if base.startswith("Arn"):
            return _arn_matches(value, str(actual))
        if base.startswith("Numeric"):
            comparison = NUMERIC_OPERATORS[base.removeprefix("Numeric").replace("Not", "")]
            return comparison(Decimal(str(actual).strip()), Decimal(value.literal().strip()))
        if base.startswith("Date"):
            comparison = NUMERIC_OPERATORS[base.removeprefix("Date").replace("Not", "")]
            return comparison(_timestamp(str(actual)), _timestamp(value.literal()))
        if base == "Bool":
            return str(actual).lower() == value.literal().lower()
        if base == "BinaryEquals":
            raw = actual if isinstance(actual, bytes) else str(actual).encode()
            return raw == base64.b64decode(value.literal(), validate=True)
        if base.endswith("IpAddress"):
            return ipaddress.ip_address(str(actual).strip()) in _network(value.literal().strip())
    except (InvalidOperation, ValueError, TypeError, binascii.Error):
        return False  # a value that is no number, date, address, base64...: no match
    raise _Undecided(base)  # pragma: no cover - every base of OPERATORS is handled above


def _arn_matches(value: _Value, actual: str) -> bool:
    """ "Each of the six colon-delimited components of the ARN is checked separately and each can include ...
    wildcards" (ArnEquals and ArnLike behave identically)."""
    pattern = value.literal() if value.variables is None or "${" not in value.text else None
    expected_parts = (pattern or value.text).split(":", 5)
    actual_parts = actual.split(":", 5)
    if len(expected_parts) != 6 or len(actual_parts) != 6:
        return False
    if pattern is not None:
        return all(wildcard_match(p, a) for p, a in zip(expected_parts, actual_parts, strict=True))
    return all(
        _like_regex(p, value.variables).fullmatch(a) is not None
        for p, a in zip(expected_parts, actual_parts, strict=True)
    )


@functools.lru_cache(maxsize=1024)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    # "If you specify an IP address without the associated routing prefix, IAM uses the default prefix value of /32"
    return ipaddress.ip_network(text, strict=False)


@functools.lru_cache(maxsize=1024)
def _timestamp(text: str) -> float:
    """Seconds since the epoch of a date in epoch (UNIX) time or in a W3C profile of ISO 8601 (UTC if no zone)."""
    text = text.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text) and not W3C_DATE.fullmatch(text):
        return float(text)
    found = W3C_DATE.fullmatch(text)
    if not found:
        raise ValueError(text)
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    moment = datetime.datetime(
        int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0),
        tzinfo=datetime.UTC,
    )  # fmt: skip
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        moment -= sign * datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)


# ---- policy types combined -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Principal:
    """Who makes a request, as policies name it (Principal elements, aws:username, aws:PrincipalArn...)."""

    # arn:aws:iam::ACCOUNT:user/NAME, arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION, ...:root, or for a service
    # acting on a resource policy's grant its service principal (lambda.amazonaws.com, apigateway.amazonaws.com)
    arn: str
    account: str
    kind: str  # "user", "assumed-role", "root" or "service"
    role_arn: str | None = None  # a session's role (a resource policy naming the role matches its sessions)
    username: str | None = None  # aws:username: users only
    userid: str | None = None  # aws:userid: AIDA... for a user, AROA...:SESSION for a role session

    def names(self, reach: str) -> frozenset[str]:
        """How a Principal element may name this caller: "self" (its own ARN or unique id), "role" (also a
        session's role) or "all" (also its account, which in an Allow only delegates to the account's policies)."""
        names = {self.arn, self.userid or self.arn}
        if self.kind == "service":
            return frozenset(names)
        if self.kind == "root":
            names.add(self.account)
        if reach in ("role", "all") and self.role_arn:
            names.add(self.role_arn)
        if reach == "all":
            names |= {self.account, f"arn:aws:iam::{self.account}:root"}
        return frozenset(names)

    def identities(self) -> list[frozenset[str]]:
        """The identities AWS may check against a NotPrincipal, each with its aliases: the caller itself, a
        session's role, the account."""
        if self.kind in ("service", "root"):
            return [self.names("self")]
        account = frozenset((self.account, f"arn:aws:iam::{self.account}:root"))
        role = [frozenset((self.role_arn,))] if self.role_arn else []
        return [self.names("self"), *role, account]


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

    an explicit Deny in any policy wins; the account's root user is then allowed ("which has full access"); a
    resource-based policy that allows the principal's own ARN (the user, the role session, or a service principal)
    allows, whatever the boundary and the session policies say; otherwise the identity policies, or a resource
    policy naming the session's role (or everyone, "*"), must allow, and so must the permissions boundary and the
    session policies when there are any. A resource policy naming the account only delegates to the identity
    policies. `session` None means no session policy was passed (not "deny all").
    """
    kinds = [("identity-based", identity), ("resource-based", list(resource))]
    kinds += [("permissions boundary", [boundary] if boundary else []), ("session", session or [])]
    for kind, policies in kinds:
        if evaluate(policies, check, principal) == "explicit":
            return Decision("explicit", kind)
    if principal.kind == "root":
        return Decision("allow", "identity-based")
    if resource and evaluate(list(resource), check, principal, reach="self") == "allow":
        return Decision("allow", "resource-based")
    by_role = bool(resource) and evaluate(list(resource), check, principal, reach="role") == "allow"
    if not by_role and (principal.kind == "service" or evaluate(identity, check, principal) != "allow"):
        # a service has no identity policies: only a resource policy grants it anything
        return Decision("implicit", "resource-based" if principal.kind == "service" else "identity-based")
    if boundary and evaluate([boundary], check, principal) != "allow":
        return Decision("implicit", "permissions boundary")
    if session is not None and evaluate(session, check, principal) != "allow":
        return Decision("implicit", "session")
    return Decision("allow", "identity-based")
