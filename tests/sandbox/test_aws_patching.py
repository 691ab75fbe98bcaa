"""The sandbox's changes to moto apply once, however many sandboxes a process makes."""

from __future__ import annotations

import boto3
import botocore.hooks
import pytest

from sandbox.aws.moto_setup import share_botocore_event_caches
from sandbox.aws.patching import replaces


def test_a_member_replaced_twice_gets_the_change_once():
    class Backend:
        def answer(self, value):
            return [value]

    def install():
        @replaces(Backend, "answer")
        def answer(original, self, value):
            return [*original(self, value), "sandbox"]

    install()
    install()  # configure_moto again, for a second AwsSandbox in the same process
    assert Backend().answer(1) == [1, "sandbox"]
    assert Backend.answer.__name__ == "answer"


def test_two_changes_to_one_member_both_apply_once_each():
    # A second sandbox module changing a member moto already had changed used to be dropped without a word.
    class Backend:
        def answer(self, value):
            return [value]

    def install():
        @replaces(Backend, "answer")
        def tagged(original, self, value):
            return [*original(self, value), "tagged"]

        @replaces(Backend, "answer")
        def checked(original, self, value):
            return [*original(self, value), "checked"]

    install()
    install()
    assert Backend().answer(1) == [1, "tagged", "checked"]


class Stop(Exception):
    """Raised by a handler to end a call before it reaches the network."""


def test_sessions_sharing_botocore_event_caches_still_alias_names_and_refuse_handlers_without_kwargs():
    share_botocore_event_caches()  # the conftest already did: a second call changes nothing

    for _ in range(2):  # the second Session reads what the first one cached
        client = boto3.session.Session().client(
            "apigateway", region_name="sa-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        seen = []

        def stop(model, seen=seen, **kwargs):
            seen.append(model.name)
            raise Stop

        client.meta.events.register("before-call.apigateway", stop)  # botocore's old name for "api-gateway"
        with pytest.raises(Stop):
            client.get_rest_apis()
        assert seen == ["GetRestApis"]
        with pytest.raises(ValueError, match="kwargs"):
            client.meta.events.register("before-call.apigateway", lambda model: None)

    # An emitter with other aliases keeps a cache of its own.
    other = botocore.hooks.EventAliaser(botocore.hooks.HierarchicalEmitter(), {"apigateway": "elsewhere"})
    assert other._alias_event_name("before-call.apigateway") == "before-call.elsewhere"


SPEED_OFF_SCRIPT = """
import boto3, botocore.session
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from sandbox.server import SandboxServer
from sandbox.aws import moto_setup

server = SandboxServer(aws_port=0, with_telegram=False).start()
try:
    # No speed change is in: botocore makes a loader per session, moto looks each host up again.
    assert not hasattr(botocore.session.create_loader, "cache_info")
    assert not getattr(DomainDispatcherApplication.get_backend_for_host, "_sandbox_replaced", False)
    # Every fidelity change is: Athena answers REST and JSON 1.1 alike, a missing work group is an error.
    athena = boto3.client("athena", endpoint_url=server.aws.endpoint_url, region_name="sa-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    assert athena.get_work_group(WorkGroup="primary")["WorkGroup"]["Name"] == "primary"
    try:
        athena.get_work_group(WorkGroup="nenhum")
    except athena.exceptions.InvalidRequestException as error:
        print("ok:", error.response["Error"]["Message"])
finally:
    server.stop()
"""


def test_the_switch_leaves_out_every_speed_change_and_keeps_every_fidelity_one(tmp_path):
    """SANDBOX_SPEED_CHANGES=0: what a maintainer runs to rule the speed-only changes out after an upgrade."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    env |= {"SANDBOX_SPEED_CHANGES": "0", "SANDBOX_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", SPEED_OFF_SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ok: WorkGroup nenhum is not found." in done.stdout
