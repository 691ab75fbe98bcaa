"""The sandbox's changes to moto apply once, however many sandboxes a process makes."""

from __future__ import annotations

import boto3
import botocore.hooks
import pytest

from sandbox.aws.app import share_botocore_event_caches
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
