"""The sandbox's changes to moto apply once, however many sandboxes a process makes."""

from __future__ import annotations

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
