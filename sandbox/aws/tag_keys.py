"""The tag condition keys of a request on a Lambda function or an IAM role or user, which ABAC policies test.

- aws:ResourceTag/KEY: a tag of the function, role or user the check is about (IAM User Guide, "Controlling access
  to AWS resources using tags"; Lambda Developer Guide, "Using attribute-based access control in Lambda"). A
  version's or alias's ARN carries its function's tags.
- aws:RequestTag/KEY and aws:TagKeys: the tags a CreateFunction, TagResource, CreateRole, TagRole, CreateUser or
  TagUser passes, and the keys an UntagResource, UntagRole or UntagUser removes ("Controlling access during AWS
  requests"); only on the check of the operation itself.
"""

from __future__ import annotations

import dataclasses
import re

from sandbox.aws.iam_policy import Check

FUNCTION_ARN = re.compile(
    r"^arn:aws:lambda:(?P<region>[\w-]+):(?P<account>\d{12}):function:(?P<name>[^:]+)(?::.+)?$"
)
IAM_ARN = re.compile(r"^arn:aws:iam::(?P<account>\d{12}):(?P<kind>role|user)/(?:.*/)?(?P<name>[^/]+)$")
LAMBDA_TAGGING = {"CreateFunction", "TagResource", "UntagResource"}
IAM_TAGGING = {"CreateRole", "TagRole", "UntagRole", "CreateUser", "TagUser", "UntagUser"}


def with_tag_keys(
    checks: list[Check], service: str, operation: str, params: dict, account: str
) -> list[Check]:
    """The checks with the tag keys of their resource, and the request's tag keys on the operation's own check."""
    request = _request_tags(service, operation, params)
    action = f"{service}:{operation}"
    result = []
    for check in checks:
        context = dict(_resource_tags(check.resource, account))
        if request is not None and check.action == action:
            context.update(request)
        result.append(dataclasses.replace(check, context={**context, **check.context}) if context else check)
    return result


def _request_tags(service: str, operation: str, params: dict) -> dict | None:
    if service == "lambda" and operation in LAMBDA_TAGGING:
        if operation == "UntagResource":
            return _keys(params.get("TagKeys"))
        tags = params.get("Tags")
        return _tags(tags.items() if isinstance(tags, dict) else [])
    if service == "iam" and operation in IAM_TAGGING:
        if operation.startswith("Untag"):
            return _keys(_members(params, "TagKeys"))
        pairs = []
        for index in range(1, 51):
            key = params.get(f"Tags.member.{index}.Key")
            if key is None:
                break
            pairs.append((key, params.get(f"Tags.member.{index}.Value", "")))
        return _tags(pairs)
    return None


def _tags(pairs) -> dict:
    pairs = [(str(key), str(value)) for key, value in pairs]
    context: dict = {f"aws:RequestTag/{key}": value for key, value in pairs}
    if pairs:
        context["aws:TagKeys"] = [key for key, _ in pairs]
    return context


def _keys(keys) -> dict:
    keys = [str(key) for key in keys] if isinstance(keys, list) else []
    return {"aws:TagKeys": keys} if keys else {}


def _members(params: dict, name: str) -> list[str]:
    values = []
    for index in range(1, 51):
        value = params.get(f"{name}.member.{index}")
        if value is None:
            break
        values.append(value)
    return values


def _resource_tags(resource: str, account: str) -> dict[str, str]:
    found = FUNCTION_ARN.match(resource)
    if found is not None and found["account"] == account:
        return {
            f"aws:ResourceTag/{key}": value
            for key, value in _function_tags(found["region"], found["name"], account)
        }
    found = IAM_ARN.match(resource)
    if found is not None and found["account"] == account:
        return {
            f"aws:ResourceTag/{key}": value
            for key, value in _principal_tags(found["kind"], found["name"], account)
        }
    return {}


def _function_tags(region: str, name: str, account: str) -> list[tuple[str, str]]:
    from moto.awslambda.utils import get_backend
    from moto.core.exceptions import ServiceException, _RESTError

    try:
        tags = get_backend(account, region).get_function(name).tags
    except (ServiceException, _RESTError):
        return []
    return [(str(key), str(value)) for key, value in (tags or {}).items()]


def _principal_tags(kind: str, name: str, account: str) -> list[tuple[str, str]]:
    from sandbox.aws.authorization import _entity, _iam, _tag_pairs

    entity = _entity(kind, name, account)
    if entity is None:
        return []
    if kind == "user":
        return _tag_pairs(_iam(account).list_user_tags(name))
    return _tag_pairs(getattr(entity, "tags", None))
