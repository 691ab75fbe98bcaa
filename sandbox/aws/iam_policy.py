"""A Lambda function's S3 requests checked against its role's policies, as AWS does and moto does not.

On AWS a function calls S3 with its execution role's temporary credentials, and S3 answers 403 AccessDenied
to whatever the role's identity policies do not allow. moto serves every request with full rights, so a
too-narrow role (a missing s3:GetObject, a ListBucket prefix condition that does not match) would pass here
and fail on AWS. The sandbox gives each function session credentials of its own and checks its S3 requests
with the evaluation below.

Covered: the object and bucket operations functions use (Get/Head/Put/Copy/Delete object, multipart uploads,
DeleteObjects, ListObjects(V2) with the s3:prefix / s3:delimiter / s3:max-keys condition keys, HeadBucket,
GetBucketLocation), Action/NotAction, Resource/NotResource with * and ? wildcards, explicit Deny, and the
String*/Arn*/Bool/Null condition operators (with ...IfExists), and policy variables (`${aws:username}`, any key
of the request, `${*}` `${?}` `${$}`, defaults) in policies of Version 2012-10-17 (earlier Versions read them as
text). Not covered: the ForAnyValue/ForAllValues qualifiers (such a condition never matches).
Other S3 operations are checked as `s3:<Operation>` names that only a wildcard action grants.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

# Bucket subresources (query parameters) and the IAM action of a GET/PUT/DELETE on them.
BUCKET_SUBRESOURCES = {
    "location": ("s3:GetBucketLocation", None, None),
    "versioning": ("s3:GetBucketVersioning", "s3:PutBucketVersioning", None),
    "policy": ("s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"),
    "tagging": ("s3:GetBucketTagging", "s3:PutBucketTagging", "s3:PutBucketTagging"),
    "acl": ("s3:GetBucketAcl", "s3:PutBucketAcl", None),
    "publicAccessBlock": (
        "s3:GetBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
    ),
    "versions": ("s3:ListBucketVersions", None, None),
    "uploads": ("s3:ListBucketMultipartUploads", None, None),
}
OBJECT_SUBRESOURCES = {
    "tagging": ("s3:GetObjectTagging", "s3:PutObjectTagging", "s3:DeleteObjectTagging"),
    "acl": ("s3:GetObjectAcl", "s3:PutObjectAcl", None),
}
DELETE_OBJECT = re.compile(r"<Object>(.*?)</Object>", re.DOTALL)
DELETE_KEY = re.compile(r"<Key>(.*?)</Key>", re.DOTALL)
XML_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&amp;": "&"}


@dataclass(frozen=True)
class Check:
    """One authorization S3 makes for a request: an action on a resource, with the request's context keys."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)


def s3_checks(method: str, bucket: str, key: str, query: dict[str, str], headers: dict[str, str], body=b""):
    """The checks S3 makes for one request (path-style: bucket and key already split and URL-decoded)."""
    method = method.upper()
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if not bucket:
        return [Check("s3:ListAllMyBuckets", "*")]
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
            return [Check(action or f"s3:{method.title()}Bucket{name[0].upper()}{name[1:]}", bucket_arn)]
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
    return [Check(f"s3:{method.title()}Bucket", bucket_arn)]


def _object_checks(method: str, bucket_arn: str, key: str, query: dict[str, str], headers: dict[str, str]):
    resource = f"{bucket_arn}/{key}"
    for name, actions in OBJECT_SUBRESOURCES.items():
        if name in query:
            action = dict(zip(("GET", "PUT", "DELETE"), actions, strict=True)).get(method)
            return [Check(action or f"s3:{method.title()}Object{name.title()}", resource)]
    if method in ("GET", "HEAD"):
        return [Check("s3:ListMultipartUploadParts" if "uploadId" in query else "s3:GetObject", resource)]
    if method == "DELETE":
        if "uploadId" in query:
            return [Check("s3:AbortMultipartUpload", resource)]
        return [Check("s3:DeleteObjectVersion" if "versionId" in query else "s3:DeleteObject", resource)]
    if method in ("PUT", "POST"):  # PutObject, CopyObject, UploadPart, Create/CompleteMultipartUpload
        checks = [Check("s3:PutObject", resource)]
        source = {k.lower(): v for k, v in headers.items()}.get("x-amz-copy-source")
        if source:  # CopyObject and UploadPartCopy also read the source object
            source_path = unquote(source.split("?", 1)[0]).lstrip("/")
            checks.append(Check("s3:GetObject", f"arn:aws:s3:::{source_path}"))
        return checks
    return [Check(f"s3:{method.title()}Object", resource)]


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
    keys = None
    for policy in policies:
        variables = isinstance(policy, dict) and policy.get("Version") == VARIABLES_VERSION
        if variables and keys is None:
            keys = _variable_values(check.context, principal)
        statements = policy.get("Statement", [])
        for statement in [statements] if isinstance(statements, dict) else statements:
            if not _names(statement, principal, reach):
                continue
            try:
                if not _applies(statement, check, keys if variables else None):
                    continue
            except _Unresolved:
                continue
            if statement.get("Effect") == "Deny":
                return "explicit"
            allowed = allowed or statement.get("Effect") == "Allow"
    return "allow" if allowed else "implicit"


def _applies(statement: dict, check: Check, variables: dict | None) -> bool:
    if "Action" in statement:
        action_ok = _any_match(statement["Action"], check.action, ignore_case=True)
    else:
        action_ok = not _any_match(statement.get("NotAction", []), check.action, ignore_case=True)
    if not action_ok:
        return False
    if "Resource" in statement:
        resource_ok = _any_resource(statement["Resource"], check.resource, variables)
    else:
        resource_ok = not _any_resource(statement.get("NotResource", []), check.resource, variables)
    return resource_ok and _conditions_hold(statement.get("Condition") or {}, check.context, variables)


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


def _any_resource(patterns, value: str, variables: dict | None) -> bool:
    """Resource / NotResource: variables are replaced only in the part after the fifth colon ("Variables and tags":
    "You can't use a variable to replace parts of the ARN before the fifth colon")."""
    patterns = [patterns] if isinstance(patterns, str) else patterns
    if variables is None:
        return any(wildcard_match(pattern, value) for pattern in patterns)
    return any(_regex(_resource_tokens(pattern), variables, False).fullmatch(value) for pattern in patterns)


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
SPECIAL_VARIABLES = frozenset("*?$")  # ${*} ${?} ${$}: the character itself, never a wildcard


class _Unresolved(Exception):
    """A variable whose key the request lacks (nor a default): "any attempt to match it fails and causes the
    statement to be invalid" (Variables and tags, principal key values)."""


def _variable_values(context: dict, principal: Principal | None) -> dict:
    """The request's keys by lower-case name ("Key names are case-insensitive"). aws:username exists only for an
    IAM user; aws:userid and aws:PrincipalArn for every principal: taken from the principal when the request's
    context lacks them."""
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
    return [(c, c, None) if c in "*?" else ("text", c, None) for c in text]


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


def _conditions_hold(conditions: dict, context: dict[str, str], variables: dict | None = None) -> bool:
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
            if not _operator_holds(base, actual, expected, variables):
                return False
    return True


def _operator_holds(operator: str, actual: str, expected: list[str], variables: dict | None = None) -> bool:
    if operator.startswith(("String", "Arn")) or operator == "Bool":
        if operator.endswith("Like"):
            like = [_like_regex(value, variables) for value in expected]
            matched = any(regex.fullmatch(actual) for regex in like)
            return not matched if "Not" in operator else matched
        expected = [_substituted(value, variables) for value in expected]
    if operator == "StringEquals" or operator == "ArnEquals":
        return actual in expected
    if operator == "StringNotEquals" or operator == "ArnNotEquals":
        return actual not in expected
    if operator == "StringEqualsIgnoreCase":
        return actual.lower() in {value.lower() for value in expected}
    if operator == "StringNotEqualsIgnoreCase":
        return actual.lower() not in {value.lower() for value in expected}
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
