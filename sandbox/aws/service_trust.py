"""Whether an AWS service may assume a role: the role's trust policy decides, as it does on AWS.

A service uses a role a caller passes it (a function's execution role, a schedule's) by assuming it with
sts:AssumeRole as the service principal. The trust policy is evaluated for that principal, with the keys a service
supplies when it acts for a resource of the account: aws:SourceAccount and aws:SourceArn (IAM User Guide, "The
confused deputy problem"; Scheduler User Guide, "Cross-service confused deputy prevention": its aws:SourceArn is the
schedule group's ARN). A missing role cannot be assumed either.
"""

from __future__ import annotations

import re

from sandbox.aws.authorization import _parsed, _role
from sandbox.aws.iam_policy import Check, Principal, authorize

ROLE_ARN = re.compile(r"^arn:aws:iam::(?P<account>\d{12}):role/.+$")
LAMBDA = "lambda.amazonaws.com"
SCHEDULER = "scheduler.amazonaws.com"
# Lambda's answer (400 InvalidParameterValueException) to CreateFunction, UpdateFunctionConfiguration and Invoke.
LAMBDA_CANNOT_ASSUME = "The role defined for the function cannot be assumed by Lambda."
# EventBridge Scheduler's answer (400 ValidationException) to CreateSchedule and UpdateSchedule.
SCHEDULER_CANNOT_ASSUME = (
    "The execution role you provide must allow AWS EventBridge Scheduler to assume the role."
)


def service_may_assume(role_arn: str, service: str, source_arn: str, account: str) -> bool:
    """Whether `service` may assume the role for the resource `source_arn` of `account`.

    A role ARN that names another account, or that is not a role ARN, is left to the service's own validation
    (moto answers it): True."""
    found = ROLE_ARN.match(role_arn or "")
    if found is None or found["account"] != account:
        return True
    role = _role(role_arn, account)
    if role is None:
        return False
    context = {
        "aws:SourceAccount": account,
        "aws:SourceArn": source_arn,
        "aws:PrincipalIsAWSService": "true",
        "aws:PrincipalServiceName": service,
    }
    check = Check("sts:AssumeRole", role.arn, context)
    principal = Principal(service, account, "service")
    trust = _parsed(role.assume_role_policy_document)
    return authorize(check, principal, [], resource=[trust]).allowed


def function_arn(name: str, region: str, account: str) -> str:
    """The unqualified ARN of a function named by name, ARN or partial ARN."""
    if name.startswith("arn:"):
        return ":".join(name.split(":")[:7])
    if ":function:" in name:
        return f"arn:aws:lambda:{region}:{':'.join(name.split(':')[:3])}"
    return f"arn:aws:lambda:{region}:{account}:function:{name.split(':')[0]}"


def schedule_group_arn(group: str | None, region: str, account: str) -> str:
    return f"arn:aws:scheduler:{region}:{account}:schedule-group/{group or 'default'}"
