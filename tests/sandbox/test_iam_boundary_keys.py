"""Probes of IAM's own condition keys for delegated role creation, through real boto3 clients.

A teacher who lets students create roles confines those roles with a permissions boundary the students must set and
may not remove: the IAM User Guide's delegation example ("Permissions boundaries for IAM entities", BOUNDARIES,
"Delegating responsibility to others using permissions boundaries") allows CreateUser only under a condition on
`iam:PermissionsBoundary`. Which calls carry that key, and `iam:PolicyARN`, is the Service Authorization Reference's
table for IAM (SAR). And a function's calls are made with its role's session, which the role's boundary limits.
"""

from __future__ import annotations

import json

import pytest

from tests.sandbox.aws_fixtures import ROLE_POLICY, error_of, start_sandbox, stop_sandbox
from tests.sandbox.test_iam_requests import (
    ACCOUNT,
    Users,
    allow,
    deny,
    not_allowed,
    policy,
    user_arn,
)
from tutorial.harness import zip_files

SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/"
LAMBDA_ROLE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html"


@pytest.fixture(scope="module")
def users(tmp_path_factory):
    running = start_sandbox(tmp_path_factory.mktemp("iam-boundary-keys"))
    yield Users(running)
    stop_sandbox(running)


@pytest.fixture(scope="module")
def limits(users) -> tuple[str, str]:
    """Two managed policies a teacher made: the boundary students must use, and another one."""
    return users.managed("limite-da-turma", allow("s3:*")), users.managed("outro-limite", allow("*"))


def create_role(client, name: str, boundary: str | None = None):
    extra = {"PermissionsBoundary": boundary} if boundary else {}
    return client.create_role(RoleName=name, AssumeRolePolicyDocument=ROLE_POLICY, **extra)


def only_with(boundary: str, *actions: str) -> dict:
    return allow(list(actions), Condition={"ArnEquals": {"iam:PermissionsBoundary": boundary}})


def test_create_role_carries_the_requested_boundary(users, limits):
    """SAR, CreateRole: condition key iam:PermissionsBoundary. BOUNDARIES, delegation example: an Allow of the create
    call under StringEquals on it lets one create only with that boundary; without one, or with another, no
    identity-based policy allows the call."""
    ours, other = limits
    iam = users.client(users.make("cria-papeis", only_with(ours, "iam:CreateRole")), "iam")
    role = create_role(iam, "papel-com-limite", ours)["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == ours
    for name, boundary in (("papel-sem-limite", None), ("papel-outro-limite", other)):
        status, code, message = error_of(create_role, iam, name, boundary)
        assert (status, code) == (403, "AccessDenied")
        assert message == not_allowed(user_arn("cria-papeis"), "iam:CreateRole", ROLE_ARN + name)
    assert [r["RoleName"] for r in users.iam.list_roles()["Roles"] if r["RoleName"].startswith("papel-")] == [
        "papel-com-limite"
    ]


def test_create_user_carries_the_requested_boundary(users, limits):
    """SAR, CreateUser: condition key iam:PermissionsBoundary (the delegation example's own statement)."""
    ours, other = limits
    iam = users.client(users.make("cria-usuarios", only_with(ours, "iam:CreateUser")), "iam")
    iam.create_user(UserName="nova-com-limite", PermissionsBoundary=ours)
    assert error_of(iam.create_user, UserName="nova-sem-limite")[:2] == (403, "AccessDenied")
    assert error_of(iam.create_user, UserName="nova-outro", PermissionsBoundary=other)[:2] == (
        403,
        "AccessDenied",
    )


def test_a_deny_unless_the_boundary_applies_to_a_create_without_one(users, limits):
    """A negated operator on a key absent from the request is true ("IAM JSON policy elements: Condition
    operators"): a Deny "ArnNotEquals iam:PermissionsBoundary" stops CreateRole without a boundary, explicitly."""
    ours, _ = limits
    guard = deny("iam:CreateRole", Condition={"ArnNotEquals": {"iam:PermissionsBoundary": ours}})
    iam = users.client(users.make("cria-so-com-limite", allow("iam:*"), guard), "iam")
    status, code, message = error_of(create_role, iam, "sem-limite-negado")
    assert (status, code) == (403, "AccessDenied")
    assert message.endswith("with an explicit deny in an identity-based policy")
    create_role(iam, "com-limite-permitido", ours)


@pytest.mark.parametrize("kind", ["role", "user"])
def test_put_permissions_boundary_carries_the_new_boundary(users, limits, kind):
    """SAR, PutRolePermissionsBoundary and PutUserPermissionsBoundary: iam:PermissionsBoundary. BOUNDARIES: the
    delegation example's statement lets one "set the permissions boundary for existing users but only using that
    same policy"."""
    ours, other = limits
    action = "PutRolePermissionsBoundary" if kind == "role" else "PutUserPermissionsBoundary"
    name = f"troca-limite-{kind}"
    if kind == "role":
        create_role(users.iam, name)
    else:
        users.iam.create_user(UserName=name)
    iam = users.client(users.make(f"troca-{kind}", only_with(ours, f"iam:{action}")), "iam")
    put = getattr(iam, "put_role_permissions_boundary" if kind == "role" else "put_user_permissions_boundary")
    entity = {"RoleName": name} if kind == "role" else {"UserName": name}
    put(**entity, PermissionsBoundary=ours)
    status, code, message = error_of(put, **entity, PermissionsBoundary=other)
    assert (status, code) == (403, "AccessDenied")
    assert message == not_allowed(user_arn(f"troca-{kind}"), f"iam:{action}", f"{kind} {name}")


def test_calls_on_an_existing_role_carry_its_current_boundary(users, limits):
    """SAR: PutRolePolicy, DeleteRolePermissionsBoundary (and GetRole, DeleteRole...) carry iam:PermissionsBoundary,
    "the specified policy is set as the permissions boundary on the IAM entity": a role with that boundary may be
    changed, a role without one (or with another) may not (BOUNDARIES: "manage permissions policies for users with
    this permissions boundary set")."""
    ours, other = limits
    create_role(users.iam, "ja-limitado", ours)
    create_role(users.iam, "nunca-limitado")
    create_role(users.iam, "outro-limitado", other)
    iam = users.client(
        users.make("edita-limitados", only_with(ours, "iam:PutRolePolicy", "iam:GetRole")), "iam"
    )
    document = json.dumps(policy(allow("s3:*")))
    iam.put_role_policy(RoleName="ja-limitado", PolicyName="p", PolicyDocument=document)
    assert iam.get_role(RoleName="ja-limitado")["Role"]["RoleName"] == "ja-limitado"
    for name in ("nunca-limitado", "outro-limitado"):
        status, code, message = error_of(
            iam.put_role_policy, RoleName=name, PolicyName="p", PolicyDocument=document
        )
        assert (status, code) == (403, "AccessDenied")
        assert message == not_allowed(user_arn("edita-limitados"), "iam:PutRolePolicy", f"role {name}")


def test_deleting_a_boundary_is_checked_against_the_boundary_being_removed(users, limits):
    """SAR, DeleteRolePermissionsBoundary: iam:PermissionsBoundary is the role's boundary. The delegation example
    denies the delete outright ("NoBoundaryUserDelete"); a Deny conditioned on the class boundary protects just it."""
    ours, other = limits
    create_role(users.iam, "limite-protegido", ours)
    create_role(users.iam, "limite-livre", other)
    keep = deny(
        "iam:DeleteRolePermissionsBoundary", Condition={"ArnEquals": {"iam:PermissionsBoundary": ours}}
    )
    iam = users.client(users.make("tira-limites", allow("iam:*"), keep), "iam")
    status, code, _ = error_of(iam.delete_role_permissions_boundary, RoleName="limite-protegido")
    assert (status, code) == (403, "AccessDenied")
    assert users.iam.get_role(RoleName="limite-protegido")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == ours  # fmt: skip
    iam.delete_role_permissions_boundary(RoleName="limite-livre")
    assert "PermissionsBoundary" not in users.iam.get_role(RoleName="limite-livre")["Role"]


def test_attach_and_detach_carry_the_policy_arn(users):
    """SAR, AttachRolePolicy and DetachRolePolicy (and the user and group ones): condition key iam:PolicyARN, "the
    ARN of an IAM policy"."""
    basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    create_role(users.iam, "anexos")
    only_basic = allow(
        ["iam:AttachRolePolicy", "iam:DetachRolePolicy"], Condition={"ArnEquals": {"iam:PolicyARN": basic}}
    )
    iam = users.client(users.make("anexa-basico", only_basic), "iam")
    iam.attach_role_policy(RoleName="anexos", PolicyArn=basic)
    status, code, message = error_of(iam.attach_role_policy, RoleName="anexos", PolicyArn=admin)
    assert (status, code) == (403, "AccessDenied")
    assert message == not_allowed(user_arn("anexa-basico"), "iam:AttachRolePolicy", "role anexos")
    users.iam.attach_role_policy(RoleName="anexos", PolicyArn=admin)
    assert error_of(iam.detach_role_policy, RoleName="anexos", PolicyArn=admin)[:2] == (403, "AccessDenied")
    iam.detach_role_policy(RoleName="anexos", PolicyArn=basic)


READER = """import boto3
from botocore.exceptions import ClientError


def lambda_handler(event, context):
    try:
        body = boto3.client("s3").get_object(Bucket=event["bucket"], Key="dados.json")["Body"].read()
        return {"ok": body.decode()}
    except ClientError as error:
        return {"erro": error.response["Error"]["Code"], "mensagem": error.response["Error"]["Message"]}
"""


def test_a_functions_s3_calls_are_limited_by_its_roles_boundary(users):
    """LAMBDA_ROLE: a function calls AWS with a session of its execution role; BOUNDARIES: the role's boundary limits
    that session whatever the role's own policy allows. A role whose policy allows s3:* on * but whose boundary
    allows one bucket reads that bucket and gets AccessDenied on another, naming the boundary."""
    s3 = users.sandbox.client("s3")
    for bucket in ("telegram-meu-raw", "telegram-alheio-raw"):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "sa-east-1"})
        s3.put_object(Bucket=bucket, Key="dados.json", Body=bucket.encode())
    mine = users.managed(
        "limite-meu", allow("s3:*", ["arn:aws:s3:::telegram-meu-*", "arn:aws:s3:::telegram-meu-*/*"])
    )
    role_arn = create_role(users.iam, "funcao-limitada-role", mine)["Role"]["Arn"]
    users.iam.put_role_policy(
        RoleName="funcao-limitada-role", PolicyName="tudo", PolicyDocument=json.dumps(policy(allow("s3:*")))
    )
    lambda_ = users.sandbox.client("lambda")
    lambda_.create_function(
        FunctionName="funcao-limitada",
        Runtime="python3.12",
        Role=role_arn,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": zip_files({"lambda_function.py": READER})},
    )
    lambda_.get_waiter("function_active_v2").wait(FunctionName="funcao-limitada")

    def read(bucket: str) -> dict:
        answer = lambda_.invoke(FunctionName="funcao-limitada", Payload=json.dumps({"bucket": bucket}))
        return json.loads(answer["Payload"].read())

    assert read("telegram-meu-raw") == {"ok": "telegram-meu-raw"}
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/funcao-limitada-role/funcao-limitada"
    assert read("telegram-alheio-raw") == {
        "erro": "AccessDenied",
        "mensagem": not_allowed(session, "s3:GetObject", '"arn:aws:s3:::telegram-alheio-raw/dados.json"', "permissions boundary"),
    }  # fmt: skip
    # Without the boundary the same role reads both: the boundary, not the role's policy, made the difference.
    users.iam.delete_role_permissions_boundary(RoleName="funcao-limitada-role")
    assert read("telegram-alheio-raw") == {"ok": "telegram-alheio-raw"}


@pytest.mark.parametrize("call", ["create", "put"])
def test_a_boundary_that_does_not_exist_is_refused(users, call):
    """CreateRole and PutRolePermissionsBoundary with a policy that does not exist: 404 NoSuchEntity "Scope ARN: ARN
    does not exist or is not attachable." (AWS's answer, as quoted in openshift/rosa's test cases), and nothing is
    made or changed. A teacher who forgot a student's boundary sees this, not a role that can do nothing."""
    missing = f"arn:aws:iam::{ACCOUNT}:policy/telegram-ninguem-limite"
    name = f"limite-inexistente-{call}"
    if call == "create":
        status, code, message = error_of(create_role, users.iam, name, missing)
        assert name not in [role["RoleName"] for role in users.iam.list_roles()["Roles"]]
    else:
        create_role(users.iam, name)
        status, code, message = error_of(
            users.iam.put_role_permissions_boundary, RoleName=name, PermissionsBoundary=missing
        )
        assert "PermissionsBoundary" not in users.iam.get_role(RoleName=name)["Role"]
    assert (status, code) == (404, "NoSuchEntity")
    assert message == f"Scope ARN: {missing} does not exist or is not attachable."
