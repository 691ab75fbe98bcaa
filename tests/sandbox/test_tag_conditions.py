"""Tag condition keys for Lambda functions and IAM roles and users: aws:ResourceTag/*, aws:RequestTag/*, aws:TagKeys.

Sources: IAM User Guide, "Controlling access to AWS resources using tags" (access_tags.html: aws:ResourceTag for the
resource's tags, aws:RequestTag and aws:TagKeys for the tags a request passes) and "Controlling access to IAM
principals" (access_iam-tags.html: roles and users, CreateRole/TagRole/UntagRole); Lambda Developer Guide, "Using
attribute-based access control in Lambda" (attribute-based-access-control.html: functions' aws:ResourceTag,
CreateFunction/TagResource/UntagResource's aws:RequestTag and aws:TagKeys).
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.sandbox.aws_fixtures import REGION, create_role, start_sandbox, stop_sandbox
from tutorial.harness import zip_files

ACCOUNT = "123456789012"
CODE = zip_files({"lambda_function.py": "def lambda_handler(event, context):\n    return 1\n"})


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    running = start_sandbox(tmp_path_factory.mktemp("tag-conditions"))
    yield running
    stop_sandbox(running)


def user(sandbox, name: str, *statements: dict):
    iam = sandbox.client("iam")
    iam.create_user(UserName=name)
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return lambda service: boto3.client(
        service,
        endpoint_url=sandbox.endpoint_url,
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )


def denied(call, **params) -> bool:
    try:
        call(**params)
    except ClientError as error:
        assert error.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException"), error.response
        return True
    return False


def function(sandbox, name: str, **tags) -> str:
    lam = sandbox.client("lambda")
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=create_role(sandbox),
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": CODE},
        Tags=tags,
    )["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return arn


def test_a_function_tag_decides_an_invocation(sandbox):
    function(sandbox, "da-equipe", equipe="dados")
    function(sandbox, "de-outra-equipe", equipe="web")
    function(sandbox, "sem-etiqueta")
    client = user(
        sandbox,
        "so-dados",
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/equipe": "dados"}},
        },
    )("lambda")
    assert not denied(client.invoke, FunctionName="da-equipe")
    assert denied(client.invoke, FunctionName="de-outra-equipe")
    assert denied(client.invoke, FunctionName="sem-etiqueta")  # no tag: the condition's key is absent


def test_request_tags_decide_create_function_and_tag_resource(sandbox):
    role = create_role(sandbox)
    client = user(
        sandbox,
        "cria-com-etiqueta",
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": role},
        {
            "Effect": "Allow",
            "Action": ["lambda:CreateFunction", "lambda:TagResource"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:RequestTag/equipe": "dados"},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["equipe", "custo"]},
            },
        },
        {
            "Effect": "Deny",
            "Action": "lambda:UntagResource",
            "Resource": "*",
            "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": "equipe"}},
        },
        {"Effect": "Allow", "Action": "lambda:UntagResource", "Resource": "*"},
    )("lambda")
    spec = dict(
        Runtime="python3.12", Role=role, Handler="lambda_function.lambda_handler", Code={"ZipFile": CODE}
    )
    assert denied(client.create_function, FunctionName="sem-tags", **spec)
    assert denied(client.create_function, FunctionName="web", Tags={"equipe": "web"}, **spec)
    assert denied(
        client.create_function, FunctionName="extra", Tags={"equipe": "dados", "dono": "eu"}, **spec
    )
    arn = client.create_function(FunctionName="dados", Tags={"equipe": "dados", "custo": "1"}, **spec)[
        "FunctionArn"
    ]
    assert denied(client.tag_resource, Resource=arn, Tags={"equipe": "web"})
    assert not denied(client.tag_resource, Resource=arn, Tags={"equipe": "dados", "custo": "2"})
    assert denied(client.untag_resource, Resource=arn, TagKeys=["equipe"])
    assert not denied(client.untag_resource, Resource=arn, TagKeys=["custo"])
    assert sandbox.client("lambda").list_tags(Resource=arn)["Tags"] == {"equipe": "dados"}


def test_a_role_tag_and_request_tags_decide_iam_calls(sandbox):
    iam = sandbox.client("iam")
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    iam.create_role(
        RoleName="papel-dados", AssumeRolePolicyDocument=trust, Tags=[{"Key": "equipe", "Value": "dados"}]
    )
    iam.create_role(
        RoleName="papel-web", AssumeRolePolicyDocument=trust, Tags=[{"Key": "equipe", "Value": "web"}]
    )
    client = user(
        sandbox,
        "gerente-de-papeis",
        {
            "Effect": "Allow",
            "Action": ["iam:GetRole", "iam:TagRole"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/equipe": "dados"}},
        },
        {
            "Effect": "Deny",
            "Action": "iam:TagRole",
            "Resource": "*",
            "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": "equipe"}},
        },
    )("iam")
    assert not denied(client.get_role, RoleName="papel-dados")
    assert denied(client.get_role, RoleName="papel-web")
    assert not denied(client.tag_role, RoleName="papel-dados", Tags=[{"Key": "custo", "Value": "1"}])
    assert denied(client.tag_role, RoleName="papel-dados", Tags=[{"Key": "equipe", "Value": "web"}])
    creator = user(
        sandbox,
        "criador-de-papeis",
        {
            "Effect": "Allow",
            "Action": ["iam:CreateRole", "iam:TagRole"],  # IAM may check TagRole too when tags are passed
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestTag/equipe": "dados"}},
        },
    )("iam")
    assert denied(creator.create_role, RoleName="sem-tags", AssumeRolePolicyDocument=trust)
    web = [{"Key": "equipe", "Value": "web"}]
    assert denied(creator.create_role, RoleName="novo-web", AssumeRolePolicyDocument=trust, Tags=web)
    tags = [{"Key": "equipe", "Value": "dados"}]
    assert not denied(creator.create_role, RoleName="novo-dados", AssumeRolePolicyDocument=trust, Tags=tags)
