"""The sandbox's IAM policy evaluator against AWS's documentation, one group of probes per page.

Each probe is a policy, a request (action, resource, context keys) and the outcome the cited page gives. The
evaluator is pure (sandbox.aws.iam_policy); the end-to-end requests live in test_aws_caller_policy.py and
test_iam_requests.py.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from sandbox.aws.iam_policy import Check, Principal, evaluate
from tests.sandbox.aws_fixtures import start_sandbox, stop_sandbox

ACCOUNT = "123456789012"
V2012 = "2012-10-17"
DAVID = Principal(
    f"arn:aws:iam::{ACCOUNT}:user/David", ACCOUNT, "user", username="David", userid="AIDAEXAMPLEDAVID00001"
)
SESSION = Principal(
    f"arn:aws:sts::{ACCOUNT}:assumed-role/telegram-etl-role/etl",
    ACCOUNT,
    "assumed-role",
    role_arn=f"arn:aws:iam::{ACCOUNT}:role/telegram-etl-role",
    userid="AROAEXAMPLEROLE000001:etl",
)


def policy(*statements: dict, version: str | None = V2012) -> dict:
    document: dict = {"Statement": list(statements)}
    if version is not None:
        document["Version"] = version
    return document


def allow(action: str = "s3:*", resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str = "s3:*", resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def outcome(document: dict, action: str, resource: str, context=None, principal=DAVID) -> str:
    return evaluate([document], Check(action, resource, context or {}), principal)


# ---- policy variables: "IAM policy elements: Variables and tags" ----------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
HOME = policy(  # the page's "home directory" example
    allow(
        "s3:ListBucket",
        "arn:aws:s3:::mybucket",
        Condition={"StringLike": {"s3:prefix": ["${aws:username}/*"]}},
    ),
    allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::mybucket/${aws:username}/*"),
)


@pytest.mark.parametrize(
    ("action", "resource", "context", "principal", "expected"),
    [
        ("s3:GetObject", "arn:aws:s3:::mybucket/David/notes.txt", {}, DAVID, "allow"),
        ("s3:GetObject", "arn:aws:s3:::mybucket/Adele/notes.txt", {}, DAVID, "implicit"),
        ("s3:ListBucket", "arn:aws:s3:::mybucket", {"s3:prefix": "David/2024/"}, DAVID, "allow"),
        ("s3:ListBucket", "arn:aws:s3:::mybucket", {"s3:prefix": "Adele/"}, DAVID, "implicit"),
        # the request context's aws:username wins over the principal's (the plumbing puts it there)
        ("s3:GetObject", "arn:aws:s3:::mybucket/Adele/x", {"aws:username": "Adele"}, DAVID, "allow"),
        # a role session has no aws:username ("not present"): the statement does not apply
        ("s3:GetObject", "arn:aws:s3:::mybucket/${aws:username}/x", {}, SESSION, "implicit"),
        ("s3:GetObject", "arn:aws:s3:::mybucket//x", {}, SESSION, "implicit"),
    ],
)
def test_username_variable_in_resource_and_condition(action, resource, context, principal, expected):
    assert outcome(HOME, action, resource, context, principal) == expected


def test_a_variable_is_replaced_only_after_the_fifth_colon():
    # "You can't use a variable to replace parts of the ARN before the fifth colon, such as the service or account."
    document = policy(allow("sqs:*", "arn:aws:sqs:us-east-2:${aws:username}:${aws:username}-queue"))
    assert outcome(document, "sqs:SendMessage", "arn:aws:sqs:us-east-2:David:David-queue") == "implicit"
    document = policy(allow("sqs:*", "arn:aws:sqs:us-east-2:*:${aws:username}-queue"))  # the page's example
    assert outcome(document, "sqs:SendMessage", f"arn:aws:sqs:us-east-2:{ACCOUNT}:David-queue") == "allow"
    assert outcome(document, "sqs:SendMessage", f"arn:aws:sqs:us-east-2:{ACCOUNT}:Adele-queue") == "implicit"


@pytest.mark.parametrize(
    ("variable", "context", "principal", "value"),
    [
        ("${aws:userid}", {}, DAVID, "AIDAEXAMPLEDAVID00001"),
        ("${aws:userid}", {}, SESSION, "AROAEXAMPLEROLE000001:etl"),
        ("${aws:PrincipalArn}", {}, DAVID, f"arn:aws:iam::{ACCOUNT}:user/David"),
        ("${aws:SourceIp}", {"aws:SourceIp": "203.0.113.7"}, DAVID, "203.0.113.7"),
        ("${s3:prefix}", {"s3:prefix": "home/"}, DAVID, "home/"),
        ("${aws:PrincipalTag/department}", {"aws:PrincipalTag/department": "finance"}, DAVID, "finance"),
        ("${AWS:USERNAME}", {}, DAVID, "David"),  # "Key names are case-insensitive"
        ("${aws:username, 'anonymous'}", {}, DAVID, "David"),
        ("${aws:username, 'anonymous'}", {}, SESSION, "anonymous"),  # "Specifying default values"
        ("${aws:PrincipalTag/team, 'company-wide'}", {}, DAVID, "company-wide"),
    ],
)
def test_request_values_replace_variables(variable, context, principal, value):
    document = policy(allow("s3:GetObject", f"arn:aws:s3:::bucket/{variable}/*"))
    assert outcome(document, "s3:GetObject", f"arn:aws:s3:::bucket/{value}/x", context, principal) == "allow"
    assert outcome(document, "s3:GetObject", "arn:aws:s3:::bucket/other/x", context, principal) == "implicit"


def test_special_variables_are_the_characters_themselves():
    # ${*} ${?} ${$}: "use where you need an * (asterisk) character", not a wildcard
    document = policy(allow("s3:GetObject", "arn:aws:s3:::bucket/star${*}-q${?}-${$}HOME"))
    assert outcome(document, "s3:GetObject", "arn:aws:s3:::bucket/star*-q?-$HOME") == "allow"
    assert outcome(document, "s3:GetObject", "arn:aws:s3:::bucket/starX-qY-$HOME") == "implicit"
    condition = policy(allow(Condition={"StringEquals": {"s3:prefix": "${*}"}}))
    assert outcome(condition, "s3:ListBucket", "arn:aws:s3:::bucket", {"s3:prefix": "*"}) == "allow"
    assert outcome(condition, "s3:ListBucket", "arn:aws:s3:::bucket", {"s3:prefix": "anything"}) == "implicit"


def test_a_replaced_value_is_literal_text_not_a_wildcard():
    document = policy(allow(Condition={"StringLike": {"s3:prefix": "${aws:PrincipalTag/home}/*"}}))
    context = {"aws:PrincipalTag/home": "a*", "s3:prefix": "a*/x"}
    assert outcome(document, "s3:ListBucket", "arn:aws:s3:::bucket", context) == "allow"
    context = {"aws:PrincipalTag/home": "a*", "s3:prefix": "abc/x"}
    assert outcome(document, "s3:ListBucket", "arn:aws:s3:::bucket", context) == "implicit"


@pytest.mark.parametrize("effect", ["Allow", "Deny"])
def test_a_variable_without_value_makes_the_statement_invalid(effect):
    # "not present means ... any attempt to match it fails and causes the statement to be invalid"
    statement = {"Effect": effect, "Action": "s3:*", "NotResource": "arn:aws:s3:::bucket/${aws:username}/*"}
    document = policy(allow(), statement)
    assert outcome(document, "s3:GetObject", "arn:aws:s3:::other/x", principal=SESSION) == "allow"
    condition = {"Effect": effect, "Action": "s3:*", "Resource": "*"}
    condition["Condition"] = {"StringNotEquals": {"s3:prefix": "${aws:username}"}}
    document = policy(allow(), condition)
    assert outcome(document, "s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "x"}, SESSION) == "allow"
    # a multivalued key cannot be a variable (Single-valued vs. multivalued context keys, key points)
    tags = policy(allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:TagKeys}/*"))
    assert outcome(tags, "s3:GetObject", "arn:aws:s3:::bucket/a/x", {"aws:TagKeys": ["a"]}) == "implicit"


@pytest.mark.parametrize("version", ["2008-10-17", None])
def test_before_2012_10_17_variables_are_literal_text(version):
    # "If you don't include the Version element ... variables like ${aws:username} are treated as literal strings"
    document = policy(allow("s3:GetObject", "arn:aws:s3:::mybucket/${aws:username}/*"), version=version)
    assert outcome(document, "s3:GetObject", "arn:aws:s3:::mybucket/David/x") == "implicit"
    assert outcome(document, "s3:GetObject", "arn:aws:s3:::mybucket/${aws:username}/x") == "allow"
    condition = policy(allow(Condition={"StringEquals": {"s3:prefix": "${aws:username}"}}), version=version)
    assert outcome(condition, "s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "David"}) == "implicit"
    assert outcome(condition, "s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "${aws:username}"}) == "allow"
    # and the policy otherwise works as any other
    assert outcome(policy(allow(), version=version), "s3:GetObject", "arn:aws:s3:::b/k") == "allow"


# ---- Version 2008-10-17 and no Version: which policies IAM stores -----------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    running = start_sandbox(tmp_path_factory.mktemp("iam-evaluation"))
    yield running
    stop_sandbox(running)


LEGACY = {"Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"}]}
TRUST = {
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
}


@pytest.mark.parametrize("version", ["2008-10-17", None])
def test_inline_and_trust_policies_of_older_versions_are_stored(sandbox, version):
    iam = sandbox.client("iam")
    legacy = LEGACY | ({"Version": version} if version else {})
    trust = TRUST | ({"Version": version} if version else {})
    suffix = version.replace("-", "") if version else "none"
    iam.create_user(UserName=f"legacy-{suffix}")
    iam.put_user_policy(UserName=f"legacy-{suffix}", PolicyName="p", PolicyDocument=json.dumps(legacy))
    stored = iam.get_user_policy(UserName=f"legacy-{suffix}", PolicyName="p")["PolicyDocument"]
    assert stored.get("Version") == version
    role = f"legacy-role-{suffix}"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps(legacy))
    iam.create_group(GroupName=f"legacy-group-{suffix}")
    iam.put_group_policy(
        GroupName=f"legacy-group-{suffix}", PolicyName="p", PolicyDocument=json.dumps(legacy)
    )


@pytest.mark.parametrize("version", ["2008-10-17", None])
def test_a_managed_policy_still_needs_2012_10_17(sandbox, version):
    iam = sandbox.client("iam")
    legacy = LEGACY | ({"Version": version} if version else {})
    with pytest.raises(ClientError) as raised:
        iam.create_policy(PolicyName=f"legacy-{version}", PolicyDocument=json.dumps(legacy))
    assert raised.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    assert (
        raised.value.response["Error"]["Message"] == "Policy document must be version 2012-10-17 or greater."
    )
