"""IAM validates a role's trust policy when it stores it: at CreateRole as at UpdateAssumeRolePolicy.

moto validates only UpdateAssumeRolePolicy, and never the Principal element. IAM answers MalformedPolicyDocument:
- to a statement without a principal: "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException:
  The passed in policy has a statement with no principals!" (CreateRole, quoted in
  terraform-aws-modules/terraform-aws-iam#47);
- to a principal it does not know: 'Invalid principal in policy: "SERVICE":"amazonaws.com"', the element's key in
  upper case (aws-samples/aws-cdk-examples#801, hashicorp/terraform#35086), and 'Invalid principal in policy:
  "AWS":"arn:aws:iam::ACCOUNT:role/NAME"' for a role of the account that does not exist
  (aws-samples/aws-iam-access-key-auto-rotation#26). "AWS JSON policy elements: Principal" lists the forms: "*",
  {"AWS": "*" | account id | ARN}, {"Service": ...}, {"Federated": ...};
- to a Resource, an Effect other than "Allow" or "Deny", an action STS does not have: moto's own validator, now
  run at CreateRole too ("The policy failed legacy parsing" for "allow": hashicorp/terraform#10057).

Service principals are checked by their shape only (NAME.amazonaws.com): the sandbox has no list of AWS's services.
A user or role ARN of another account is accepted: the sandbox cannot know whether it exists.
"""

from __future__ import annotations

import json
import re

from sandbox.aws.patching import replaces

NO_PRINCIPALS = (
    "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: "
    "The passed in policy has a statement with no principals!"
)
SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com(\.cn)?$")
ACCOUNT_ID = re.compile(r"^\d{12}$")
IAM_PRINCIPAL_ARN = re.compile(
    r"^arn:aws:(?:iam::(?P<account>\d{12}):(?:root|(?P<kind>user|role)/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]+))"
    r"|sts::\d{12}:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+)$"
)


def install_trust_validation() -> None:
    from moto.iam import models
    from moto.iam.policy_validation import IAMTrustPolicyDocumentValidator

    from sandbox.aws.iam_versions import _LEGACY_VERSION_ACCEPTED

    @replaces(IAMTrustPolicyDocumentValidator, "validate")
    def validate(original, self):
        original(self)
        from moto.iam.models import iam_backends

        from sandbox import config

        check_principals(iam_backends[config.ACCOUNT_ID]["aws"], self._policy_document)

    @replaces(models.IAMBackend, "create_role")
    def create_role(original, self, role_name, assume_role_policy_document, *args, **kwargs):
        token = _LEGACY_VERSION_ACCEPTED.set(True)  # a trust policy may have Version 2008-10-17 or none
        try:
            IAMTrustPolicyDocumentValidator(assume_role_policy_document).validate()
        finally:
            _LEGACY_VERSION_ACCEPTED.reset(token)
        return original(self, role_name, assume_role_policy_document, *args, **kwargs)


def check_principals(backend, document: str) -> None:
    """Raise MalformedPolicyDocument, as IAM does, for a statement without a principal or with one IAM refuses."""
    from moto.iam.exceptions import MalformedPolicyDocument

    statements = json.loads(document).get("Statement", [])
    for statement in [statements] if isinstance(statements, dict) else statements:
        if "Principal" not in statement and "NotPrincipal" not in statement:
            raise MalformedPolicyDocument(NO_PRINCIPALS)
        element = statement.get("Principal", statement.get("NotPrincipal"))
        if element == "*":
            continue
        if not isinstance(element, dict) or not element:
            raise MalformedPolicyDocument("Invalid principal in policy")
        for kind, values in element.items():
            for value in (
                [values] if isinstance(values, str) else values if isinstance(values, list) else [values]
            ):
                if not _known(backend, kind, value):
                    raise MalformedPolicyDocument(f'Invalid principal in policy: "{kind.upper()}":"{value}"')


def _known(backend, kind: str, value) -> bool:
    if not isinstance(value, str):
        return False
    if kind == "Service":
        return bool(SERVICE_PRINCIPAL.match(value))
    if kind == "Federated":
        return bool(
            value
        )  # an identity provider's name or ARN: IAM checks it against the account's providers
    if kind != "AWS":
        return False
    if value == "*" or ACCOUNT_ID.match(value):
        return True
    found = IAM_PRINCIPAL_ARN.match(value)
    if found is None:
        return False
    if found["kind"] is None or found["account"] != backend.account_id:
        return True  # an account root, a session, or another account's user or role
    if found["kind"] == "user":
        return found["name"] in backend.users
    return any(role.name == found["name"] for role in backend.roles.values())
