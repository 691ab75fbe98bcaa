"""How the sandbox changes moto: a member replaced by a function that receives the original, once per process.

`configure_moto` runs for every AwsSandbox (several in one test process): a second replacement around the first
would apply the sandbox's change twice.
"""

from __future__ import annotations


def replaces(owner, name: str):
    """Decorator: `owner.name` becomes the decorated function, called with the original first."""

    def decorate(function):
        original = getattr(owner, name)
        if getattr(original, "_sandbox_replaced", False):
            return original

        def replacement(*args, **kwargs):
            return function(original, *args, **kwargs)

        replacement._sandbox_replaced = True
        replacement.__name__ = replacement.__qualname__ = function.__name__
        setattr(owner, name, replacement)
        return replacement

    return decorate
