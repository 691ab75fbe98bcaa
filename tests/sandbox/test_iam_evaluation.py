"""The sandbox's IAM policy evaluator against AWS's documentation, one group of probes per page.

Each probe is a policy, a request (action, resource, context keys) and the outcome the cited page gives. The
evaluator is pure (sandbox.aws.iam_policy); the end-to-end requests live in test_aws_caller_policy.py and
test_iam_requests.py.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from sandbox.aws.iam_policy import Check, Decision, Principal, authorize, evaluate
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


# ---- condition operators: "IAM JSON policy elements: Condition operators" ---------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
# Each probe: (condition, context, expected outcome of an Allow of s3:* on * with that condition).
OPERATOR_PROBES = [
    # String: the page's aws:PrincipalTag/job-category example; "the condition returns false" without the tag
    ({"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
     {"aws:PrincipalTag/job-category": "iamuser-admin"}, "allow"),
    ({"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
     {"aws:PrincipalTag/job-category": "IAMUSER-ADMIN"}, "implicit"),  # "Exact matching, case sensitive"
    ({"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}, {}, "implicit"),
    ({"StringNotEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}, {}, "allow"),  # negated, absent: true
    ({"StringNotEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
     {"aws:PrincipalTag/job-category": "iamuser-admin"}, "implicit"),
    ({"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "Data"}}, {"aws:PrincipalTag/team": "DATA"}, "allow"),
    ({"StringNotEqualsIgnoreCase": {"aws:PrincipalTag/team": "Data"}}, {"aws:PrincipalTag/team": "dATa"}, "implicit"),
    ({"StringNotEqualsIgnoreCase": {"aws:PrincipalTag/team": "Data"}}, {"aws:PrincipalTag/team": "ops"}, "allow"),
    ({"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}}, {"s3:prefix": ""}, "allow"),
    ({"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}}, {"s3:prefix": "home/David/"}, "allow"),
    ({"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}}, {"s3:prefix": "home/Adele/"}, "implicit"),
    ({"StringLike": {"s3:prefix": "home/?/*"}}, {"s3:prefix": "home/a/b/c"}, "allow"),  # ? one char, * any run
    ({"StringLike": {"s3:prefix": "home/?/*"}}, {"s3:prefix": "home/ab/c"}, "implicit"),
    ({"StringLike": {"s3:prefix": "home/*"}}, {"s3:prefix": "HOME/x"}, "implicit"),  # "Case-sensitive matching"
    ({"StringNotLike": {"s3:prefix": "home/*"}}, {"s3:prefix": "other/"}, "allow"),
    ({"StringNotLike": {"s3:prefix": "home/*"}}, {"s3:prefix": "home/x"}, "implicit"),
    ({"StringNotLike": {"s3:prefix": "home/*"}}, {}, "allow"),
    # Numeric: the page's s3:max-keys example
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, "allow"),
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "11"}, "implicit"),
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {}, "implicit"),
    ({"NumericEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10.0"}, "allow"),  # integer or decimal values
    ({"NumericEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "9"}, "implicit"),
    ({"NumericNotEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "9"}, "allow"),
    ({"NumericNotEquals": {"s3:max-keys": "10"}}, {}, "allow"),
    ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, "implicit"),
    ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "9.5"}, "allow"),
    ({"NumericGreaterThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, "implicit"),
    ({"NumericGreaterThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "1000"}, "allow"),
    ({"NumericGreaterThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, "allow"),
    ({"NumericGreaterThanEquals": {"s3:max-keys": 10}}, {"s3:max-keys": "2"}, "implicit"),  # a JSON number
    ({"NumericEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "ten"}, "implicit"),
    ({"NumericEquals": {"s3:max-keys": "${s3:max-keys}"}}, {"s3:max-keys": "10"}, "implicit"),  # no variables
    # Date: the page's aws:TokenIssueTime example; ISO 8601 (W3C) or epoch time on either side
    ({"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}},
     {"aws:TokenIssueTime": "2020-06-01T12:00:00Z"}, "allow"),
    ({"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}},
     {"aws:TokenIssueTime": "2019-12-31T23:59:59Z"}, "implicit"),
    ({"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}, {}, "implicit"),  # an IAM user's keys
    ({"DateLessThan": {"aws:CurrentTime": "2026-12-31T23:59:59Z"}}, {"aws:CurrentTime": "2026-12-07T19:00:00Z"},
     "allow"),
    ({"DateLessThan": {"aws:CurrentTime": "2026-12-31"}}, {"aws:CurrentTime": "2027-01-01T00:00:00Z"}, "implicit"),
    ({"DateLessThanEquals": {"aws:EpochTime": "2023-11-14T22:13:20Z"}}, {"aws:EpochTime": "1700000000"}, "allow"),
    ({"DateLessThan": {"aws:EpochTime": "1700000000"}}, {"aws:EpochTime": "1700000000"}, "implicit"),
    ({"DateGreaterThanEquals": {"aws:CurrentTime": "1700000000"}}, {"aws:CurrentTime": "2023-11-14T22:13:20Z"},
     "allow"),
    ({"DateEquals": {"aws:CurrentTime": "2023-11-14T19:13:20-03:00"}}, {"aws:CurrentTime": "2023-11-14T22:13:20Z"},
     "allow"),
    ({"DateNotEquals": {"aws:CurrentTime": "2023-11-14T22:13:20Z"}}, {"aws:CurrentTime": "2023-11-14T22:13:21Z"},
     "allow"),
    ({"DateNotEquals": {"aws:TokenIssueTime": "2023-11-14T22:13:20Z"}}, {}, "allow"),
    ({"DateGreaterThan": {"aws:CurrentTime": "2020-*"}}, {"aws:CurrentTime": "2023-11-14T22:13:20Z"}, "implicit"),
    # Boolean
    ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "true"}, "allow"),
    ({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "false"}, "implicit"),  # a JSON boolean
    ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "false"}, "allow"),
    ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, {}, "implicit"),
    # Binary: "a base-64 encoded representation of the binary value in the policy"
    ({"BinaryEquals": {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}, {"key": b"BinaryValueInBase64"}, "allow"),
    ({"BinaryEquals": {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}, {"key": b"OtherValue"}, "implicit"),
    ({"BinaryEquals": {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}, {}, "implicit"),
    # IP address: the page's 203.0.113.0/24 and mixed IPv4/IPv6 examples; no prefix means /32
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.200"}, "allow"),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.114.1"}, "implicit"),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {}, "implicit"),  # e.g. through a VPC endpoint
    ({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}},
     {"aws:SourceIp": "2001:db8:1234:5678::8"}, "allow"),
    ({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}},
     {"aws:SourceIp": "2001:db8:1234:5679::8"}, "implicit"),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.7"}}, {"aws:SourceIp": "203.0.113.7"}, "allow"),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.7"}}, {"aws:SourceIp": "203.0.113.8"}, "implicit"),
    ({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "198.51.100.1"}, "allow"),
    ({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.1"}, "implicit"),
    ({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {}, "allow"),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "not-an-address"}, "implicit"),
    # ARN: components checked separately; the page's someservice example matches StringLike but not ArnLike
    ({"StringLike": {"aws:SourceArn": "arn:aws:someservice:*:111122223333:finance/*"}},
     {"aws:SourceArn": "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"},
     "allow"),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:someservice:*:111122223333:finance/*"}},
     {"aws:SourceArn": "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"},
     "implicit"),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:someservice:*:111122223333:finance/*"}},
     {"aws:SourceArn": "arn:aws:someservice:us-east-2:111122223333:finance/document.txt"}, "allow"),
    ({"ArnEquals": {"aws:SourceArn": "arn:aws:sns:*:123456789012:TOPIC-ID"}},  # ArnEquals behaves as ArnLike
     {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:TOPIC-ID"}, "allow"),
    ({"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:TOPIC-ID"}}, {}, "implicit"),
    ({"ArnNotEquals": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
     {"aws:SourceArn": "arn:aws:sns:us-east-1:999999999999:t"}, "allow"),
    ({"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
     {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:t"}, "implicit"),
    ({"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}}, {}, "allow"),
    ({"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}"}}, {}, "allow"),
    # ...IfExists: the page's ec2:InstanceType example
    ({"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}, {}, "allow"),
    ({"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}, {"ec2:InstanceType": "t2.micro"},
     "allow"),
    ({"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}, {"ec2:InstanceType": "m5.large"},
     "implicit"),
    ({"StringLike": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}, {}, "implicit"),  # THISPOLICYDOESNOTWORK
    ({"NumericLessThanEqualsIfExists": {"s3:max-keys": "10"}}, {}, "allow"),
    ({"DateLessThanIfExists": {"aws:TokenIssueTime": "2020-01-01"}}, {"aws:TokenIssueTime": "2021-01-01"},
     "implicit"),
    ({"IpAddressIfExists": {"aws:SourceIp": "203.0.113.0/24"}}, {}, "allow"),
    ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, {"aws:MultiFactorAuthPresent": "false"}, "implicit"),
    ({"ArnLikeIfExists": {"aws:SourceArn": "arn:aws:sns:*:*:*"}}, {}, "allow"),
    ({"BinaryEqualsIfExists": {"key": "QQ=="}}, {}, "allow"),
    # Null: the page's aws:TokenIssueTime example ("true": the key doesn't exist)
    ({"Null": {"aws:TokenIssueTime": "true"}}, {}, "allow"),
    ({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}, "implicit"),
    ({"Null": {"aws:TokenIssueTime": "false"}}, {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}, "allow"),
    ({"Null": {"aws:TokenIssueTime": False}}, {}, "implicit"),
    ({"NullIfExists": {"aws:TokenIssueTime": "true"}}, {}, "implicit"),  # IfExists: "except the Null condition"
    # several values: any of them; several keys or operators: all of them (Condition element page)
    ({"StringEquals": {"s3:prefix": ["a/", "b/"]}}, {"s3:prefix": "b/"}, "allow"),
    ({"StringEquals": {"s3:prefix": "a/", "s3:delimiter": "/"}}, {"s3:prefix": "a/", "s3:delimiter": "/"}, "allow"),
    ({"StringEquals": {"s3:prefix": "a/", "s3:delimiter": "/"}}, {"s3:prefix": "a/"}, "implicit"),
    ({"StringEquals": {"s3:prefix": "a/"}, "Bool": {"aws:SecureTransport": "true"}},
     {"s3:prefix": "a/", "aws:SecureTransport": "false"}, "implicit"),
    ({"StringNotEquals": {"s3:prefix": ["a/", "b/"]}}, {"s3:prefix": "b/"}, "implicit"),  # none of them
    # key names are case-insensitive, values as the operator says
    ({"StringEquals": {"AWS:SourceIP": "1.2.3.4"}}, {"aws:SourceIp": "1.2.3.4"}, "allow"),
]  # fmt: skip


@pytest.mark.parametrize(("condition", "context", "expected"), OPERATOR_PROBES)
def test_condition_operators(condition, context, expected):
    assert outcome(policy(allow(Condition=condition)), "s3:ListBucket", "arn:aws:s3:::b", context) == expected


def test_ifexists_on_a_negated_operator_still_denies_without_the_key():
    # "If you are using an "Effect": "Deny" element with a negated condition operator like StringNotEqualsIfExists,
    # the request is still denied even if the tag is missing."
    document = policy(allow(), deny(Condition={"StringNotEqualsIfExists": {"aws:PrincipalTag/team": "data"}}))
    assert outcome(document, "s3:GetObject", "arn:aws:s3:::b/k", {}) == "explicit"
    assert outcome(document, "s3:GetObject", "arn:aws:s3:::b/k", {"aws:PrincipalTag/team": "data"}) == "allow"


def test_the_boolean_example_denies_plain_http():
    # the page's "BooleanExample": deny s3:* on the bucket unless over SSL; the sandbox is plain HTTP
    example = deny(
        "s3:*",
        ["arn:aws:s3:::DOC-EXAMPLE-BUCKET", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
        Condition={"Bool": {"aws:SecureTransport": "false"}},
    )
    document = policy(allow(), example)
    key = "arn:aws:s3:::DOC-EXAMPLE-BUCKET/k"
    assert outcome(document, "s3:GetObject", key, {"aws:SecureTransport": "false"}) == "explicit"
    assert outcome(document, "s3:GetObject", key, {"aws:SecureTransport": "true"}) == "allow"


@pytest.mark.parametrize("effect", ["Allow", "Deny"])
def test_an_operator_iam_does_not_know_never_grants_and_never_spares(effect):
    # IAM refuses such a policy when it is stored; were one evaluated, the sandbox stays on the strict side.
    statement = {
        "Effect": effect,
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"StringEqualz": {"k": "v"}},
    }
    expected = {"Allow": "implicit", "Deny": "explicit"}[effect]
    assert outcome(policy(statement, allow("s3:Get*") if effect == "Deny" else allow("s3:Put*")),
                   "s3:GetObject", "arn:aws:s3:::b/k", {"k": "v"}) == expected  # fmt: skip
    for odd in (
        {"ForAnyValue:Null": {"k": "true"}},
        {"StringEquals": "k"},
        {"StringEquals": {"k": {"a": 1}}},
    ):
        statement["Condition"] = odd
        assert outcome(
            policy(statement, allow("s3:Put*")), "s3:GetObject", "arn:aws:s3:::b/k", {"k": "v"}
        ) == (expected)


# ---- set operators: "Creating a condition with multiple keys or values" and "Single-valued vs. multivalued
# context keys": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
ATTRIBUTES = "dynamodb:requestedAttributes"
ONLY_THESE = policy(
    allow(
        "dynamodb:GetItem",
        Condition={"ForAllValues:StringLike": {ATTRIBUTES: ["PostDateTime", "Message", "Tags"]}},
    )
)
NOT_THESE = policy(
    allow("dynamodb:*"),
    deny("dynamodb:PutItem", Condition={"ForAnyValue:StringLike": {ATTRIBUTES: ["ID", "PostDateTime"]}}),
)
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Thread"


@pytest.mark.parametrize(
    ("document", "action", "requested", "expected"),
    [
        (ONLY_THESE, "dynamodb:GetItem", ["PostDateTime", "Message"], "allow"),
        (ONLY_THESE, "dynamodb:GetItem", ["PostDateTime", "UserName"], "implicit"),  # "no match for UserName"
        (ONLY_THESE, "dynamodb:GetItem", None, "allow"),  # ForAllValues, no key: true
        (ONLY_THESE, "dynamodb:GetItem", [], "allow"),
        (ONLY_THESE, "dynamodb:GetItem", "", "allow"),  # "an empty data set (for example, an empty string)"
        (NOT_THESE, "dynamodb:PutItem", ["UserName", "Message", "PostDateTime"], "explicit"),
        (NOT_THESE, "dynamodb:PutItem", ["UserName"], "allow"),
        (NOT_THESE, "dynamodb:PutItem", None, "allow"),  # ForAnyValue, no key: false
        (NOT_THESE, "dynamodb:PutItem", "", "allow"),
        (NOT_THESE, "dynamodb:PutItem", "ID", "explicit"),  # a single value is a set of one
    ],
)
def test_set_operators_the_pages_examples(document, action, requested, expected):
    context = {} if requested is None else {ATTRIBUTES: requested}
    assert outcome(document, action, TABLE, context) == expected


@pytest.mark.parametrize(
    ("condition", "tag_keys", "expected"),
    [
        # "ForAllValues ... returns true if every context key value in the request matches"
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}}, ["env"], "allow"),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}}, ["env", "owner"], "implicit"),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env", "team"]}}, ["owner", "team"], "allow"),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env", "team"]}}, ["owner"], "implicit"),
        # negated operators apply to each request value: ForAllValues = none of the values is listed
        ({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}}, ["env", "team"], "allow"),
        ({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}}, ["env", "secret"], "implicit"),
        ({"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["secret"]}}, ["env", "secret"], "allow"),
        ({"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["secret"]}}, ["secret"], "implicit"),
        ({"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": ["env"]}}, None, "allow"),
        ({"ForAllValues:NumericLessThan": {"k:sizes": "10"}}, None, "allow"),
        ({"ForAnyValue:IpAddress": {"k:ips": "10.0.0.0/8"}}, None, "implicit"),
    ],
)
def test_set_operators_on_multivalued_keys(condition, tag_keys, expected):
    context = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
    assert (
        outcome(policy(allow(Condition=condition)), "s3:PutBucketTagging", "arn:aws:s3:::b", context)
        == expected
    )


def test_a_plain_operator_on_several_request_values_never_grants_and_never_spares():
    # "Multivalued context keys require a condition set operator"; AWS does not document the plain case.
    several = {"aws:TagKeys": ["env", "team"]}
    assert outcome(
        policy(allow(Condition={"StringEquals": {"aws:TagKeys": "env"}})), "s3:X", "*", several
    ) == ("implicit")
    denying = policy(allow(), deny(Condition={"StringNotEquals": {"aws:TagKeys": "env"}}))
    assert outcome(denying, "s3:X", "*", several) == "explicit"
    # one value in a list is that value
    assert outcome(denying, "s3:X", "*", {"aws:TagKeys": ["env"]}) == "allow"
    assert outcome(denying, "s3:X", "*", {"aws:TagKeys": ["other"]}) == "explicit"


# ---- invariants of "Policy evaluation logic" and of the operators, over generated policies ----------------------
KEYS = ("s3:prefix", "aws:SourceIp", "aws:CurrentTime", "s3:max-keys", "aws:SourceArn", "aws:TagKeys")
SAMPLES = {
    "s3:prefix": ["", "home/", "home/David/", "a*", "x"],
    "aws:SourceIp": ["203.0.113.7", "198.51.100.1", "2001:db8::1"],
    "aws:CurrentTime": ["2024-01-01T00:00:00Z", "1700000000", "2030-06-30"],
    "s3:max-keys": ["0", "10", "10.5", "1000"],
    "aws:SourceArn": ["arn:aws:sns:us-east-1:123456789012:t", "arn:aws:s3:::b"],
    "aws:TagKeys": ["env", ["env", "team"], []],
}
POLICY_VALUES = {
    "String": ["home/*", "home/${aws:username}/", "", "x", "a${*}"],
    "Numeric": ["10", "0", "1e3"],
    "Date": ["2025-01-01T00:00:00Z", "1700000000", "2024"],
    "Ip": ["203.0.113.0/24", "2001:db8::/32", "10.0.0.1"],
    "Arn": ["arn:aws:sns:*:123456789012:*", "arn:aws:s3:::*"],
}
BASES = {
    "String": ["StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
               "StringLike", "StringNotLike"],
    "Numeric": ["NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
                "NumericGreaterThan", "NumericGreaterThanEquals"],
    "Date": ["DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
             "DateGreaterThanEquals"],
    "Ip": ["IpAddress", "NotIpAddress"],
    "Arn": ["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"],
}  # fmt: skip
POSITIVE = {
    "StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike", "NumericNotEquals": "NumericEquals", "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike",
}  # fmt: skip

kinds = st.sampled_from(sorted(BASES))
contexts = st.lists(st.sampled_from(KEYS), unique=True, max_size=3).flatmap(
    lambda keys: st.fixed_dictionaries({key: st.sampled_from(SAMPLES[key]) for key in keys})
)


@st.composite
def conditions(draw):
    block: dict = {}
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(kinds)
        name = draw(st.sampled_from(BASES[kind]))
        name = draw(st.sampled_from(["", "ForAnyValue:", "ForAllValues:"])) + name
        name += draw(st.sampled_from(["", "IfExists"]))
        values = draw(st.lists(st.sampled_from(POLICY_VALUES[kind]), min_size=1, max_size=3))
        block.setdefault(name, {})[draw(st.sampled_from(KEYS))] = values
    return block


@st.composite
def statements(draw, effect=None):
    return {
        "Effect": effect or draw(st.sampled_from(["Allow", "Deny"])),
        draw(st.sampled_from(["Action", "NotAction"])): draw(
            st.sampled_from(["s3:*", "s3:Get*", "s3:ListBucket"])
        ),
        draw(st.sampled_from(["Resource", "NotResource"])): draw(
            st.sampled_from(["*", "arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b", "arn:aws:s3:::b/*"])
        ),
        "Condition": draw(conditions()),
    }


requests = st.tuples(
    st.sampled_from(["s3:GetObject", "s3:ListBucket", "s3:PutObject"]),
    st.sampled_from(["arn:aws:s3:::b", "arn:aws:s3:::b/David/k", "arn:aws:s3:::b/x"]),
    contexts,
    st.sampled_from([DAVID, SESSION]),
)


@given(st.lists(statements(), min_size=1, max_size=4), st.lists(statements("Allow"), max_size=3), requests)
def test_adding_allow_statements_never_lifts_a_deny(existing, more, request):
    action, resource, context, principal = request
    before = evaluate([policy(*existing)], Check(action, resource, context), principal)
    after = evaluate([policy(*existing), policy(*more)], Check(action, resource, context), principal)
    if before == "explicit":
        assert after == "explicit"
    if before == "allow":
        assert after == "allow"
    assert evaluate([policy(*more), policy(*existing)], Check(action, resource, context), principal) == after


@given(
    kinds.flatmap(lambda k: st.tuples(st.sampled_from(BASES[k]), st.sampled_from(POLICY_VALUES[k]))), requests
)
def test_ifexists_on_a_present_key_is_the_operator_itself(operator_value, request):
    name, value = operator_value
    action, resource, context, principal = request
    for key in [key for key, actual in context.items() if actual != []]:  # an empty list: no value, absent
        plain = policy(allow(Condition={name: {key: value}}))
        if_exists = policy(allow(Condition={f"{name}IfExists": {key: value}}))
        check = Check(action, resource, context)
        assert evaluate([plain], check, principal) == evaluate([if_exists], check, principal)


@given(
    st.sampled_from(sorted(POSITIVE)).flatmap(
        lambda negated: st.tuples(
            st.just(negated),
            st.sampled_from(POLICY_VALUES[next(k for k, names in BASES.items() if negated in names)]),
        )
    ),
    requests,
)
def test_a_negated_operator_is_the_opposite_on_a_present_single_value(operator_value, request):
    negated, value = operator_value
    _action, _resource, context, principal = request
    for key, actual in context.items():
        if isinstance(actual, list):
            continue  # several values need a set operator (test_a_plain_operator_on_several_request_values...)
        check = Check("s3:ListBucket", "arn:aws:s3:::b", {key: actual})
        positive = evaluate([policy(allow(Condition={POSITIVE[negated]: {key: value}}))], check, principal)
        negative = evaluate([policy(allow(Condition={negated: {key: value}}))], check, principal)
        if "${aws:username}" in value and principal is SESSION:
            assert positive == negative == "implicit"  # unresolved: the statement is invalid either way
        else:
            assert {positive, negative} == {"allow", "implicit"}


# ---- Principal and NotPrincipal in resource-based policies ------------------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
BUCKET = "arn:aws:s3:::BUCKETNAME"
BOB = Principal(
    f"arn:aws:iam::{ACCOUNT}:user/Bob", ACCOUNT, "user", username="Bob", userid="AIDAEXAMPLEBOB0000001"
)
ALICE = Principal(f"arn:aws:iam::{ACCOUNT}:user/Alice", ACCOUNT, "user", username="Alice", userid="AIDAALICE")
OTHER_ACCOUNT_USER = Principal("arn:aws:iam::444455556666:user/Bob", "444455556666", "user", username="Bob")
AUDIT = Principal(
    f"arn:aws:sts::{ACCOUNT}:assumed-role/cross-account-read-only-role/cross-account-audit-app",
    ACCOUNT,
    "assumed-role",
    role_arn=f"arn:aws:iam::{ACCOUNT}:role/cross-account-read-only-role",
    userid="AROAEXAMPLEAUDIT:cross-account-audit-app",
)
API_GATEWAY = Principal("apigateway.amazonaws.com", "", "service")


def granting(principal_element, reach="all", effect="Allow", who=BOB) -> str:
    statement = {
        "Effect": effect,
        "Principal": principal_element,
        "Action": "s3:*",
        "Resource": f"{BUCKET}/*",
    }
    return evaluate([policy(statement)], Check("s3:GetObject", f"{BUCKET}/k"), who, reach)


@pytest.mark.parametrize(
    ("element", "who", "reach", "expected"),
    [
        ("*", BOB, "all", "allow"),  # everyone ("anonymous access")
        ({"AWS": "*"}, BOB, "all", "allow"),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:user/Bob"}, BOB, "self", "allow"),  # the user by its ARN
        (
            {"AWS": [f"arn:aws:iam::{ACCOUNT}:user/Alice", f"arn:aws:iam::{ACCOUNT}:user/Bob"]},
            BOB,
            "self",
            "allow",
        ),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:user/Bob"}, ALICE, "all", "implicit"),
        ({"AWS": "arn:aws:iam::444455556666:user/Bob"}, BOB, "all", "implicit"),  # same name, other account
        ({"AWS": ACCOUNT}, BOB, "all", "allow"),  # the account, by id or by root ARN: a delegation to it
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, BOB, "all", "allow"),
        ({"AWS": ACCOUNT}, BOB, "self", "implicit"),  # ... which is not a grant to Bob himself
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, OTHER_ACCOUNT_USER, "all", "implicit"),
        ({"AWS": AUDIT.role_arn}, AUDIT, "role", "allow"),  # a role's ARN covers its sessions
        ({"AWS": AUDIT.role_arn}, AUDIT, "self", "implicit"),  # ... but does not name the session itself
        ({"AWS": AUDIT.arn}, AUDIT, "self", "allow"),  # the role session's ARN does
        ({"AWS": "*"}, BOB, "self", "implicit"),  # everyone never names the caller itself
        ({"Service": "apigateway.amazonaws.com"}, API_GATEWAY, "self", "allow"),
        ({"Service": ["lambda.amazonaws.com", "apigateway.amazonaws.com"]}, API_GATEWAY, "self", "allow"),
        ({"Service": "lambda.amazonaws.com"}, API_GATEWAY, "all", "implicit"),
        (
            {"Service": "apigateway.amazonaws.com"},
            BOB,
            "all",
            "implicit",
        ),  # a service principal is no IAM user
        ({"AWS": "apigateway.amazonaws.com"}, API_GATEWAY, "all", "implicit"),
        ({"Federated": "cognito-identity.amazonaws.com"}, BOB, "all", "implicit"),
        (
            {"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
            BOB,
            "all",
            "implicit",
        ),
        (None, BOB, "all", "implicit"),
        (f"arn:aws:iam::{ACCOUNT}:user/Bob", BOB, "all", "implicit"),  # a bare ARN is no Principal form
    ],
)
def test_principal_forms(element, who, reach, expected):
    assert granting(element, reach, who=who) == expected


def test_a_statement_with_principal_never_applies_to_an_unknown_caller():
    assert granting("*", who=None) == "implicit"
    assert granting({"AWS": "*"}, effect="Deny", who=None) == "implicit"


NOT_BOB = {"AWS": [f"arn:aws:iam::{ACCOUNT}:user/Bob", f"arn:aws:iam::{ACCOUNT}:root"]}  # the page's example
NOT_AUDIT = {"AWS": [AUDIT.arn, AUDIT.role_arn, f"arn:aws:iam::{ACCOUNT}:root"]}


@pytest.mark.parametrize(
    ("element", "who", "expected"),
    [
        (NOT_BOB, BOB, "allow"),  # every principal except Bob is denied
        (NOT_BOB, ALICE, "explicit"),
        (NOT_BOB, AUDIT, "explicit"),
        ({"AWS": [f"arn:aws:iam::{ACCOUNT}:user/Bob", ACCOUNT]}, BOB, "allow"),  # the account by its id
        # "If the NotPrincipal element contained only Bob's ARN, the effect ... might be to explicitly deny access
        # to the AWS account that contains the user Bob": the stricter reading
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:user/Bob"}, BOB, "explicit"),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, BOB, "explicit"),  # the account alone does not spare Bob
        (NOT_AUDIT, AUDIT, "allow"),  # the session, its role and the account: spared
        ({"AWS": [AUDIT.arn, f"arn:aws:iam::{ACCOUNT}:root"]}, AUDIT, "explicit"),  # the role missing
        ({"AWS": [AUDIT.arn, AUDIT.role_arn]}, AUDIT, "explicit"),  # the account missing
        ({"AWS": [AUDIT.role_arn, f"arn:aws:iam::{ACCOUNT}:root"]}, AUDIT, "explicit"),  # the session missing
    ],
)
def test_notprincipal_with_deny_the_pages_examples(element, who, expected):
    statements = [
        {"Effect": "Deny", "NotPrincipal": element, "Action": "s3:*", "Resource": [BUCKET, f"{BUCKET}/*"]},
        {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": f"{BUCKET}/*"},
    ]
    assert evaluate([policy(*statements)], Check("s3:GetObject", f"{BUCKET}/k"), who) == expected


def test_notprincipal_with_allow_grants_everyone_else_never_by_name():
    # "Doing so allows all principals except the one named in the NotPrincipal element"
    statement = {
        "Effect": "Allow",
        "NotPrincipal": {"AWS": BOB.arn},
        "Action": "s3:*",
        "Resource": f"{BUCKET}/*",
    }
    check = Check("s3:GetObject", f"{BUCKET}/k")
    assert evaluate([policy(statement)], check, ALICE) == "allow"
    assert evaluate([policy(statement)], check, BOB) == "implicit"
    assert evaluate([policy(statement)], check, ALICE, reach="self") == "implicit"
    statement["NotPrincipal"] = (
        NOT_BOB  # naming Bob's account too leaves out everyone in it (the stricter reading)
    )
    assert evaluate([policy(statement)], check, ALICE) == "implicit"


# ---- policy types combined: "Policy evaluation logic", within one account ---------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
CARLOS = Principal(
    f"arn:aws:iam::{ACCOUNT}:user/carlossalazar",
    ACCOUNT,
    "user",
    username="carlossalazar",
    userid="AIDACARLOS",
)
CARLOS_IDENTITY = policy(  # the page's "Example identity-based and resource-based policy evaluation"
    {"Sid": "AllowS3ListRead", "Effect": "Allow", "Resource": "arn:aws:s3:::*",
     "Action": ["s3:GetBucketLocation", "s3:GetAccountPublicAccessBlock", "s3:ListAccessPoints", "s3:ListAllMyBuckets"]},
    {"Sid": "AllowS3Self", "Effect": "Allow", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"]},
    {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"},
)  # fmt: skip
CARLOS_BUCKET = policy(
    {"Effect": "Allow", "Principal": {"AWS": CARLOS.arn}, "Action": "s3:*",
     "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"]}
)  # fmt: skip


def test_the_carlossalazar_example():
    logs = authorize(Check("s3:PutObject", "arn:aws:s3:::carlossalazar-logs/f"), CARLOS, [CARLOS_IDENTITY])
    assert logs == Decision("explicit", "identity-based")  # "the identity-based policy explicitly denies"
    own = Check("s3:PutObject", "arn:aws:s3:::carlossalazar/f")
    assert authorize(own, CARLOS, [CARLOS_IDENTITY], resource=[CARLOS_BUCKET]).allowed  # both allow
    # "If one of the policy types allows the request and the other doesn't, the request is still allowed."
    assert authorize(own, CARLOS, [], resource=[CARLOS_BUCKET]).allowed
    assert authorize(own, CARLOS, [CARLOS_IDENTITY]).allowed
    assert authorize(own, ALICE, [], resource=[CARLOS_BUCKET]) == Decision("implicit", "identity-based")


BOUNDARY_EC2_ONLY = policy(allow("ec2:*"))
SESSION_EC2_ONLY = [policy(allow("ec2:*"))]
ROLE_SESSION = Principal(
    f"arn:aws:sts::{ACCOUNT}:assumed-role/examplerole/examplerolesessionname",
    ACCOUNT,
    "assumed-role",
    role_arn=f"arn:aws:iam::{ACCOUNT}:role/examplerole",
    userid="AROAEXAMPLE:examplerolesessionname",
)
EXAMPLE_USER = Principal(f"arn:aws:iam::{ACCOUNT}:user/exampleuser", ACCOUNT, "user", username="exampleuser")
OBJECT = Check("s3:GetObject", f"{BUCKET}/k")


def bucket_policy_for(*names: str) -> dict:
    principal = "*" if names == ("*",) else {"AWS": list(names)}
    return policy(
        {"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}
    )


@pytest.mark.parametrize(
    ("named", "who", "boundary", "session", "expected"),
    [
        # "IAM role – ... limited by an implicit deny in a permissions boundary or session policy"
        (ROLE_SESSION.role_arn, ROLE_SESSION, None, None, Decision("allow", "identity-based")),
        (
            ROLE_SESSION.role_arn,
            ROLE_SESSION,
            BOUNDARY_EC2_ONLY,
            None,
            Decision("implicit", "permissions boundary"),
        ),
        (ROLE_SESSION.role_arn, ROLE_SESSION, None, SESSION_EC2_ONLY, Decision("implicit", "session")),
        # "IAM role session – ... not limited by an implicit deny in an identity-based policy, a permissions
        # boundary, or session policy"
        (
            ROLE_SESSION.arn,
            ROLE_SESSION,
            BOUNDARY_EC2_ONLY,
            SESSION_EC2_ONLY,
            Decision("allow", "resource-based"),
        ),
        # "IAM user – ... not limited by an implicit deny in an identity-based policy or permissions boundary"
        (EXAMPLE_USER.arn, EXAMPLE_USER, BOUNDARY_EC2_ONLY, None, Decision("allow", "resource-based")),
        (EXAMPLE_USER.arn, EXAMPLE_USER, None, None, Decision("allow", "resource-based")),
        # the account: a delegation to its identity policies, which allow nothing here
        (ACCOUNT, EXAMPLE_USER, None, None, Decision("implicit", "identity-based")),
        (f"arn:aws:iam::{ACCOUNT}:root", ROLE_SESSION, None, None, Decision("implicit", "identity-based")),
        # everyone: no identity policy needed, but (stricter reading) boundaries and session policies still limit
        ("*", EXAMPLE_USER, None, None, Decision("allow", "identity-based")),
        ("*", EXAMPLE_USER, BOUNDARY_EC2_ONLY, None, Decision("implicit", "permissions boundary")),
        ("*", ROLE_SESSION, None, SESSION_EC2_ONLY, Decision("implicit", "session")),
    ],
)
def test_resource_policies_and_implicit_denies_in_other_policy_types(named, who, boundary, session, expected):
    assert authorize(
        OBJECT, who, [], resource=[bucket_policy_for(named)], boundary=boundary, session=session
    ) == (expected)


def test_identity_boundary_and_session_policies_intersect():
    identity = [policy(allow("s3:*"))]
    assert authorize(OBJECT, ROLE_SESSION, identity) == Decision("allow", "identity-based")
    # "the entity can perform only the actions that are allowed by both its identity-based policies and its
    # permissions boundaries"
    assert authorize(OBJECT, EXAMPLE_USER, identity, boundary=BOUNDARY_EC2_ONLY) == Decision(
        "implicit", "permissions boundary"
    )
    assert authorize(OBJECT, EXAMPLE_USER, identity, boundary=policy(allow("s3:Get*"))).allowed
    # "the resulting session's permissions are the intersection of the IAM entity's identity-based policy and the
    # session policies"
    assert authorize(OBJECT, ROLE_SESSION, identity, session=SESSION_EC2_ONLY) == Decision(
        "implicit", "session"
    )
    assert authorize(OBJECT, ROLE_SESSION, identity, session=[policy(allow("s3:GetObject"))]).allowed
    assert authorize(
        OBJECT, ROLE_SESSION, [policy(allow("ec2:*"))], session=[policy(allow("s3:*"))]
    ) == Decision("implicit", "identity-based")  # a session policy grants nothing by itself


@pytest.mark.parametrize("kind", ["identity-based", "resource-based", "permissions boundary", "session"])
def test_an_explicit_deny_in_any_policy_overrides_any_allow(kind):
    denying = policy(
        deny("s3:GetObject", f"{BUCKET}/*", **({"Principal": "*"} if kind == "resource-based" else {}))
    )
    policies = {
        "identity": [policy(allow("s3:*"))] + ([denying] if kind == "identity-based" else []),
        "resource": [bucket_policy_for(ROLE_SESSION.arn)] + ([denying] if kind == "resource-based" else []),
        "boundary": denying if kind == "permissions boundary" else policy(allow("s3:*")),
        "session": [denying] if kind == "session" else [policy(allow("s3:*"))],
    }
    assert authorize(OBJECT, ROLE_SESSION, **policies) == Decision("explicit", kind)


def test_a_resource_policy_deny_naming_the_role_or_the_account_reaches_its_sessions():
    for named in (ROLE_SESSION.role_arn, ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ROLE_SESSION.arn):
        denying = policy(deny("s3:GetObject", f"{BUCKET}/*", Principal={"AWS": named}))
        assert authorize(OBJECT, ROLE_SESSION, [policy(allow())], resource=[denying]) == Decision(
            "explicit", "resource-based"
        )
    other = policy(deny("s3:GetObject", f"{BUCKET}/*", Principal={"AWS": EXAMPLE_USER.arn}))
    assert authorize(OBJECT, ROLE_SESSION, [policy(allow())], resource=[other]).allowed


def test_the_root_user_has_full_access_but_an_explicit_deny():
    # "By default, all requests are implicitly denied with the exception of the AWS account root user"
    root = Principal(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "root")
    assert authorize(OBJECT, root, []) == Decision("allow", "identity-based")
    denying = policy(deny("s3:GetObject", f"{BUCKET}/*", Principal="*"))
    assert authorize(OBJECT, root, [], resource=[denying]) == Decision("explicit", "resource-based")
    by_account = policy(deny("s3:GetObject", f"{BUCKET}/*", Principal={"AWS": ACCOUNT}))
    assert authorize(OBJECT, root, [], resource=[by_account]) == Decision("explicit", "resource-based")


def test_a_service_principal_is_granted_only_by_a_resource_policy():
    # Lambda's resource-based policy lets API Gateway invoke a function
    invoke = Check("lambda:InvokeFunction", f"arn:aws:lambda:sa-east-1:{ACCOUNT}:function:telegram-ingestao")
    permission = policy(
        {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "lambda:InvokeFunction",
         "Resource": invoke.resource,
         "Condition": {"ArnLike": {"AWS:SourceArn": f"arn:aws:execute-api:sa-east-1:{ACCOUNT}:abc123/*"}}}
    )  # fmt: skip
    from_api = Check(
        invoke.action,
        invoke.resource,
        {"aws:SourceArn": f"arn:aws:execute-api:sa-east-1:{ACCOUNT}:abc123/$default/POST/"},
    )
    assert authorize(from_api, API_GATEWAY, [], resource=[permission]) == Decision("allow", "resource-based")
    assert authorize(invoke, API_GATEWAY, [], resource=[permission]) == Decision("implicit", "resource-based")
    assert authorize(from_api, API_GATEWAY, [policy(allow("lambda:*"))]) == Decision(
        "implicit", "resource-based"
    )


def test_malformed_statements_never_grant_and_never_spare():
    # "IAM JSON policy elements: Effect": "Allow" or "Deny"; a statement "must contain actions" (IAM refuses others)
    check = Check("s3:GetObject", f"{BUCKET}/k")
    no_action = {"Effect": "Allow", "Resource": "*"}
    assert evaluate([policy(no_action)], check, BOB) == "implicit"
    assert evaluate([policy(allow(), {"Effect": "Deny", "Resource": "*"})], check, BOB) == "explicit"
    assert (
        evaluate([policy({"Effect": "allow", "Action": "s3:*", "Resource": "*"})], check, BOB) == "implicit"
    )
    assert (
        evaluate([policy(allow(), {"Effect": "deny", "Action": "s3:*", "Resource": "*"})], check, BOB)
        == "explicit"
    )
    assert (
        evaluate([policy({"Effect": "Permit", "Action": "s3:*", "Resource": "*"})], check, BOB) == "implicit"
    )


principal_elements = st.sampled_from(
    [
        "*",
        {"AWS": ACCOUNT},
        {"AWS": ROLE_SESSION.role_arn},
        {"AWS": ROLE_SESSION.arn},
        {"AWS": EXAMPLE_USER.arn},
    ]
)


@st.composite
def resource_statements(draw, effect=None):
    statement = draw(statements(effect))
    statement["Principal"] = draw(principal_elements)
    return statement


@given(
    st.lists(statements(), max_size=3),
    st.lists(resource_statements(), max_size=2),
    st.one_of(st.none(), statements()),
    st.one_of(st.none(), st.lists(statements(), max_size=2)),
    st.lists(statements("Allow"), min_size=1, max_size=2),
    st.lists(resource_statements("Allow"), max_size=2),
    requests,
)
def test_authorize_never_lets_an_allow_lift_a_deny(
    identity, resource, boundary, session, more, more_resource, request
):
    action, resource_arn, context, _ = request
    check = Check(action, resource_arn, context)
    wrap = {
        "resource": [policy(*resource)] if resource else [],
        "boundary": policy(boundary) if boundary else None,
        "session": [policy(*session)] if session is not None else None,
    }
    for who in (ROLE_SESSION, EXAMPLE_USER):
        before = authorize(check, who, [policy(*identity)] if identity else [], **wrap)
        grown = dict(wrap, resource=wrap["resource"] + ([policy(*more_resource)] if more_resource else []))
        after = authorize(check, who, ([policy(*identity)] if identity else []) + [policy(*more)], **grown)
        if before.outcome == "explicit":
            assert after == before  # the same Deny, found in the same policy type
        if before.allowed:
            assert after.allowed  # more Allow statements take nothing away
