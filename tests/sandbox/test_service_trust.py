"""A role's trust policy decides whether a service may use it: Lambda for a function's execution role, EventBridge
Scheduler for a schedule's. Each probe's expected answer cites where AWS's own answer is documented or quoted.
"""

from __future__ import annotations

import json

import pytest
import requests
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from sandbox.aws.lambda_api import split_qualifier, statements_for
from tests.sandbox.aws_fixtures import REGION, start_sandbox, stop_sandbox
from tutorial.harness import zip_files

ACCOUNT = "123456789012"
# Lambda's answer, as AWS sends it (quoted with its status and code in pdomala/LambdaCDDemo#1: "Status Code: 400;
# Error Code: InvalidParameterValueException"), for a role whose trust policy does not let lambda.amazonaws.com
# assume it; the Lambda Developer Guide, "Defining Lambda function permissions with an execution role"
# (lambda-intro-execution-role.html), shows the trust policy it needs.
LAMBDA_CANNOT_ASSUME = "The role defined for the function cannot be assumed by Lambda."
# EventBridge Scheduler's CreateSchedule answer for a role that does not trust scheduler.amazonaws.com (quoted from
# the console and API in openillumi.com's "fix EventBridge Scheduler AssumeRole error"; the tutorial's notebook 04
# already retries on it while a new role propagates). Scheduler User Guide, "Set up the execution role".
SCHEDULER_CANNOT_ASSUME = (
    "The execution role you provide must allow AWS EventBridge Scheduler to assume the role."
)


def trust(service: str, **condition) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    running = start_sandbox(tmp_path_factory.mktemp("service-trust"))
    yield running
    stop_sandbox(running)


def make_role(sandbox, name: str, document: str) -> str:
    return sandbox.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=document)["Role"]["Arn"]


CODE = zip_files({"lambda_function.py": "def lambda_handler(event, context):\n    return {'ok': True}\n"})


def create_function(sandbox, name: str, role: str):
    return sandbox.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": CODE},
    )


@pytest.mark.parametrize(
    "document",
    [
        trust("ec2.amazonaws.com"),  # a role made for another service
        trust("scheduler.amazonaws.com"),  # the tutorial's other role, passed by mistake
        json.dumps(  # trusts the account's users, not Lambda
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
        json.dumps(  # trusts Lambda, then denies it
            {
                "Version": "2012-10-17",
                "Statement": [
                    json.loads(trust("lambda.amazonaws.com"))["Statement"][0],
                    {
                        "Effect": "Deny",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    },
                ],
            }
        ),
        trust(
            "lambda.amazonaws.com", StringEquals={"aws:SourceAccount": "999999999999"}
        ),  # another account's
    ],
)
def test_create_function_with_a_role_lambda_cannot_assume_is_refused(sandbox, document):
    name = f"sem-confianca-{abs(hash(document)) % 10**8}"
    role = make_role(sandbox, name, document)
    with pytest.raises(ClientError) as raised:
        create_function(sandbox, name, role)
    error = raised.value.response
    assert error["Error"]["Code"] == "InvalidParameterValueException"
    assert error["Error"]["Message"] == LAMBDA_CANNOT_ASSUME
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError, match="ResourceNotFoundException"):  # nothing was made
        sandbox.client("lambda").get_function(FunctionName=name)


def test_a_trust_conditioned_on_the_account_lets_lambda_use_the_role(sandbox):
    """The confused-deputy condition AWS recommends (IAM User Guide, "The confused deputy problem") holds: the
    service assumes the role for a resource of this account."""
    role = make_role(
        sandbox, "com-conta", trust("lambda.amazonaws.com", StringEquals={"aws:SourceAccount": ACCOUNT})
    )
    assert create_function(sandbox, "com-conta", role)["Role"] == role


def test_update_function_configuration_checks_the_new_role(sandbox):
    good = make_role(sandbox, "atualizada-boa", trust("lambda.amazonaws.com"))
    bad = make_role(sandbox, "atualizada-ruim", trust("scheduler.amazonaws.com"))
    lam = sandbox.client("lambda")
    create_function(sandbox, "atualizada", good)
    lam.get_waiter("function_active_v2").wait(FunctionName="atualizada")
    with pytest.raises(ClientError) as raised:
        lam.update_function_configuration(FunctionName="atualizada", Role=bad)
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert raised.value.response["Error"]["Message"] == LAMBDA_CANNOT_ASSUME
    assert lam.get_function_configuration(FunctionName="atualizada")["Role"] == good
    # a change that names no role is not about the role
    lam.update_function_configuration(FunctionName="atualizada", Timeout=5)


def test_a_function_whose_role_no_longer_trusts_lambda_does_not_run(sandbox):
    """Lambda assumes the execution role for each new execution environment ("Defining Lambda function permissions
    with an execution role"); once the trust is gone, the invocation fails with the same answer as CreateFunction
    (as quoted at invocation time in alexcasalboni/aws-lambda-power-tuning#69), and the code never runs."""
    iam, lam = sandbox.client("iam"), sandbox.client("lambda")
    role = make_role(sandbox, "confianca-retirada", trust("lambda.amazonaws.com"))
    create_function(sandbox, "confianca-retirada", role)
    lam.get_waiter("function_active_v2").wait(FunctionName="confianca-retirada")
    assert json.loads(lam.invoke(FunctionName="confianca-retirada")["Payload"].read()) == {"ok": True}
    iam.update_assume_role_policy(RoleName="confianca-retirada", PolicyDocument=trust("ec2.amazonaws.com"))
    with pytest.raises(ClientError) as raised:
        lam.invoke(FunctionName="confianca-retirada")
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert raised.value.response["Error"]["Message"] == LAMBDA_CANNOT_ASSUME
    iam.update_assume_role_policy(RoleName="confianca-retirada", PolicyDocument=trust("lambda.amazonaws.com"))
    assert json.loads(lam.invoke(FunctionName="confianca-retirada")["Payload"].read()) == {"ok": True}


def test_a_function_whose_role_was_deleted_does_not_run(sandbox):
    iam, lam = sandbox.client("iam"), sandbox.client("lambda")
    role = make_role(sandbox, "papel-apagado", trust("lambda.amazonaws.com"))
    create_function(sandbox, "papel-apagado", role)
    lam.get_waiter("function_active_v2").wait(FunctionName="papel-apagado")
    iam.delete_role(RoleName="papel-apagado")
    with pytest.raises(ClientError) as raised:
        lam.invoke(FunctionName="papel-apagado")
    assert raised.value.response["Error"]["Message"] == LAMBDA_CANNOT_ASSUME


def schedule(name: str, role: str, target: str) -> dict:
    return dict(
        Name=name,
        ScheduleExpression="cron(0 5 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": target, "RoleArn": role},
    )


def test_create_schedule_with_a_role_scheduler_cannot_assume_is_refused(sandbox):
    target = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:com-conta"
    scheduler = sandbox.client("scheduler")
    for name, document in [
        ("agenda-lambda", trust("lambda.amazonaws.com")),
        (
            "agenda-outra-conta",
            trust("scheduler.amazonaws.com", StringEquals={"aws:SourceAccount": "999999999999"}),
        ),
    ]:
        role = make_role(sandbox, name, document)
        with pytest.raises(ClientError) as raised:
            scheduler.create_schedule(**schedule(name, role, target))
        assert raised.value.response["Error"]["Code"] == "ValidationException"
        assert raised.value.response["Error"]["Message"] == SCHEDULER_CANNOT_ASSUME
        with pytest.raises(ClientError, match="ResourceNotFoundException"):
            scheduler.get_schedule(Name=name)


def test_schedule_role_trusting_scheduler_for_this_account_is_accepted(sandbox):
    """The notebook's trust: scheduler.amazonaws.com with aws:SourceAccount (Scheduler User Guide, "Cross-service
    confused deputy prevention"). A role without lambda:InvokeFunction is accepted too: Scheduler calls the target
    with the role only when the schedule fires, and a refused call is a failed invocation, sent to the schedule's
    dead-letter queue (Scheduler User Guide, "Troubleshooting": "My schedule fails with target errors"). The sandbox
    never fires schedules.
    """
    target = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:com-conta"
    scheduler = sandbox.client("scheduler")
    role = make_role(
        sandbox, "agenda-boa", trust("scheduler.amazonaws.com", StringEquals={"aws:SourceAccount": ACCOUNT})
    )
    scheduler.create_schedule(**schedule("agenda-boa", role, target))
    bad = make_role(sandbox, "agenda-boa-trocada", trust("events.amazonaws.com"))
    with pytest.raises(ClientError) as raised:
        scheduler.update_schedule(**schedule("agenda-boa", bad, target))
    assert raised.value.response["Error"]["Message"] == SCHEDULER_CANNOT_ASSUME
    assert scheduler.get_schedule(Name="agenda-boa")["Target"]["RoleArn"] == role


# ---- trust policies are validated when the role is made ------------------------------------------------------
LAMBDA_TRUST = json.loads(trust("lambda.amazonaws.com"))["Statement"][0]


def document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        # "The passed in policy has a statement with no principals!" (CreateRole, 400, quoted in
        # terraform-aws-modules/terraform-aws-iam#47)
        (
            {"Effect": "Allow", "Action": "sts:AssumeRole"},
            "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: "
            "The passed in policy has a statement with no principals!",
        ),
        # a service principal IAM does not know: 'Invalid principal in policy: "SERVICE":"amazonaws.com"'
        # (aws-samples/aws-cdk-examples#801; hashicorp/terraform#35086), the key written upper-case
        (
            {**LAMBDA_TRUST, "Principal": {"Service": "amazonaws.com"}},
            'Invalid principal in policy: "SERVICE":"amazonaws.com"',
        ),
        # a role of this account that does not exist (aws-samples/aws-iam-access-key-auto-rotation#26;
        # IAM User Guide, "Troubleshoot IAM": the principal must exist when the policy is saved)
        (
            {**LAMBDA_TRUST, "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/nao-existe"}},
            f'Invalid principal in policy: "AWS":"arn:aws:iam::{ACCOUNT}:role/nao-existe"',
        ),
        # not an ARN, an account id nor "*" ("AWS JSON policy elements: Principal")
        ({**LAMBDA_TRUST, "Principal": {"AWS": "alice"}}, 'Invalid principal in policy: "AWS":"alice"'),
        ({**LAMBDA_TRUST, "Principal": {"User": "alice"}}, 'Invalid principal in policy: "USER":"alice"'),
        # a trust policy has no Resource (IAM User Guide, "IAM JSON policy elements: Resource": "IAM role trust
        # policies ... do not support the Resource element")
        ({**LAMBDA_TRUST, "Resource": "*"}, "Has prohibited field Resource."),
        # Effect is "Allow" or "Deny" ("IAM JSON policy grammar": <effect_block> = "Effect" : ("Allow" | "Deny"));
        # IAM's answer to "allow" is "The policy failed legacy parsing" (hashicorp/terraform#10057)
        ({**LAMBDA_TRUST, "Effect": "allow"}, "The policy failed legacy parsing"),
    ],
)
def test_create_role_refuses_a_malformed_trust_policy(sandbox, statement, message):
    iam = sandbox.client("iam")
    name = f"malformada-{abs(hash(message)) % 10**8}"
    with pytest.raises(ClientError) as raised:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=document(statement))
    error = raised.value.response
    assert (error["Error"]["Code"], error["Error"]["Message"]) == ("MalformedPolicyDocument", message)
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError, match="NoSuchEntity"):  # nothing was made
        iam.get_role(RoleName=name)
    make_role(sandbox, name, trust("lambda.amazonaws.com"))
    with pytest.raises(ClientError) as raised:  # the same rules when the trust policy changes
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=document(statement))
    assert raised.value.response["Error"]["Message"] == message


@pytest.mark.parametrize(
    "principal",
    [
        "*",
        {"AWS": "*"},
        {"AWS": ACCOUNT},
        {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        {"AWS": "arn:aws:iam::999999999999:role/de-outra-conta"},  # another account's: IAM cannot tell here
        {"AWS": f"arn:aws:iam::{ACCOUNT}:role/lambda-role-existente"},
        {"Service": ["lambda.amazonaws.com", "scheduler.amazonaws.com"]},
        {"Federated": "cognito-identity.amazonaws.com"},
    ],
)
def test_create_role_accepts_the_documented_principal_forms(sandbox, principal):
    iam = sandbox.client("iam")
    try:
        make_role(sandbox, "lambda-role-existente", trust("lambda.amazonaws.com"))
    except ClientError:
        pass  # made by an earlier case
    name = f"principal-{abs(hash(json.dumps(principal))) % 10**8}"
    iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=document({**LAMBDA_TRUST, "Principal": principal})
    )


@pytest.mark.parametrize("effect", ["allow", "DENY"])
def test_every_policy_iam_stores_takes_effect_allow_or_deny_exactly(sandbox, effect):
    """IAM policy grammar: "Effect" : ("Allow" | "Deny")."""
    iam = sandbox.client("iam")
    identity = document({"Effect": effect, "Action": "s3:GetObject", "Resource": "*"})
    iam.create_user(UserName=f"efeito-{effect}")
    calls = [
        lambda: iam.create_policy(PolicyName=f"efeito-{effect}", PolicyDocument=identity),
        lambda: iam.put_user_policy(UserName=f"efeito-{effect}", PolicyName="p", PolicyDocument=identity),
        lambda: iam.create_role(
            RoleName=f"efeito-{effect}", AssumeRolePolicyDocument=document({**LAMBDA_TRUST, "Effect": effect})
        ),
    ]
    for call in calls:
        with pytest.raises(ClientError) as raised:
            call()
        assert raised.value.response["Error"]["Message"] == "The policy failed legacy parsing"


# ---- function policies of a version or alias ------------------------------------------------------------------
# AddPermission API reference: "You can apply the policy at the function level, or specify a qualifier to restrict
# access to a single version or alias. If you use a qualifier, the invoker must use the full Amazon Resource Name
# (ARN) of that version or alias to invoke the function. Note: Lambda does not support adding policies to version
# $LATEST." (https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html)


def user_client(sandbox, name: str):
    import boto3

    iam = sandbox.client("iam")
    arn = iam.create_user(UserName=name)["User"][
        "Arn"
    ]  # no identity policy: only the function's policy grants
    key = iam.create_access_key(UserName=name)["AccessKey"]
    client = boto3.client(
        "lambda",
        endpoint_url=sandbox.endpoint_url,
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    return arn, client


def allowed(client, **invoke) -> bool:
    try:
        client.invoke(**invoke)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDeniedException", error.response
        return False
    return True


@pytest.fixture(scope="module")
def published(sandbox) -> str:
    """A function with version 1, alias "prod" on version 1 and alias "dev" on $LATEST."""
    lam = sandbox.client("lambda")
    role = make_role(sandbox, "qualificada", trust("lambda.amazonaws.com"))
    create_function(sandbox, "qualificada", role)
    lam.get_waiter("function_active_v2").wait(FunctionName="qualificada")
    version = lam.publish_version(FunctionName="qualificada")["Version"]
    lam.create_alias(FunctionName="qualificada", Name="prod", FunctionVersion=version)
    lam.create_alias(FunctionName="qualificada", Name="dev", FunctionVersion="$LATEST")
    return "qualificada"


@pytest.mark.parametrize("qualifier", ["prod", "dev", "1"])
def test_a_permission_added_with_a_qualifier_grants_that_qualifier_only(sandbox, published, qualifier):
    arn, client = user_client(sandbox, f"invocador-{qualifier}")
    sandbox.client("lambda").add_permission(
        FunctionName=published,
        StatementId=f"so-{qualifier}",
        Action="lambda:InvokeFunction",
        Principal=arn,
        Qualifier=qualifier,
    )
    assert allowed(client, FunctionName=published, Qualifier=qualifier)
    assert allowed(client, FunctionName=f"{published}:{qualifier}")
    assert not allowed(client, FunctionName=published)  # the unqualified function
    for other in {"prod", "dev", "1"} - {qualifier}:
        assert not allowed(client, FunctionName=published, Qualifier=other)


def test_a_permission_on_the_function_does_not_grant_its_versions_or_aliases(sandbox, published):
    arn, client = user_client(sandbox, "invocador-funcao")
    sandbox.client("lambda").add_permission(
        FunctionName=published, StatementId="funcao", Action="lambda:InvokeFunction", Principal=arn
    )
    assert allowed(client, FunctionName=published)
    for qualifier in ("prod", "dev", "1"):
        assert not allowed(client, FunctionName=published, Qualifier=qualifier)


def test_get_policy_with_a_qualifier_shows_that_qualifier_policy(sandbox, published):
    lam = sandbox.client("lambda")
    lam.add_permission(
        FunctionName=published,
        StatementId="so-prod-s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        Qualifier="prod",
    )
    prod = json.loads(lam.get_policy(FunctionName=published, Qualifier="prod")["Policy"])["Statement"]
    assert "so-prod-s3" in {statement["Sid"] for statement in prod}
    assert all(statement["Resource"].endswith(":qualificada:prod") for statement in prod)
    version = lam.get_policy(FunctionName=published, Qualifier="1")
    assert "so-prod-s3" not in version["Policy"]
    unqualified = lam.get_policy(FunctionName=published)
    assert "so-prod-s3" not in unqualified["Policy"]


def test_add_permission_for_latest_is_refused(sandbox, published):
    """AddPermission API reference: "Lambda does not support adding policies to version $LATEST"; its answer is
    400 InvalidParameterValueException "We currently do not support adding policies for $LATEST." (quoted in
    terraform-aws-modules/terraform-aws-lambda#36)."""
    lam = sandbox.client("lambda")
    with pytest.raises(ClientError) as raised:
        lam.add_permission(
            FunctionName=published,
            StatementId="latest",
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            Qualifier="$LATEST",
        )
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "InvalidParameterValueException"
    assert error["Error"]["Message"] == "We currently do not support adding policies for $LATEST."
    try:
        statements = json.loads(lam.get_policy(FunctionName=published)["Policy"])["Statement"]
    except lam.exceptions.ResourceNotFoundException:
        statements = []
    assert "latest" not in {statement["Sid"] for statement in statements}


# ---- through API Gateway ---------------------------------------------------------------------------------------
def http_api_for(sandbox, function_arn: str, name: str) -> str:
    """An HTTP API whose POST /webhook goes to the function; API Gateway may invoke it (unqualified)."""
    gateway = sandbox.client("apigatewayv2")
    api_id = gateway.create_api(Name=name, ProtocolType="HTTP")["ApiId"]
    integration = gateway.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=function_arn, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    gateway.create_route(ApiId=api_id, RouteKey="POST /webhook", Target=f"integrations/{integration}")
    gateway.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    return api_id


def post(sandbox, api_id: str) -> requests.Response:
    host = f"{api_id}.execute-api.{REGION}.amazonaws.com"
    return requests.post(f"{sandbox.endpoint_url}/_sandbox/execute-api/{host}/webhook", json={}, timeout=30)


def test_api_gateway_cannot_run_a_function_whose_role_lost_lambda_trust(sandbox):
    """API Gateway answers 500 when Lambda refuses the invocation (API Gateway Developer Guide, "Lambda proxy
    integration": an error from Lambda is an "Internal server error")."""
    role = make_role(sandbox, "gateway-papel", trust("lambda.amazonaws.com"))
    arn = create_function(sandbox, "gateway-papel", role)["FunctionArn"]
    sandbox.client("lambda").get_waiter("function_active_v2").wait(FunctionName="gateway-papel")
    api_id = http_api_for(sandbox, arn, "gateway-papel")
    sandbox.client("lambda").add_permission(
        FunctionName="gateway-papel",
        StatementId="apigateway",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/*/webhook",
    )
    assert post(sandbox, api_id).status_code == 200
    sandbox.client("iam").update_assume_role_policy(
        RoleName="gateway-papel", PolicyDocument=trust("ec2.amazonaws.com")
    )
    assert post(sandbox, api_id).status_code == 500


def test_api_gateway_permission_on_an_alias_does_not_open_the_function(sandbox, published):
    arn = sandbox.client("lambda").get_function(FunctionName=published)["Configuration"]["FunctionArn"]
    api_id = http_api_for(sandbox, arn, "so-o-alias")
    source = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/*/webhook"
    sandbox.client("lambda").add_permission(
        FunctionName=published,
        StatementId=f"apigateway-{api_id}",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=source,
        Qualifier="prod",
    )
    assert post(sandbox, api_id).status_code == 500  # the integration names the unqualified function


# ---- invariants ------------------------------------------------------------------------------------------------
NAMES = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
QUALIFIERS = st.one_of(
    st.none(), st.just("$LATEST"), st.from_regex(r"[1-9][0-9]{0,3}|[a-z][a-z0-9_-]{0,20}", fullmatch=True)
)


@given(name=NAMES, qualifier=QUALIFIERS)
def test_every_way_of_naming_a_qualified_function_finds_the_same_policy(name, qualifier):
    """Name, partial ARN and ARN, with the qualifier appended or given apart, all name one policy; $LATEST is the
    function's own (Invoke and AddPermission's "Name formats")."""
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    partial = f"{ACCOUNT}:function:{name}"
    wanted = None if qualifier in (None, "$LATEST") else qualifier
    suffix = f":{qualifier}" if qualifier else ""
    for base in (name, partial, arn):
        assert split_qualifier(base + suffix) == (base, wanted)
        assert split_qualifier(base, qualifier) == (base, wanted)
    statements = [
        {"Sid": "f", "Resource": arn},
        {"Sid": "q", "Resource": f"{arn}:{wanted}"} if wanted else {"Sid": "g", "Resource": arn},
    ]
    found = statements_for(statements, wanted)
    assert found and all(
        statement["Resource"] == arn + (f":{wanted}" if wanted else "") for statement in found
    )
