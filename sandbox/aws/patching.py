"""How the sandbox changes moto: a member replaced by a function that receives the original, once per process.

`configure_moto` runs for every AwsSandbox (several in one test process): a second replacement around the first
would apply the sandbox's change twice. Two different changes to one member both apply, the later around the other.
"""

from __future__ import annotations


def replaces(owner, name: str):
    """Decorator: `owner.name` becomes the decorated function, called with the original first."""

    def decorate(function):
        original = getattr(owner, name)
        # Which changes the member already carries, by where they are defined (a new closure each install).
        applied = getattr(original, "_sandbox_replaced", frozenset())
        change = f"{function.__module__}.{function.__qualname__}"
        if change in applied:
            return original

        def replacement(*args, **kwargs):
            return function(original, *args, **kwargs)

        replacement._sandbox_replaced = applied | {change}
        replacement.__name__ = replacement.__qualname__ = function.__name__
        setattr(owner, name, replacement)
        return replacement

    return decorate
