"""One Lambda execution environment: runs a handler from extracted code, like the AWS Python runtime.

Started by `lambda_runner` as `python -I lambda_worker.py` (a script, so it imports nothing of the sandbox).
Protocol on stdin/stdout, one JSON document per line:
  first line (init): {code_dir, layer_dirs, handler, allowed_modules, log_file, function_name, ...}
  then per invocation: {"request_id", "event", "deadline_ms"} -> {"payload", "error", "init_ms", "logs"}
The handler's own stdout/stderr go to a log file, so nothing it prints can corrupt the protocol.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import json
import logging
import os
import sys
import time
import traceback

# The script's own folder (sandbox/aws) must not be importable by the handler.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]


class RuntimeImportBlocker(importlib.abc.MetaPathFinder):
    """Only the standard library, the runtime's SDK, the function's code and its layers can be imported.

    On AWS the venv does not exist: a function that imports pyarrow without a layer that provides it fails.
    """

    def __init__(self, allowed: set[str], search_dirs: list[str]):
        self.allowed = allowed
        self.search_dirs = search_dirs
        # The standard library's folders: also has private modules absent from sys.stdlib_module_names.
        stdlib = os.path.dirname(os.__file__)
        self.stdlib_dirs = [stdlib, os.path.join(stdlib, "lib-dynload")]

    def find_spec(self, name, path=None, target=None):
        if path is not None or "." in name:
            return None  # submodules are found through their (already allowed) parent package
        if name in self.allowed or name in sys.builtin_module_names or name in sys.stdlib_module_names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, self.search_dirs + self.stdlib_dirs)
        if spec is None:
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        return spec


class LambdaContext:
    """The `context` argument of the Python runtime (same attribute names and types)."""

    def __init__(self, init: dict, request_id: str, deadline_ms: int):
        self.function_name = init["function_name"]
        self.function_version = init["function_version"]
        self.invoked_function_arn = init["function_arn"]
        self.memory_limit_in_mb = str(init["memory_size"])  # the runtime passes the env var's string
        self.aws_request_id = request_id
        self.log_group_name = init["log_group_name"]
        self.log_stream_name = init["log_stream_name"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)


class RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record):
        record.aws_request_id = RequestIdFilter.request_id
        return True


class LambdaLogFormatter(logging.Formatter):
    """The runtime's format; a multi-line message stays one CloudWatch event (newlines become \\r)."""

    converter = time.gmtime

    def format(self, record):
        return super().format(record).replace("\n", "\r")


def setup_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        LambdaLogFormatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
        )
    )
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    if level:
        root.setLevel(level.upper())


CODE_DIR = ""  # set in main(); shown as /var/task in stack traces, as on AWS


def error_payload(exc: BaseException, request_id: str) -> dict:
    # Only the function's frames: not this worker's (the runtime's own frames are hidden on AWS too).
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != os.path.abspath(__file__)]
    trace = [line.replace(CODE_DIR, "/var/task") for line in traceback.format_list(frames)]
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": trace,
    }


def init_error(error_type: str, message: str) -> dict:
    return {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": []}


def load_handler(handler_spec: str):
    """Import the module and find the handler; errors shaped like the real runtime's."""
    try:
        module_name, function_name = handler_spec.rsplit(".", 1)
    except ValueError as exc:
        return None, init_error("Runtime.MalformedHandlerName", f"Bad handler '{handler_spec}': {exc}")
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        return None, init_error(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}"
        )
    except ImportError as exc:
        return None, init_error(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        )
    except Exception as exc:  # module-level code failing is reported to the caller, like AWS
        return None, error_payload(exc, "")
    handler = getattr(module, function_name, None)
    if handler is None:
        return None, init_error(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        )
    return handler, None


def report_error(payload: dict) -> None:
    # What the runtime writes to the logs for an error the function did not handle.
    trace = "".join(payload.get("stackTrace", []))
    message = (
        f"[ERROR] {payload['errorType']}: {payload['errorMessage']}\nTraceback (most recent call last):\n"
    )
    print((message + trace).rstrip("\n").replace("\n", "\r"), flush=True)


def main() -> None:
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    requests = sys.stdin
    init = json.loads(requests.readline())

    # Handler output (print, logging, native code) goes to the log file, read back after each invocation.
    log_fd = os.open(init["log_file"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    sys.stdout = os.fdopen(1, "w", encoding="utf-8", buffering=1)
    sys.stderr = os.fdopen(2, "w", encoding="utf-8", buffering=1)
    log_reader = open(init["log_file"], encoding="utf-8", errors="replace")  # open as long as the worker

    global CODE_DIR
    CODE_DIR = init["code_dir"]
    search_dirs = [init["code_dir"], *init["layer_dirs"]]
    sys.path[:0] = search_dirs
    sys.meta_path.insert(0, RuntimeImportBlocker(set(init["allowed_modules"]), search_dirs))
    os.chdir(init["code_dir"])
    setup_logging()

    handler = None
    for line in requests:
        request = json.loads(line)
        request_id = request["request_id"]
        RequestIdFilter.request_id = request_id
        init_ms = 0.0
        error = False
        if handler is None:
            started = time.perf_counter()
            handler, failure = load_handler(init["handler"])
            init_ms = (time.perf_counter() - started) * 1000
            if failure is not None:
                report_error(failure)
                result, error = failure, True
        if handler is not None:
            context = LambdaContext(init, request_id, request["deadline_ms"])
            try:
                result = handler(json.loads(request["event"]), context)
            except Exception as exc:  # an unhandled error is the invocation's result
                result, error = error_payload(exc, request_id), True
                report_error(result)
            else:
                try:
                    payload_text = json.dumps(result)
                except (TypeError, ValueError) as exc:
                    result = init_error("Runtime.MarshalError", f"Unable to marshal response: {exc}")
                    result["requestId"], error = request_id, True
                    report_error(result)
        if error:
            payload_text = json.dumps(result)
        sys.stdout.flush()
        sys.stderr.flush()
        reply = {"payload": payload_text, "error": error, "init_ms": init_ms, "logs": log_reader.read()}
        protocol.write(json.dumps(reply) + "\n")
        protocol.flush()


if __name__ == "__main__":
    main()
