"""A class shares one AWS account (CONTA_AWS=compartilhada, iam/politica-da-turma-compartilhada.json).

Each student's resource names carry their IAM user name, and the class policy allows each student only the names
with their own (`${aws:username}`, IAM User Guide, "IAM policy elements: Variables and tags",
reference_policies_variables.html). The slow test runs the notebooks as they are in the repository, as two IAM users
a teacher created in one sandbox account (see tests/test_class_policy.py for how a notebook runs as a student).
The fast ones check the name validation: a user name that would make an invalid name is refused before anything is
created, with what the teacher must change, in Portuguese.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

import sandbox
from sandbox.aws.iam_policy import Check, Principal, authorize
from tests.students import outputs, run_as
from tests.test_real_mode import FakeSts, real  # noqa: F401 - `real`: a learner's shell on a real account (fixture)
from tutorial import contract, setup
from tutorial.harness import isolated_sandbox, zip_files

ROOT = Path(__file__).resolve().parent.parent
SHARED_POLICY = json.loads((ROOT / "iam" / "politica-da-turma-compartilhada.json").read_text())
CLASS_POLICY = json.loads((ROOT / "iam" / "politica-da-turma.json").read_text())
BOUNDARY_TEMPLATE = (ROOT / "iam" / "limite-do-aluno.json").read_text()
ACCOUNT, REGION = "123456789012", "sa-east-1"
TUTORIAL = ["02-ingestao-aws", "03-webhook", "04-etl", "05-analise"]

# S3's "Bucket naming rules" (general purpose buckets): 3 to 63 characters; lowercase letters, digits, "." and "-";
# a letter or digit first and last.
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# IAM's CreateUser: UserName is 1 to 64 of [\w+=,.@-].
IAM_USER_NAME = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-"),
    min_size=1,
    max_size=64,
)


@pytest.fixture(autouse=True)
def _prefix_restored(monkeypatch):
    """The setup cell's prefix and CONTA_AWS are process state: what a test chooses never reaches the next test."""
    monkeypatch.setattr(contract, "_active", contract._active)
    monkeypatch.setenv(
        "CONTA_AWS", "individual"
    )  # restored (or removed) after the test, whatever configure wrote


def user_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


# ---- the user name, checked against every name it goes into ----------------------------------------------------
def test_a_valid_user_name_gives_the_prefix_of_every_name():
    prefix = setup.shared_prefix(user_arn("aluna01"), ACCOUNT, REGION)

    assert prefix == "telegram-aluna01"
    names = contract.names(prefix)
    assert names.bucket(ACCOUNT, REGION, "raw") == "telegram-aluna01-123456789012-sa-east-1-raw"
    assert names.ingestion_function == "telegram-aluna01-ingestao"
    assert names.database == "telegram_aluna01"  # Athena: letters, digits and "_"


def test_a_user_with_a_path_is_named_by_its_last_part():
    assert setup.shared_prefix(f"arn:aws:iam::{ACCOUNT}:user/turma/2026/aluna01", ACCOUNT, REGION) == (
        "telegram-aluna01"
    )


@pytest.mark.parametrize(
    ("user", "why"),
    [
        ("Aluna01", "só letras minúsculas sem acento e algarismos"),
        ("maria.silva", "só letras minúsculas sem acento e algarismos"),
        ("ana-b", "só letras minúsculas sem acento e algarismos"),
        ("aluna_1", "só letras minúsculas sem acento e algarismos"),
        ("ana@escola", "só letras minúsculas sem acento e algarismos"),
        ("a" * 23, "no máximo 22 caracteres nesta conta e região (sa-east-1); tem 23"),
    ],
)
def test_a_user_name_that_would_make_an_invalid_name_is_refused_with_what_to_change(user, why):
    with pytest.raises(setup.ConfigurationError) as refused:
        setup.shared_prefix(user_arn(user), ACCOUNT, REGION)

    message = str(refused.value)
    assert f"O usuário do IAM {user!r} não serve para a conta compartilhada" in message
    assert why in message
    assert "Quem dá a aula cria outro usuário com um nome assim (por exemplo, aluna01)" in message


def test_the_longest_user_name_accepted_depends_on_the_region():
    # The enriched bucket, telegram-<user>-<account>-<region>-enriched, reaches S3's 63 characters first.
    longest = "a" * 17
    assert (
        len(
            contract.names(setup.shared_prefix(user_arn(longest), ACCOUNT, "ap-southeast-2")).bucket(
                ACCOUNT, "ap-southeast-2", "enriched"
            )
        )
        == 63
    )
    with pytest.raises(
        setup.ConfigurationError, match=r"no máximo 17 caracteres .*\(ap-southeast-2\); tem 18"
    ):
        setup.shared_prefix(user_arn(longest + "a"), ACCOUNT, "ap-southeast-2")


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Aluno_0123/aluna01",
        f"arn:aws:iam::{ACCOUNT}:root",
        f"arn:aws:sts::{ACCOUNT}:federated-user/aluna01",
    ],
)
def test_credentials_that_are_not_an_iam_user_are_refused(arn):
    # ${aws:username} exists only for IAM users ("Variables and tags": "Request information that you can use").
    with pytest.raises(setup.ConfigurationError, match="precisa das chaves de um usuário do IAM") as refused:
        setup.shared_prefix(arn, ACCOUNT, REGION)
    assert arn in str(refused.value)


@given(
    user=IAM_USER_NAME, region=st.sampled_from(["us-east-1", "sa-east-1", "ap-southeast-2", "il-central-1"])
)
def test_any_accepted_user_name_makes_only_valid_names(user, region):
    try:
        prefix = setup.shared_prefix(user_arn(user), ACCOUNT, region)
    except setup.ConfigurationError as refused:
        assert "não serve para a conta compartilhada" in str(refused)
        return
    names = contract.names(prefix)
    for layer in contract.BUCKET_LAYERS:
        assert BUCKET_NAME.fullmatch(names.bucket(ACCOUNT, region, layer))
    assert all(len(name) <= 64 for name in [*names.roles, *names.functions, names.schedule])
    assert re.fullmatch(r"[a-z0-9_]+", names.database)
    assert re.fullmatch(r"[a-zA-Z0-9._-]{1,128}", names.workgroup)
    # The class policy's `telegram-${aws:username}-*` of this user matches no other user's names.
    assert "-" not in user


@pytest.mark.parametrize("typed", ["compartilhado", "shared", "sim", " "])
def test_an_unknown_account_mode_is_refused_before_anything_starts(typed, monkeypatch):
    monkeypatch.setattr(setup, "prepare", lambda *args: pytest.fail("the sandbox started"))
    with pytest.raises(setup.ConfigurationError) as refused:
        setup.configure("02", "sandbox", typed)
    message = str(refused.value)
    assert "não é um tipo de conta conhecido" in message
    assert "CONTA_AWS=individual" in message and "CONTA_AWS=compartilhada" in message


def test_the_default_mode_keeps_the_names_and_prints_nothing_new(capsys):
    assert setup._choose_prefix("individual", {"Arn": user_arn("Aluna.01"), "Account": ACCOUNT}, REGION) == (
        "telegram"
    )
    assert setup.prefixo() == contract.PREFIX
    assert capsys.readouterr().out == ""


def test_the_names_cell_before_the_setup_cell_says_to_run_the_setup_cell(monkeypatch):
    monkeypatch.setattr(contract, "_active", None)
    with pytest.raises(setup.ConfigurationError, match="rode-a antes desta"):
        setup.prefixo()


def test_a_shared_account_shows_the_prefix_in_the_setup_output(capsys):
    identity = {"Arn": user_arn("aluna01"), "Account": ACCOUNT}
    assert setup._choose_prefix("compartilhada", identity, REGION) == setup.prefixo() == "telegram-aluna01"
    assert "PREFIXO = 'telegram-aluna01'" in capsys.readouterr().out


def test_on_a_real_account_the_students_user_name_is_read_before_anything_is_created(request, capsys):
    clients = request.getfixturevalue("real")
    assert setup.configure("02", "real", "compartilhada") == "real"

    assert clients == ["sts"]  # only GetCallerIdentity
    assert setup.prefixo() == "telegram-aluna"  # FakeSts: arn:aws:iam::111122223333:user/aluna
    assert "PREFIXO = 'telegram-aluna'" in capsys.readouterr().out


def test_on_a_real_account_sso_credentials_are_refused_before_anything_is_created(request, monkeypatch):
    clients = request.getfixturevalue("real")
    role = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Aluno_0123/aluna"
    monkeypatch.setattr(FakeSts, "get_caller_identity", lambda self: {"Account": "111122223333", "Arn": role})
    with pytest.raises(setup.ConfigurationError, match="precisa das chaves de um usuário do IAM"):
        setup.configure("04", "real", "compartilhada")
    assert clients == ["sts"]


def test_a_mode_typed_in_the_cell_reaches_the_notebooks_the_catch_up_runs(monkeypatch):
    """The learner edits the cell's default instead of setting CONTA_AWS: the catch-up's kernels read os.environ."""
    modes = []
    monkeypatch.setattr(
        setup, "prepare", lambda notebook, mode: modes.append((mode, os.environ["CONTA_AWS"]))
    )
    monkeypatch.delenv("CONTA_AWS")
    setup.configure("04", "sandbox", "compartilhada")
    assert modes == [("compartilhada", "compartilhada")]


@pytest.mark.parametrize("typed", ["Compartilhada", " compartilhada\n"])
def test_the_account_mode_ignores_case_and_spaces(typed):
    assert setup.account_mode(typed) == "compartilhada"


# ---- the class policy ----------------------------------------------------------------------------------------------
def allowed_actions(policy: dict) -> list[str]:
    return sorted(
        action
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    )


def test_the_shared_policy_allows_what_the_class_policy_allows_only_on_the_students_names():
    """The same actions as iam/politica-da-turma.json; every tutorial name carries ${aws:username}."""
    assert allowed_actions(SHARED_POLICY) == allowed_actions(CLASS_POLICY)
    for statement in SHARED_POLICY["Statement"]:
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for resource in resources:
            if "telegram" in resource:
                assert re.search(r"telegram[-_]\$\{aws:username\}", resource), resource
    unconfined = [
        s["Sid"]
        for s in SHARED_POLICY["Statement"]
        if s["Effect"] == "Allow" and (s["Resource"] == "*" or "apis" in str(s))
    ]
    assert unconfined == ["ListarBuckets", "APIsHTTPNaoIsoladasPorNome", "ListagensSemRecurso"]


def boundary_of(user: str) -> dict:
    """The README's command: the template with the student's user name in place of ALUNO."""
    return json.loads(BOUNDARY_TEMPLATE.replace("ALUNO", user))


def test_the_boundary_template_names_only_the_students_resources():
    """The placeholder is in every resource and nowhere else; with a name put in, nothing is left of it."""
    template = json.loads(BOUNDARY_TEMPLATE)
    resources = [r for s in template["Statement"] for r in s["Resource"] if isinstance(s["Resource"], list)]
    resources += [s["Resource"] for s in template["Statement"] if isinstance(s["Resource"], str)]
    assert resources and all("telegram-ALUNO-" in resource for resource in resources)
    assert BOUNDARY_TEMPLATE.count("ALUNO") == len(resources)
    assert all(s["Effect"] == "Allow" for s in template["Statement"])
    assert "ALUNO" not in json.dumps(boundary_of("aluna01"))


def student_check(action: str, role: str, boundary: str | None = None) -> Check:
    context = {"aws:username": "aluna"}
    if boundary:
        context["iam:PermissionsBoundary"] = f"arn:aws:iam::{ACCOUNT}:policy/{boundary}"
    return Check(action, f"arn:aws:iam::{ACCOUNT}:role/{role}", context)


@pytest.mark.parametrize(
    ("action", "boundary", "outcome"),
    [
        ("iam:CreateRole", "telegram-aluna-limite", "allow"),
        ("iam:CreateRole", None, "explicit"),
        ("iam:CreateRole", "telegram-aluna2-limite", "explicit"),
        ("iam:PutRolePolicy", "telegram-aluna-limite", "allow"),
        ("iam:PutRolePolicy", None, "implicit"),  # a role without the boundary (made before it was required)
        ("iam:PutRolePermissionsBoundary", "telegram-aluna-limite", "implicit"),
        ("iam:PutRolePermissionsBoundary", "telegram-aluna2-limite", "explicit"),
        ("iam:DeleteRolePermissionsBoundary", "telegram-aluna-limite", "explicit"),
        ("iam:DeleteRole", "telegram-aluna-limite", "allow"),  # teardown
        ("iam:DeleteRole", None, "allow"),
    ],
)
def test_the_shared_policy_lets_a_student_make_roles_only_with_their_boundary(action, boundary, outcome):
    """The IAM User Guide's delegation example ("Permissions boundaries for IAM entities"): CreateRole only with the
    student's boundary, and never a way to remove or replace it. The request context is the sandbox's (see
    tests/sandbox/test_iam_boundary_keys.py for which calls carry iam:PermissionsBoundary)."""
    principal = Principal(user_arn("aluna"), ACCOUNT, "user", username="aluna", userid="AIDAALUNA")
    decision = authorize(
        student_check(action, "telegram-aluna-ingestao-role", boundary), principal, [SHARED_POLICY]
    )
    assert decision.outcome == outcome


def test_roles_get_the_students_boundary_only_in_a_shared_account(monkeypatch):
    monkeypatch.setattr(contract, "_active", "telegram")
    assert setup.limite_dos_papeis(ACCOUNT) == {}
    monkeypatch.setattr(contract, "_active", "telegram-aluna01")
    assert setup.limite_dos_papeis(ACCOUNT) == {
        "PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/telegram-aluna01-limite"
    }


# ---- two students in one account ----------------------------------------------------------------------------------
def admin(service: str):
    # The suite's autouse fixture removes AWS_ENDPOINT_URL from each test: point the client explicitly.
    return boto3.client(service, endpoint_url=sandbox.env()["AWS_ENDPOINT_URL"], aws_session_token=None)


def enroll(name: str) -> dict:
    """The README's steps: one IAM user per student, in the class group that holds the shared policy, and the
    student's permissions boundary made from the template."""
    iam = admin("iam")
    if not iam.list_groups()["Groups"]:
        arn = iam.create_policy(PolicyName="turma-compartilhada", PolicyDocument=json.dumps(SHARED_POLICY))
        iam.create_group(GroupName="turma")
        iam.attach_group_policy(GroupName="turma", PolicyArn=arn["Policy"]["Arn"])
    iam.create_policy(PolicyName=f"telegram-{name}-limite", PolicyDocument=json.dumps(boundary_of(name)))
    iam.create_user(UserName=name)
    iam.add_user_to_group(GroupName="turma", UserName=name)
    return iam.create_access_key(UserName=name)["AccessKey"]


def as_student(key: dict, service: str):
    return boto3.client(
        service,
        endpoint_url=sandbox.env()["AWS_ENDPOINT_URL"],
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        aws_session_token=None,
    )


def owned(prefix: str) -> dict[str, bool]:
    """Which of a student's resources exist, seen by the account's administrator."""
    names = contract.names(prefix)
    buckets = {b["Name"] for b in admin("s3").list_buckets()["Buckets"]}
    functions = {f["FunctionName"] for f in admin("lambda").list_functions()["Functions"]}
    databases = {d["Name"] for d in admin("glue").get_databases()["DatabaseList"]}
    return {
        "bucket": names.bucket(ACCOUNT, REGION, "raw") in buckets,
        "function": names.ingestion_function in functions,
        "database": names.database in databases,
    }


def denied(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as refused:
        call(*args, **kwargs)
    return refused.value.response["Error"]["Code"]


def boundary_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:policy/telegram-{name}-limite"


def first_key(bucket: str) -> str:
    return admin("s3").list_objects_v2(Bucket=bucket, Prefix="telegram/")["Contents"][0]["Key"]


# What a student may deploy in place of the ingestion code (lambda:UpdateFunctionCode on their own function): list,
# read and delete in each bucket it is given, with the function's role.
RAIDER = """import boto3
from botocore.exceptions import ClientError

s3 = boto3.client("s3")


def lambda_handler(event, context):
    answers = {}
    for bucket, read, delete in event["targets"]:
        calls = {
            "list": lambda: s3.list_objects_v2(Bucket=bucket)["KeyCount"],
            "get": lambda: len(s3.get_object(Bucket=bucket, Key=read)["Body"].read()),
            "delete": lambda: s3.delete_object(Bucket=bucket, Key=delete) and "apagado",
        }
        for name, call in calls.items():
            try:
                answers[f"{name} {bucket}"] = call()
            except ClientError as error:
                answers[f"{name} {bucket}"] = error.response["Error"]["Code"]
    return answers
"""
EVERYTHING_IN_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


def raid_through_own_function(key: dict, mine: contract.Names, theirs: contract.Names) -> dict:
    """The student writes s3:* on * into their ingestion role's policy, deploys RAIDER as their function's code and
    invokes it on their own raw bucket and on the other's."""
    iam, lambda_ = as_student(key, "iam"), as_student(key, "lambda")
    iam.put_role_policy(
        RoleName=mine.ingestion_role,
        PolicyName=f"{mine.ingestion_role}-policy",
        PolicyDocument=json.dumps(EVERYTHING_IN_S3),
    )
    code = zip_files({"lambda_function.py": RAIDER})
    lambda_.update_function_code(FunctionName=mine.ingestion_function, ZipFile=code)
    lambda_.get_waiter("function_updated_v2").wait(FunctionName=mine.ingestion_function)
    own, other = mine.bucket(ACCOUNT, REGION, "raw"), theirs.bucket(ACCOUNT, REGION, "raw")
    targets = [[own, first_key(own), "telegram/nao-existe.json"], [other, first_key(other), first_key(other)]]
    answer = lambda_.invoke(FunctionName=mine.ingestion_function, Payload=json.dumps({"targets": targets}))
    return json.loads(answer["Payload"].read())


@pytest.mark.slow
def test_two_students_share_one_account_without_touching_each_others_resources(tmp_path, monkeypatch):
    with isolated_sandbox():
        # "aluna" is a prefix of "aluna2": the policy's `telegram-aluna-*` still reaches none of aluna2's names.
        students = {"aluna": enroll("aluna"), "aluna2": enroll("aluna2")}
        prefixes = {name: contract.student_prefix(name) for name in students}

        for name, key in students.items():
            run_as(key, TUTORIAL, tmp_path / name, monkeypatch, conta="compartilhada")
            printed = outputs(tmp_path / name / "02-ingestao-aws.ipynb")
            assert f"PREFIXO = '{prefixes[name]}'" in printed
            assert f"Bucket bruto: {prefixes[name]}-{ACCOUNT}-{REGION}-raw" in printed
            for notebook in TUTORIAL:
                assert "Tudo certo" in outputs(tmp_path / name / f"{notebook}.ipynb"), (name, notebook)
        everything = {"bucket": True, "function": True, "database": True}
        assert owned(prefixes["aluna"]) == owned(prefixes["aluna2"]) == everything

        # Each is denied the other's bucket, function and table, reading and deleting.
        for name, other in (("aluna", "aluna2"), ("aluna2", "aluna")):
            theirs = contract.names(prefixes[other])
            bucket = theirs.bucket(ACCOUNT, REGION, "raw")
            s3, lambda_, glue, iam, scheduler, logs = (
                as_student(students[name], service)
                for service in ("s3", "lambda", "glue", "iam", "scheduler", "logs")
            )
            assert denied(s3.list_objects_v2, Bucket=bucket) == "AccessDenied"
            assert denied(s3.get_object, Bucket=bucket, Key="telegram/x.json") == "AccessDenied"
            assert denied(s3.delete_bucket, Bucket=bucket) == "AccessDenied"
            assert (
                denied(lambda_.get_function, FunctionName=theirs.ingestion_function)
                == "AccessDeniedException"
            )
            assert (
                denied(lambda_.delete_function, FunctionName=theirs.ingestion_function)
                == "AccessDeniedException"
            )
            assert (
                denied(glue.get_table, DatabaseName=theirs.database, Name=contract.TABLE)
                == "AccessDeniedException"
            )
            assert denied(glue.delete_table, DatabaseName=theirs.database, Name=contract.TABLE) == (
                "AccessDeniedException"
            )
            # And the rest of what the policy names: roles, the schedule and the functions' logs.
            assert denied(
                iam.delete_role_policy, RoleName=theirs.etl_role, PolicyName=f"{theirs.etl_role}-policy"
            ) == ("AccessDenied")
            assert denied(scheduler.delete_schedule, Name=theirs.schedule) == "AccessDeniedException"
            log_group = contract.log_group(theirs.ingestion_function)
            assert denied(logs.delete_log_group, logGroupName=log_group) == "AccessDeniedException"

        # Nor through their own roles: each role the notebooks made carries the student's permissions boundary, which
        # the student can neither leave out, swap nor remove; a role policy of s3:* on * reaches only their names.
        for name, other in (("aluna", "aluna2"), ("aluna2", "aluna")):
            mine, theirs = contract.names(prefixes[name]), contract.names(prefixes[other])
            for role in mine.roles:
                described = admin("iam").get_role(RoleName=role)["Role"]
                assert described["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary_arn(name)
            their_key = first_key(theirs.bucket(ACCOUNT, REGION, "raw"))
            answers = raid_through_own_function(students[name], mine, theirs)
            own, their_bucket = mine.bucket(ACCOUNT, REGION, "raw"), theirs.bucket(ACCOUNT, REGION, "raw")
            assert answers[f"list {own}"] > 0 and answers[f"get {own}"] > 0
            assert answers[f"delete {own}"] == "apagado"
            assert {k: v for k, v in answers.items() if their_bucket in k} == {
                f"list {their_bucket}": "AccessDenied",
                f"get {their_bucket}": "AccessDenied",
                f"delete {their_bucket}": "AccessDenied",
            }
            assert first_key(their_bucket) == their_key  # nothing of theirs was deleted

            iam = as_student(students[name], "iam")
            trust = json.dumps({"Version": "2012-10-17", "Statement": []})
            extra = f"{mine.prefix}-livre-role"
            assert denied(iam.create_role, RoleName=extra, AssumeRolePolicyDocument=trust) == "AccessDenied"
            assert denied(
                iam.create_role,
                RoleName=extra,
                AssumeRolePolicyDocument=trust,
                PermissionsBoundary=boundary_arn(other),
            ) == ("AccessDenied")
            assert (
                denied(iam.delete_role_permissions_boundary, RoleName=mine.ingestion_role) == "AccessDenied"
            )
            assert denied(
                iam.put_role_permissions_boundary,
                RoleName=mine.ingestion_role,
                PermissionsBoundary="arn:aws:iam::aws:policy/AdministratorAccess",
            ) == ("AccessDenied")
            assert denied(
                iam.create_policy_version,
                PolicyArn=boundary_arn(name),
                PolicyDocument=json.dumps(EVERYTHING_IN_S3),
                SetAsDefault=True,
            ) == ("AccessDenied")

        # Teardown removes only one's own: aluna2's resources stay until aluna2 runs notebook 06.
        run_as(students["aluna"], ["06-limpeza"], tmp_path / "aluna", monkeypatch, conta="compartilhada")
        assert "Tudo limpo" in outputs(tmp_path / "aluna" / "06-limpeza.ipynb")
        assert not any(owned(prefixes["aluna"]).values())
        assert all(owned(prefixes["aluna2"]).values())
        aluna2 = contract.names(prefixes["aluna2"])
        assert admin("scheduler").get_schedule(Name=aluna2.schedule)["Name"] == aluna2.schedule
        assert admin("iam").get_role(RoleName=aluna2.etl_role)["Role"]["RoleName"] == aluna2.etl_role
        tables = admin("glue").get_tables(DatabaseName=contract.names(prefixes["aluna2"]).database)[
            "TableList"
        ]
        assert [table["Name"] for table in tables] == [contract.TABLE]

        run_as(students["aluna2"], ["06-limpeza"], tmp_path / "aluna2", monkeypatch, conta="compartilhada")
        assert "Tudo limpo" in outputs(tmp_path / "aluna2" / "06-limpeza.ipynb")
        assert not any(owned(prefixes["aluna2"]).values())
