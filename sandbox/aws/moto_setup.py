"""moto, set up for the sandbox: its settings, and every change the sandbox makes to moto and botocore.

The changes are kept in one catalogue, in two kinds:
- FIDELITY: moto answers as AWS does, or serves what it lacks (a protocol AWS still accepts, a managed layer, ...).
- SPEED: the same answers, sooner (shared model loaders, cached lookups). `SANDBOX_SPEED_CHANGES=0` in the
  sandbox's environment leaves them all out: after an upgrade of moto or botocore, a maintainer who sees a
  difference can rule them out in one run.
Each change is applied once per process (sandbox.aws.patching.replaces), however many sandboxes start in it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sandbox import config
from sandbox.aws.patching import replaces
from sandbox.aws.protocol import OFFERED

SPEED_SWITCH = "SANDBOX_SPEED_CHANGES"

# moto's service modules (get_backend names) and server apps (URL dispatcher names) the tutorial uses.
SERVICES = OFFERED  # moto's get_backend names are botocore's, the services the protocol layer offers
# moto's Flask apps, one per endpoint: API Gateway v1 and v2 share apigateway.{region}.amazonaws.com, and moto names
# Lambda's app "awslambda" (moto/backend_index.py).
SERVICE_APPS = tuple(
    dict.fromkeys({"lambda": "awslambda", "apigatewayv2": "apigateway"}.get(name, name) for name in OFFERED)
)


def share_botocore_loaders() -> None:
    """One botocore loader (per data path, as botocore keys it) and one moto model loader for this process.

    moto makes new boto3 Sessions again and again (three at EC2's import, one per service model it loads), and
    `mock_aws` drops boto3's default session at every start (the tests); each new one parsed botocore's endpoint
    and model files anew: 0.75 s of every sandbox start, a third of tests/test_ingestion.py. The files depend
    only on the installed botocore, so one loader serves them all, as it serves all the clients of one Session."""
    import botocore.loaders
    import botocore.session
    import moto.core.loaders
    import moto.core.utils

    if not hasattr(botocore.session.create_loader, "cache_info"):
        botocore.session.create_loader = cache(botocore.loaders.create_loader)
        moto.core.utils.create_loader = cache(moto.core.loaders.create_loader)  # moto's models, same files


def share_botocore_event_caches() -> None:
    """Half of what a new boto3 Session and client cost (19 ms here) is botocore working out the same answers again:
    each event emitter starts with an empty cache of event-name aliases (7,500 names per Session and client), and
    each of the ~140 handlers it registers is checked with `inspect` for `**kwargs`. Both answers depend only on
    the name (for botocore's own aliases) and on the function, so one cache per process serves every Session."""
    import botocore.hooks

    aliases: dict[str, str] = {}
    checked: dict[Any, bool] = {}

    @replaces(botocore.hooks.EventAliaser, "__init__")
    def __init__(original, self, event_emitter, event_aliases=None):
        original(self, event_emitter, event_aliases)
        if self._event_aliases == botocore.hooks.EVENT_ALIASES:  # copies of a Session's emitter pass a copy
            self._alias_name_cache = aliases

    @replaces(botocore.hooks, "accepts_kwargs")
    def accepts_kwargs(original, func) -> bool:
        key = getattr(func, "__func__", func)  # a bound method takes what its function takes
        try:
            return checked[key]
        except KeyError:
            checked[key] = answer = bool(original(func))
            return answer
        except TypeError:  # an unhashable callable
            return bool(original(func))


def find_access_keys_without_creating_backends() -> None:
    """moto finds a request's account by looking for its access key in the IAM backend of every account and every
    partition, creating the missing ones; each new one parses AWS's 1,500 managed policies (0.1 s), so the first
    request after a start or a reset cost 0.6 s of CPU. A key can only be in a backend that exists: look there."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam import models

    def get_account_id_from(access_key: str) -> str:
        for account_id, account in list(models.iam_backends.items()):
            for backend in list(account.values()):
                if access_key in backend.access_keys:
                    return account_id
        return DEFAULT_ACCOUNT_ID

    models.get_account_id_from = get_account_id_from


def parse_managed_policies_once() -> None:
    """Every IAM backend moto creates (two at each start and reset) parsed the 1.3 MB of AWS's managed policies
    again (0.13 s). The parsed data is only read (each policy keeps its document as a string): parsed once here,
    the policies are then made exactly as before, with the same random ids in the same order."""
    from moto.iam import models

    parsed = cache(lambda: json.loads(models.aws_managed_policies_data))

    @replaces(models.IAMBackend, "_init_aws_policies")
    def _init_aws_policies(_original, self) -> list:
        if not models.load_iam_aws_managed_policies():
            return []
        return [
            models.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
            for name, data in parsed().items()
        ]


# ---- fidelity -------------------------------------------------------------------------------------------------
def athena_missing_work_group() -> None:
    """GetWorkGroup of a work group that does not exist: AWS answers InvalidRequestException ("WorkGroup NAME is
    not found.", as the sandbox's query actions say too); moto answers 200 with `{"WorkGroup": null}`."""
    from moto.athena.responses import AthenaResponse
    from moto.core.exceptions import JsonRESTError

    @replaces(AthenaResponse, "get_work_group")
    def get_work_group(original, self):
        name = self._get_param("WorkGroup")
        if self.athena_backend.get_work_group(name) is None:
            raise JsonRESTError("InvalidRequestException", f"WorkGroup {name} is not found.")
        return original(self)


def _lazy(module: str, function: str) -> Callable[[], None]:
    def install() -> None:
        import importlib

        getattr(importlib.import_module(module), function)()

    install.__name__ = function
    return install


@dataclass(frozen=True)
class Change:
    """One change to moto or botocore: what it is for, and the function that makes it."""

    name: str
    install: Callable[[], None]


FIDELITY: tuple[Change, ...] = (
    Change("Athena's JSON 1.1, retired from botocore's model, accepted again", _lazy(
        "sandbox.aws.protocol", "install_retired_protocols")),
    Change("GetWorkGroup of a missing work group is an error", athena_missing_work_group),
    Change("the AWS-managed AWSSDKPandas layer at its real ARNs", _lazy("sandbox.aws.layers", "install_managed_layers")),
    Change("HTTP API quick create (CreateApi with Target)", _lazy("sandbox.aws.quickcreate", "install_quick_create")),
    Change("ListObjectVersions goes on after a deleted marker", _lazy(
        "sandbox.aws.s3_versions", "install_version_listing")),
    Change("IAM user ids, user boundaries, session policy ARNs; bucket policies left to the sandbox", _lazy(
        "sandbox.aws.iam_patches", "install_iam_fidelity")),
    Change("inline and trust policies of Version 2008-10-17 or none accepted", _lazy(
        "sandbox.aws.iam_versions", "install_legacy_versions")),
    Change("trust policies validated at CreateRole too, and their principals", _lazy(
        "sandbox.aws.trust_policies", "install_trust_validation")),
    Change("GetPolicy answers the policy of the version or alias asked for", _lazy(
        "sandbox.aws.lambda_api", "install_qualified_policies")),
)  # fmt: skip
SPEED: tuple[Change, ...] = (
    Change("one botocore loader per process", share_botocore_loaders),
    Change("one botocore event-alias cache per process", share_botocore_event_caches),
    Change("moto's ISO timestamps read by the standard library", _lazy(
        "sandbox.aws.timestamps", "install_fast_timestamps")),
    Change("moto's service per host remembered", _lazy("sandbox.aws.dispatch", "install_backend_lookup_cache")),
    Change("access keys looked up in existing IAM backends only", find_access_keys_without_creating_backends),
    Change("AWS's managed IAM policies parsed once", parse_managed_policies_once),
)  # fmt: skip


def speed_changes_on() -> bool:
    return os.environ.get(SPEED_SWITCH, "1") != "0"


def configure_moto() -> None:
    """Settings moto reads once, and the catalogue's changes: must run before any backend is created."""
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    # moto wraps every service app in flask-cors (Access-Control-Allow-Origin: *), which would let any web
    # page read the answers; the flag is read at import, so the module's copy is switched off too.
    os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"
    from moto.moto_server import werkzeug_app

    werkzeug_app.DISABLE_GLOBAL_CORS = True
    from moto.core.config import default_user_config

    # The Docker-less Lambda backend; its echoing invoke is replaced by the sandbox's runner.
    default_user_config["lambda"]["use_docker"] = False
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    for change in FIDELITY + (SPEED if speed_changes_on() else ()):
        change.install()


def create_backends() -> None:
    """Create the region's backends now: their creation draws random ids, which must not shift seeded ones."""
    from moto.backends import get_backend

    for service in SERVICES:
        backends = get_backend(service)[config.ACCOUNT_ID]
        for region in (config.REGION, "global", "aws"):
            if region in backends.regions:
                backends[region]
                break


def seed_moto(seed: int) -> None:
    # moto draws resource ids (API ids, route ids, ...) from this generator: same seed, same ids.
    from moto.moto_api._internal import mock_random

    mock_random.seed(seed)
