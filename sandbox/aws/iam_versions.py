"""IAM accepts inline and trust policies written in the policy language's Version 2008-10-17, or with no Version.

moto refuses every policy without `"Version": "2012-10-17"` ("Policy document must be version 2012-10-17 or
greater."). IAM says so only of managed policies (CreatePolicy, CreatePolicyVersion: the error learners meet when
they paste a Version-less document into the console's policy editor, e.g. hashicorp/packer#3821,
Meteor-CollectionFS#630). An inline policy (PutUserPolicy, PutRolePolicy, PutGroupPolicy) or a role's trust policy
without a Version is stored (parliament#116: version-less inline policies in GetAccountAuthorizationDetails);
"IAM JSON policy elements: Version" lists both values as supported, 2008-10-17 only without policy variables,
which it reads as literal text (sandbox.aws.iam_policy does).
"""

from __future__ import annotations

import contextvars

from sandbox.aws.patching import replaces

# Set while moto validates an inline or trust policy (the validator itself does not know which kind it checks).
_LEGACY_VERSION_ACCEPTED = contextvars.ContextVar("legacy_policy_version_accepted", default=False)
INLINE_AND_TRUST = ("put_user_policy", "put_role_policy", "put_group_policy", "update_assume_role_policy")


def install_legacy_versions() -> None:
    from moto.iam import models, policy_validation

    for name in INLINE_AND_TRUST:
        _accept_legacy_during(models.IAMBackend, name)

    @replaces(policy_validation.BaseIAMPolicyValidator, "_validate_version")
    def _validate_version(original, self) -> None:
        # The syntax check already refused a Version other than 2008-10-17 and 2012-10-17.
        if not _LEGACY_VERSION_ACCEPTED.get():
            original(self)


def _accept_legacy_during(owner, name: str) -> None:
    @replaces(owner, name)
    def accepting(original, *args, **kwargs):
        token = _LEGACY_VERSION_ACCEPTED.set(True)
        try:
            return original(*args, **kwargs)
        finally:
            _LEGACY_VERSION_ACCEPTED.reset(token)
