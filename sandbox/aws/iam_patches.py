"""moto's IAM, STS and S3, changed so that the sandbox can evaluate every kind of policy AWS evaluates.

- Users get AWS-shaped unique ids ("AIDA" + 17 characters: IAM User Guide, "IAM identifiers", "Unique
  identifiers"), which `aws:userid` carries; moto makes them 20 lowercase characters.
- Users keep a permissions boundary: CreateUser's `PermissionsBoundary`, PutUserPermissionsBoundary and
  DeleteUserPermissionsBoundary (moto has neither operation: the sandbox answered 500), shown by GetUser.
- A role's boundary must exist: CreateRole and PutRolePermissionsBoundary with a policy that does not exist
  answer NoSuchEntity, as IAM does; moto kept the ARN, and the role's sessions were then allowed nothing.
- A role session keeps the managed session policies given to AssumeRole (`PolicyArns`) and its session tags;
  moto keeps only `Policy`.
- moto's own bucket-policy enforcement is off for signed requests: it applies a Deny to every caller (whoever it
  names), ignores an Allow, and answers 403 with an empty body. The sandbox evaluates bucket policies itself, as
  AWS does (sandbox.aws.authorization.resource_policies). Unsigned requests, which the sandbox leaves to moto
  (a program's `curl`), keep moto's own reading (`moto_judges_bucket_policies`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sandbox.aws.patching import replaces

_moto_judges = threading.local()  # set while moto serves an unsigned request (one request per thread)


@contextmanager
def moto_judges_bucket_policies() -> Iterator[None]:
    _moto_judges.active = True
    try:
        yield
    finally:
        _moto_judges.active = False


def install_iam_fidelity() -> None:
    _aws_shaped_user_ids()
    _user_permissions_boundaries()
    _role_boundaries_exist()
    _session_policy_arns()
    _no_moto_bucket_policy_enforcement()


def _aws_shaped_user_ids() -> None:
    from moto.iam.models import User

    @replaces(User, "__init__")
    def __init__(original, self, *args, **kwargs):
        original(self, *args, **kwargs)
        # The same random draws as before (same seed, same ids elsewhere), shaped as AWS's.
        self.id = "AIDA" + self.id[:17].upper()
        self.permissions_boundary_arn = None


def _user_permissions_boundaries() -> None:
    from moto.core.responses import EmptyResult
    from moto.core.serialize import never_return, return_if_not_empty
    from moto.iam.exceptions import NoSuchEntity, ValidationError
    from moto.iam.models import User
    from moto.iam.responses import IamResponse

    if not isinstance(getattr(User, "permissions_boundary", None), property):
        User.permissions_boundary = property(_boundary_shape)
    transforms = IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER
    transforms.setdefault("CreateUserResponse.User.PermissionsBoundary", return_if_not_empty)
    transforms.setdefault("GetUserResponse.User.PermissionsBoundary", return_if_not_empty)
    # ListUsers does not return a user's boundary (ListUsers API reference: "a subset of the available attributes").
    transforms.setdefault("ListUsersResponse.Users.User.PermissionsBoundary", never_return)

    def checked(backend, policy_arn: str) -> str:
        if not backend.policy_arn_regex.match(policy_arn):
            raise ValidationError(f"Value ({policy_arn}) for parameter PermissionsBoundary is invalid.")
        if policy_arn not in backend.managed_policies:
            raise NoSuchEntity(f"Policy {policy_arn} does not exist or is not attachable.")
        return policy_arn

    @replaces(IamResponse, "create_user")
    def create_user(original, self):
        boundary = self._get_param("PermissionsBoundary")
        if boundary:  # checked before the user is made: IAM refuses the whole call
            checked(self.backend, boundary)
        result = original(self)
        if boundary:
            self.backend.get_user(self._get_param("UserName")).permissions_boundary_arn = boundary
        return result

    def put_user_permissions_boundary(self):
        boundary = checked(self.backend, self._get_param("PermissionsBoundary") or "")
        self.backend.get_user(self._get_param("UserName")).permissions_boundary_arn = boundary
        return EmptyResult()

    def delete_user_permissions_boundary(self):
        self.backend.get_user(self._get_param("UserName")).permissions_boundary_arn = None
        return EmptyResult()

    IamResponse.put_user_permissions_boundary = put_user_permissions_boundary
    IamResponse.delete_user_permissions_boundary = delete_user_permissions_boundary


def _role_boundaries_exist() -> None:
    from moto.iam.exceptions import NoSuchEntity
    from moto.iam.responses import IamResponse

    def existing(self) -> None:
        boundary = self._get_param("PermissionsBoundary")
        # IAM's answer, as AWS gives it to `rosa create operator-roles --permissions-boundary` (openshift/rosa's
        # test cases) and to SAM deployments: "NoSuchEntity: Scope ARN: ARN does not exist or is not attachable."
        # A malformed ARN is left to moto's own ValidationError.
        if boundary and self.backend.policy_arn_regex.match(boundary):
            if boundary not in self.backend.managed_policies:
                raise NoSuchEntity(f"Scope ARN: {boundary} does not exist or is not attachable.")

    for name in ("create_role", "put_role_permissions_boundary"):

        @replaces(IamResponse, name)
        def checked(original, self):
            existing(self)  # before anything is made or changed: IAM refuses the whole call
            return original(self)


def _boundary_shape(user) -> dict[str, str] | None:
    arn = getattr(user, "permissions_boundary_arn", None)
    return (
        {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": arn}
        if arn
        else None
    )


def _session_policy_arns() -> None:
    from moto.sts.responses import TokenResponse

    @replaces(TokenResponse, "assume_role")
    def assume_role(original, self):
        result = original(self)
        arns = [
            entry.get("arn") for entry in self._get_params().get("PolicyArns", []) if isinstance(entry, dict)
        ]
        session = result.result["Credentials"]
        session.policy_arns = tuple(arn for arn in arns if arn)
        tags = self._get_params().get("Tags", [])
        session.session_tags = tuple(
            (str(tag["Key"]), str(tag.get("Value", "")))
            for tag in tags
            if isinstance(tag, dict) and "Key" in tag
        )
        return result


def _no_moto_bucket_policy_enforcement() -> None:
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    @replaces(FakeBucket, "get_permission")
    def get_permission(original, self, action, resource):
        if getattr(_moto_judges, "active", False):
            return original(self, action, resource)
        return PermissionResult.NEUTRAL
