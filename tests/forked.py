"""Jupyter kernels and sandbox servers for the test suite, forked from processes that have imported their libraries.

The suite runs notebooks about a hundred times (nbval, the cold and out-of-order runs, the catch-up inside
kernels, the demo, JupyterLab) and starts about forty sandbox servers. Each kernel spent 0.7 s of CPU starting
ipykernel, and 1.5 s more importing pandas, matplotlib and boto3, before running a single cell; each sandbox
server spent 1 s importing moto, Flask, DuckDB and pandas. Here one server per kind imports them once and forks
a process per request: the same program, with the launcher's arguments, environment, folder and standard streams.

What a module reads of its surroundings when imported is set up as the real process would have it: pandas chooses
its column limit by whether it is imported inside a kernel (preloaded as a plain script, it cut frames to a
terminal's width), matplotlib its backend from MPLBACKEND, which ipykernel sets, moto its settings from MOTO_*
variables, which the sandbox sets before importing it. A sandbox server's own modules (`sandbox.*`, whose
configuration is read at import from SANDBOX_* variables) are imported by each fork, never by the server.

- `python tests/forked.py KIND serve SOCKET` is the server of a kind (tests/conftest.py starts one of each per
  test session). The sandbox kind's command line holds the words `sandbox` and `serve`, which is how
  `python -m sandbox down` recognizes a sandbox process: its forks are ones.
- A launcher hands its arguments, environment, folder and standard streams to the server, forwards signals
  (interrupt, terminate) to the forked process and exits with its status. Kernels: the kernelspec conftest
  writes runs `python tests/forked.py kernel -f {connection_file}` (the server's socket is in the environment).
  Sandboxes: `sandbox.SERVER_COMMAND` becomes `python tests/forked.py sandbox launch SOCKET`, followed by the
  server's own arguments (the socket is an argument: a server's environment is an allowlist that leaves it out).
- When the server cannot be reached, or the environment asks for what the server's imports already fixed
  (PYTHON*, IPYTHON*, MPL* or PANDAS* settings for kernels; PYTHON* and moto's settings for sandboxes), the
  launcher becomes the ordinary process instead (`python -m ipykernel_launcher`, `python -m sandbox serve`).

Learners' kernels and sandboxes are never forked: only the suite's environment names these commands.
"""

from __future__ import annotations

import array
import gc
import json
import os
import signal
import socket
import sys
from pathlib import Path

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


class Kernels:
    """ipykernel, with what the notebooks import."""

    socket_variable = "FORKED_KERNELS_SOCKET"
    # Settings read once, when the server imported its modules: a kernel that wants other values starts afresh.
    fixed_at_import = ("PYTHON", "IPYTHON", "MPL", "PANDAS")
    # The backend ipykernel sets when MPLBACKEND is unset.
    inline = "module://matplotlib_inline.backend_inline"

    @classmethod
    def fixed(cls, environment: dict[str, str]) -> dict[str, str]:
        fixed = {name: value for name, value in environment.items() if name.startswith(cls.fixed_at_import)}
        fixed.setdefault("MPLBACKEND", cls.inline)
        return fixed

    @staticmethod
    def ordinary(arguments: list[str]) -> list[str]:
        return [sys.executable, "-m", "ipykernel_launcher", *arguments]

    # The services the notebooks and their setup cell make clients for: their models are read once, here.
    services = ("s3", "iam", "sts", "lambda", "apigatewayv2", "logs", "glue", "athena", "scheduler", "ssm")

    @classmethod
    def preload(cls) -> None:
        import builtins

        import boto3  # noqa: F401 - what the notebooks import, ready in every kernel forked below
        import ipykernel.ipkernel  # noqa: F401
        import ipykernel.kernelapp  # noqa: F401
        import requests  # noqa: F401

        # debugpy, which ipykernel imports as each kernel starts (0.15 s); without this variable, its warning that
        # Python runs with frozen modules would land in the test run's output (a kernel's goes to its log).
        os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        import ipykernel.debugger  # noqa: F401

        del os.environ["PYDEVD_DISABLE_FILE_VALIDATION"]
        # Each boto3.client of a fresh kernel read botocore's JSON models again. No Session is kept: the default
        # one reads the kernel's own environment when a cell first makes a client.
        warm = _shared_botocore_loader()
        for service in cls.services:
            warm.get_service_model(service)
        warm.get_component("endpoint_resolver")

        os.environ.setdefault("MPLBACKEND", cls.inline)
        import matplotlib.pyplot  # noqa: F401

        builtins.get_ipython = _KernelShell  # how pandas tells a kernel from a terminal, while it is imported
        import pandas  # noqa: F401

        del builtins.get_ipython

    @staticmethod
    def run(request: dict) -> None:
        """Become `python -m ipykernel_launcher ARGS`."""
        import numpy

        numpy.random.seed()
        sys.argv = ["ipykernel_launcher", *request["argv"]]
        # ipykernel read JPY_PARENT_PID at import, in the server: given as its option.
        if request["env"].get("JPY_PARENT_PID"):
            sys.argv.append(f"--IPKernelApp.parent_handle={request['env']['JPY_PARENT_PID']}")
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()


class Sandboxes:
    """`python -m sandbox serve`, with moto and the libraries of the sandbox's Athena."""

    socket_variable = "FORKED_SANDBOXES_SOCKET"
    # Python's own settings, and moto's (read when moto is imported: sandbox/aws/moto_setup.py sets two of them first).
    fixed_at_import = (
        "PYTHON",
        "MOTO_",
        "TEST_",
        "TESTS_",
        "INITIAL_NO_AUTH",
        "S3_",
        "DEFAULT_CONTAINER",
        "SF_",
    )
    configured = {"MOTO_IAM_LOAD_MANAGED_POLICIES": "true", "MOTO_DISABLE_GLOBAL_CORS": "true"}
    # moto's services the sandbox loads at start (sandbox/aws/moto_setup.py's SERVICE_APPS) and the HTTP APIs', by package.
    services = (
        *("s3", "iam", "sts", "awslambda", "apigateway", "apigatewayv2"),
        *("events", "scheduler", "glue", "athena", "logs", "ssm"),
    )

    @classmethod
    def fixed(cls, environment: dict[str, str]) -> dict[str, str]:
        fixed = {name: value for name, value in environment.items() if name.startswith(cls.fixed_at_import)}
        return fixed | cls.configured

    @staticmethod
    def ordinary(arguments: list[str]) -> list[str]:
        return [sys.executable, "-m", "sandbox", "serve", *arguments]

    @classmethod
    def preload(cls) -> None:
        import functools
        import importlib

        sys.modules.setdefault("rfc3987_syntax", None)  # as sandbox/server.py does before moto loads
        os.environ.update(cls.configured)
        # Filled below with the endpoint data and the models moto reads as a server creates its backends (0.35 s of
        # each start); the server's share_botocore_loaders() keeps these loaders, moto's included.
        warm = _shared_botocore_loader()
        import moto.core.loaders
        import moto.core.utils
        import moto.moto_server.werkzeug_app  # noqa: F401
        from moto.core.routing import get_service_router
        from werkzeug.exceptions import NotFound

        moto.core.utils.create_loader = functools.cache(moto.core.loaders.create_loader)
        for service in cls.services:
            importlib.import_module(f"moto.{service}.urls")
        warm.get_available_partitions()
        for service in cls.services:
            name = "lambda" if service == "awslambda" else service
            warm.get_available_regions(name)
            # The service's model and the URL map moto builds at its first request, both cached for the process:
            # 0.2 s of each server's first requests to S3, Lambda, API Gateway, Logs and IAM.
            router = get_service_router(name)
            model = router._service_model
            for protocol in model.metadata.get("protocols", [model.protocol]):
                try:
                    router._get_router(protocol)
                except NotFound:  # a protocol moto routes no other way
                    pass
        import duckdb  # noqa: F401
        import pandas  # noqa: F401
        import pyarrow.parquet  # noqa: F401
        import sqlglot  # noqa: F401

    @staticmethod
    def run(request: dict) -> None:
        """Become `python -m sandbox serve ARGS`, which starts with its folder first on the path."""
        import runpy

        sys.path.insert(0, request["cwd"])
        sys.argv = ["-m", "serve", *request["argv"]]
        runpy.run_module("sandbox", run_name="__main__", alter_sys=True)


KINDS = {"kernel": Kernels, "sandbox": Sandboxes}


def _shared_botocore_loader():
    """One botocore loader for every Session of this process, as sandbox/aws/moto_setup.py's share_botocore_loaders()
    makes it (this server cannot import it: `sandbox.*` reads SANDBOX_* at import). botocore reads its JSON files
    per Session otherwise. Returns a Session to fill the loader through."""
    import functools

    import botocore.loaders
    import botocore.session

    botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)
    return botocore.session.Session()


class _KernelShell:
    kernel = True  # IPython's shell inside ipykernel has one


def kernelspec(folder: Path) -> Path:
    """Write a `python3` kernelspec that starts forked kernels; put `folder` first in JUPYTER_PATH to use it."""
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, str(Path(__file__).resolve()), "kernel", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3 (ipykernel)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return folder


def server_command(socket_path: str) -> tuple[str, ...]:
    """What `sandbox.SERVER_COMMAND` becomes in the suite: a launcher of servers forked by the one at `socket_path`."""
    return (sys.executable, str(Path(__file__).resolve()), "sandbox", "launch", socket_path)


# ---- the launcher (the process a test or jupyter_client starts) ------------------------------------------------
def launch(kind, socket_path: str | None, arguments: list[str]) -> None:
    try:
        server = socket.socket(socket.AF_UNIX)
        server.connect(socket_path)
        request = {"argv": arguments, "env": dict(os.environ), "cwd": os.getcwd()}
        server.sendmsg(
            [json.dumps(request).encode() + b"\n"],
            [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [0, 1, 2]))],
        )
        answers = server.makefile("r")
        forked = json.loads(answers.readline() or "{}").get("pid")
    except (OSError, TypeError, ValueError):  # TypeError: no socket given
        forked = None
    if forked is None:  # no server, or it declined: the ordinary process
        command = kind.ordinary(arguments)
        os.execv(command[0], command)  # noqa: S606
    for number in SIGNALS:
        signal.signal(number, lambda received, frame: os.kill(forked, received))
    # Until the forked process exits: a forwarded signal's handler runs and the read resumes.
    line = answers.readline()
    status = json.loads(line)["status"] if line else 1
    sys.exit(128 - status if status < 0 else status)  # killed by signal N: 128 + N, as a shell reports it


# ---- the server ------------------------------------------------------------------------------------------------
def serve(kind, path: str) -> None:
    """Import the kind's libraries once, then fork a process per connection until terminated, or until the test
    run that started it is gone (killed, say, by a CI timeout): then its processes go too."""
    import selectors

    parent = os.getppid()
    del sys.path[0]  # this script's folder: a forked process's path starts as its program leaves it
    kind.preload()
    gc.freeze()  # what it imported: never scanned again by the collections of the processes forked below
    fixed = kind.fixed(dict(os.environ))
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    # A forked process's exit (SIGCHLD) wakes the loop through this pipe: no thread, so forking stays safe.
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector.register(wake_read, selectors.EVENT_READ)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    forked: dict[socket.socket, int] = {}  # launcher's connection -> its process's pid
    try:
        while os.getppid() == parent:
            for key, _ in selector.select(timeout=1):
                if key.fileobj is listener:
                    connection, _ = listener.accept()
                    in_child = lambda: _close_in_child(selector, forked, wake_write)  # noqa: E731
                    try:
                        pid = _fork(kind, connection, fixed, in_child)
                    except (OSError, ValueError):  # a launcher that went away, or a garbled request
                        pid = 0  # closed below: that launcher starts the ordinary process
                    if pid:
                        forked[connection] = pid
                        selector.register(connection, selectors.EVENT_READ)
                    else:
                        connection.close()
                elif key.fileobj == wake_read:
                    os.read(wake_read, 4096)
                    _report_exits(forked, selector)
                elif not key.fileobj.recv(1):  # the launcher is gone (killed): its process goes too
                    selector.unregister(key.fileobj)
                    _kill(forked[key.fileobj])
    finally:
        for pid in forked.values():
            _kill(pid)


def _fork(kind, connection: socket.socket, fixed: dict[str, str], close_inherited) -> int:
    """Fork a process for the launcher on `connection`; its pid, or 0 if the launcher must start its own."""
    size = array.array("i").itemsize
    message, ancillary, _, _ = connection.recvmsg(1 << 20, socket.CMSG_SPACE(3 * size))
    while message and not message.endswith(b"\n"):  # a long environment may arrive in pieces
        piece = connection.recv(1 << 20)
        if not piece:
            break
        message += piece
    streams = array.array("i")
    for _, _, data in ancillary:
        streams.frombytes(data[: len(data) - len(data) % size])
    request = json.loads(message)
    if kind.fixed(request["env"]) != fixed or len(streams) != 3:
        connection.sendall(b"{}\n")
        for descriptor in streams:
            os.close(descriptor)
        return 0
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            close_inherited()
            connection.close()
            code = _run(kind, request, list(streams))
        except BaseException:  # noqa: BLE001 - reported on the launcher's stderr, then the process ends
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    for descriptor in streams:
        os.close(descriptor)
    try:
        connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    except OSError:  # the launcher is already gone: so is its process
        _kill(pid)
        os.waitpid(pid, 0)
        return 0
    return pid


def _close_in_child(selector, forked: dict, wake_write: int) -> None:
    """In a new process: drop the server's sockets, pipe and signal handlers."""
    signal.set_wakeup_fd(-1)
    for number in (signal.SIGCHLD, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)
    for key in list(selector.get_map().values()):
        if isinstance(key.fileobj, int):
            os.close(key.fileobj)
        else:
            key.fileobj.close()
    selector.close()
    os.close(wake_write)
    forked.clear()


def _run(kind, request: dict, streams: list[int]) -> int:
    """Take the launcher's standard streams, folder and environment, then run the kind's program; its status."""
    import atexit
    import random

    for target, descriptor in enumerate(streams):
        os.dup2(descriptor, target)
        os.close(descriptor)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    random.seed()  # a new process's randomness, not the server's
    try:
        kind.run(request)
        code = 0
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 0 if exit.code is None else 1
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def _report_exits(forked: dict[socket.socket, int], selector) -> None:
    """Tell each launcher whose process ended its exit status (negative: killed by that signal)."""
    for connection, pid in list(forked.items()):
        done, status = os.waitpid(pid, os.WNOHANG)
        if not done:
            continue
        try:
            connection.sendall(json.dumps({"status": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
        except OSError:
            pass
        if connection in selector.get_map():
            selector.unregister(connection)
        connection.close()
        del forked[connection]


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    kind, mode, *rest = sys.argv[1:]
    if mode == "serve":
        serve(KINDS[kind], rest[0])
    elif kind == "kernel":
        launch(
            Kernels, os.environ.get(Kernels.socket_variable), [mode, *rest]
        )  # the kernelspec's `-f {file}`
    else:
        launch(Sandboxes, rest[0], rest[1:])
