"""Jupyter kernels for the test suite, forked from one process that has already imported their libraries.

The suite runs notebooks about a hundred times (nbval, the cold and out-of-order runs, the catch-up inside
kernels, the demo, JupyterLab). Each kernel spent 0.7 s of CPU starting ipykernel, and 1.5 s more importing
pandas, matplotlib and boto3, before running a single cell. Here one server imports them once and forks a kernel
per request: the same ipykernel, with the launcher's connection file, environment, folder and standard streams.

What a module reads of its surroundings when imported is set up as a kernel would have it: pandas chooses its
column limit by whether it is imported inside a kernel (preloaded as a plain script, it cut frames to a
terminal's width), matplotlib its backend from MPLBACKEND, which ipykernel sets.

- `python tests/forked_kernels.py serve SOCKET` is the server (tests/conftest.py starts one per test session).
- The kernelspec conftest writes runs `python tests/forked_kernels.py -f {connection_file}`: a small launcher
  that hands its arguments, environment, folder and standard streams to the server, forwards signals (interrupt,
  terminate) to the kernel and exits with its status. When the server cannot be reached, or the environment
  asks for what the server's imports already fixed (PYTHON*, IPYTHON*, MPL* or PANDAS* settings of its own), the launcher becomes an
  ordinary ipykernel instead.

Learners' kernels are never forked: only the suite's environment names this kernelspec.
"""

from __future__ import annotations

import array
import json
import os
import signal
import socket
import sys
from pathlib import Path

SOCKET_VARIABLE = "FORKED_KERNELS_SOCKET"
# Settings read once, when the server imported its modules: a kernel that wants other values starts afresh.
FIXED_AT_IMPORT = ("PYTHON", "IPYTHON", "MPL", "PANDAS")
INLINE = "module://matplotlib_inline.backend_inline"  # the backend ipykernel sets when MPLBACKEND is unset
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def kernelspec(folder: Path) -> Path:
    """Write a `python3` kernelspec that starts forked kernels; put `folder` first in JUPYTER_PATH to use it."""
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, str(Path(__file__).resolve()), "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3 (ipykernel)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return folder


def _fixed(environment: dict[str, str]) -> dict[str, str]:
    fixed = {name: value for name, value in environment.items() if name.startswith(FIXED_AT_IMPORT)}
    fixed.setdefault("MPLBACKEND", INLINE)
    return fixed


# ---- the launcher (the process jupyter_client starts as "the kernel") ------------------------------------------
def launch(arguments: list[str]) -> None:
    try:
        server = socket.socket(socket.AF_UNIX)
        server.connect(os.environ[SOCKET_VARIABLE])
        request = {"argv": arguments, "env": dict(os.environ), "cwd": os.getcwd()}
        server.sendmsg(
            [json.dumps(request).encode() + b"\n"],
            [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [0, 1, 2]))],
        )
        answers = server.makefile("r")
        kernel = json.loads(answers.readline() or "{}").get("pid")
    except (KeyError, OSError, ValueError):
        kernel = None
    if kernel is None:  # no server, or it declined: an ordinary kernel
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *arguments])  # noqa: S606
    for number in SIGNALS:
        signal.signal(number, lambda received, frame: os.kill(kernel, received))
    # Until the kernel exits: a forwarded signal's handler runs and the read resumes.
    line = answers.readline()
    status = json.loads(line)["status"] if line else 1
    sys.exit(128 - status if status < 0 else status)  # killed by signal N: 128 + N, as a shell reports it


# ---- the server ------------------------------------------------------------------------------------------------
def serve(path: str) -> None:
    """Import the kernels' libraries once, then fork a kernel per connection until terminated, or until the test
    run that started it is gone (killed, say, by a CI timeout): then its kernels go too."""
    import selectors

    parent = os.getppid()

    del sys.path[0]  # this script's folder: a kernel's path starts as ipykernel_launcher leaves it
    import builtins

    import boto3  # noqa: F401 - what the notebooks import, ready in every kernel forked below
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    import requests  # noqa: F401

    os.environ.setdefault("MPLBACKEND", INLINE)
    import matplotlib.pyplot  # noqa: F401

    builtins.get_ipython = _KernelShell  # how pandas tells a kernel from a terminal, while it is imported
    import pandas  # noqa: F401

    del builtins.get_ipython

    fixed = _fixed(dict(os.environ))
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    # A kernel's exit (SIGCHLD) wakes the loop through this pipe: no thread, so forking stays safe.
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector.register(wake_read, selectors.EVENT_READ)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    kernels: dict[socket.socket, int] = {}  # launcher's connection -> its kernel's pid
    try:
        while os.getppid() == parent:
            for key, _ in selector.select(timeout=1):
                if key.fileobj is listener:
                    connection, _ = listener.accept()
                    in_kernel = lambda: _close_in_kernel(selector, kernels, wake_write)  # noqa: E731
                    try:
                        pid = _fork_kernel(connection, fixed, in_kernel)
                    except (OSError, ValueError):  # a launcher that went away, or a garbled request
                        pid = 0  # closed below: that launcher starts an ordinary kernel
                    if pid:
                        kernels[connection] = pid
                        selector.register(connection, selectors.EVENT_READ)
                    else:
                        connection.close()
                elif key.fileobj == wake_read:
                    os.read(wake_read, 4096)
                    _report_exits(kernels, selector)
                elif not key.fileobj.recv(1):  # the launcher is gone (killed): its kernel goes too
                    selector.unregister(key.fileobj)
                    _kill(kernels[key.fileobj])
    finally:
        for pid in kernels.values():
            _kill(pid)


class _KernelShell:
    kernel = True  # IPython's shell inside ipykernel has one


def _fork_kernel(connection: socket.socket, fixed: dict[str, str], close_inherited) -> int:
    """Fork a kernel for the launcher on `connection`; its pid, or 0 if the launcher must start its own."""
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
    if _fixed(request["env"]) != fixed or len(streams) != 3:
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
            code = _run_kernel(request, list(streams))
        except BaseException:  # noqa: BLE001 - reported on the launcher's stderr, then the kernel ends
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    for descriptor in streams:
        os.close(descriptor)
    try:
        connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    except OSError:  # the launcher is already gone: so is its kernel
        _kill(pid)
        os.waitpid(pid, 0)
        return 0
    return pid


def _close_in_kernel(selector, kernels: dict, wake_write: int) -> None:
    """In a new kernel: drop the server's sockets, pipe and signal handlers."""
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
    kernels.clear()


def _run_kernel(request: dict, streams: list[int]) -> int:
    """Become `python -m ipykernel_launcher ARGS`, started in the launcher's folder with its environment."""
    import atexit
    import random

    import numpy

    for target, descriptor in enumerate(streams):
        os.dup2(descriptor, target)
        os.close(descriptor)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["ipykernel_launcher", *request["argv"]]
    if request["env"].get(
        "JPY_PARENT_PID"
    ):  # ipykernel read it at import, in the server: given as its option
        sys.argv.append(f"--IPKernelApp.parent_handle={request['env']['JPY_PARENT_PID']}")
    random.seed()  # a new process's randomness, not the server's
    numpy.random.seed()
    from ipykernel import kernelapp

    try:
        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def _report_exits(kernels: dict[socket.socket, int], selector) -> None:
    """Tell each launcher whose kernel ended its exit status (negative: killed by that signal)."""
    for connection, pid in list(kernels.items()):
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
        del kernels[connection]


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2])
    else:
        launch(sys.argv[1:])
