"""Runs Lambda functions stored in moto: one worker process per execution environment, like AWS.

A worker is reused while warm (module state survives between invocations); a change of code or
configuration starts new ones; concurrent invocations get extra workers; a timeout kills the worker.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import random
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sandbox.aws.layers import PANDAS_LAYER_MODULES, RUNTIME_MODULES, managed_layer_version

log = logging.getLogger(__name__)

WORKER_SCRIPT = Path(__file__).with_name("lambda_worker.py")
LOG_TAIL_BYTES = 4096
# Invocations that run at once (see LambdaRunner._slots); SANDBOX_LAMBDA_CONCURRENCY overrides it.
MAX_CONCURRENT = int(os.environ.get("SANDBOX_LAMBDA_CONCURRENCY", max(4, 2 * (os.cpu_count() or 1))))
# Lambda's quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): 50 MB zipped for a
# direct upload, 250 MB unzipped for the code and all its layers.
ZIPPED_LIMIT = 50 * 1024 * 1024
UNZIPPED_LIMIT = 262_144_000
_COPY_CHUNK = 1 << 20
# How often a running worker's memory is checked against its MemorySize.
MEMORY_POLL_S = 0.02
PEAK_MEMORY = re.compile(rb"VmHWM:\s+(\d+)")  # in /proc/<pid>/status, in kB
# Modules that the venv's interpreter loads at start-up and a worker may meet again (harmless).
STARTUP_MODULES = frozenset({"_distutils_hack", "_virtualenv", "sitecustomize", "usercustomize"})

# (function, log group, log stream, [(timestamp ms, message)])
LogSink = Callable[["FunctionSpec", str, str, list[tuple[int, str]]], None]
# A function -> the (access key id, secret access key, session token) its code runs with, like its role's.
SessionCredentials = Callable[["FunctionSpec"], tuple[str, str, str]]


@dataclass(frozen=True)
class LayerCode:
    arn: str
    code_bytes: bytes  # empty for the AWS-managed layer (its modules come from the venv)


@dataclass(frozen=True)
class FunctionSpec:
    """A snapshot of what the runner needs from a function's configuration."""

    name: str
    arn: str
    version: str
    handler: str
    runtime: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    code_bytes: bytes
    code_sha256: str
    layers: tuple[LayerCode, ...] = ()
    region: str = "sa-east-1"
    role: str = ""  # the execution role's ARN

    @property
    def fingerprint(self) -> str:
        """Changes whenever AWS would start new execution environments (code or configuration)."""
        config = [
            self.handler,
            self.runtime,
            self.timeout,
            self.memory_size,
            sorted(self.environment.items()),
            self.role,
        ]
        config += [layer.arn for layer in self.layers]
        return self.code_sha256 + hashlib.sha256(json.dumps(config).encode()).hexdigest()


@dataclass
class InvocationResult:
    request_id: str
    payload: bytes
    function_error: str | None  # "Unhandled" like the X-Amz-Function-Error header, or None
    log_text: str
    executed_version: str = "$LATEST"

    @property
    def log_tail_base64(self) -> str:
        return base64.b64encode(self.log_text.encode()[-LOG_TAIL_BYTES:]).decode()


class CodeTooLarge(ValueError):
    """The code (and its layers) would unzip beyond Lambda's 250 MB."""


class OutOfMemory(Exception):
    """The worker went over its MemorySize and was killed, as Lambda does."""


def unzipped_size(code: bytes) -> int:
    """What the zip declares it unzips to, from its central directory (nothing is extracted); 0 for no code."""
    if not code:
        return 0
    with zipfile.ZipFile(io.BytesIO(code)) as archive:
        return sum(member.file_size for member in archive.infolist())


def extract_bounded(code: bytes, target: Path, budget: int) -> int:
    """Extract `code` into `target`, writing at most `budget` bytes even if an entry lies about its size.

    Returns the bytes written; raises CodeTooLarge (after removing what it wrote) past the budget.
    """
    written = 0
    with zipfile.ZipFile(io.BytesIO(code)) as archive:
        for member in archive.infolist():
            parts = Path(member.filename).parts
            if not parts or Path(member.filename).is_absolute() or ".." in parts:
                continue  # as zipfile's own extract: nothing outside the target
            path = target.joinpath(*parts)
            if member.is_dir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, path.open("wb") as sink:
                while chunk := source.read(min(_COPY_CHUNK, budget - written + 1)):
                    written += len(chunk)
                    if written > budget:
                        raise CodeTooLarge(f"Unzipped size must be smaller than {UNZIPPED_LIMIT} bytes")
                    sink.write(chunk)
    return written


@dataclass(eq=False)  # identity semantics: workers live in sets
class Worker:
    spec: FunctionSpec
    process: subprocess.Popen
    log_stream: str
    log_file: Path
    cold: bool = True
    log_offset: int = 0
    created: float = field(default_factory=time.monotonic)

    def run(self, request: dict, timeout: float) -> dict | None:
        """Send one invocation; None when it did not answer in time (the caller kills the worker)."""
        self.log_offset = self.log_file.stat().st_size
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        limit_kb = self.spec.memory_size * 1024
        while True:
            # Lambda kills an environment that goes over its memory. Resident memory is what counts (not the
            # virtual size, which numpy and pyarrow reserve generously), and its peak (VmHWM), so that a spike
            # between two looks, or just before the answer, is not missed.
            ready, _, _ = select.select([self.process.stdout], [], [], MEMORY_POLL_S)
            if self.peak_kb() > limit_kb:
                self.kill()
                raise OutOfMemory
            if ready:
                break
            if time.monotonic() >= deadline:
                return None
        line = self.process.stdout.readline()
        if not line:  # the process died (os._exit, segfault, out of memory)
            raise ChildProcessError(f"worker exited with code {self.process.wait()}")
        return json.loads(line)

    def peak_kb(self) -> int:
        """The worker's peak resident memory (VmHWM) in kB; 0 when it cannot be read (no /proc).

        Read at every memory poll of every invocation: one read(2) and a bytes search (10 us, against 36 us
        through pathlib and text lines).
        """
        try:
            descriptor = os.open(f"/proc/{self.process.pid}/status", os.O_RDONLY)
        except OSError:
            return 0
        try:
            found = PEAK_MEMORY.search(os.read(descriptor, 16384))
        except OSError:
            return 0
        finally:
            os.close(descriptor)
        return int(found.group(1)) if found else 0

    def max_memory_mb(self) -> int:
        return self.peak_kb() // 1024

    def kill(self) -> None:
        """Kill the environment and wait until it is gone: until then `poll()` may still say it runs, and a dying
        worker put back in the pool would answer the next invocation with an exit error."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()


class LambdaRunner:
    def __init__(
        self,
        endpoint_url: str,
        access_key_id: str,
        secret_access_key: str,
        seed: int,
        log_sink: LogSink | None = None,
        work_dir: Path | None = None,
        session_credentials: SessionCredentials | None = None,
    ):
        self.endpoint_url = endpoint_url
        self.credentials = (access_key_id, secret_access_key)
        self.session_credentials = session_credentials
        self.log_sink = log_sink
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="sandbox-lambda-"))
        self._lock = threading.RLock()
        self._idle: dict[str, list[Worker]] = {}
        self._busy: set[Worker] = set()
        self._current: dict[str, str] = {}  # function name -> latest fingerprint
        self._rng = random.Random(seed)
        # AWS runs hundreds of environments at once; this machine has a few cores. Invocations beyond this wait
        # for a free slot (only latency, invisible to callers) instead of starting dozens of Python processes
        # that would starve each other past their timeouts. The timeout counts from when one really starts.
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT)

    # ---- public ---------------------------------------------------------------------------------------
    def invoke(self, spec: FunctionSpec, event: bytes, *, asynchronous: bool = False) -> InvocationResult:
        request_id = self._new_request_id()
        if asynchronous:
            # Event invocations: accepted at once (202), run in the background like Lambda's queue.
            threading.Thread(target=self._run_logged, args=(spec, event, request_id), daemon=True).start()
            return InvocationResult(request_id, b"", None, "")
        return self._run(spec, event, request_id)

    def reset(self, seed: int) -> None:
        self.close()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._rng = random.Random(seed)

    def close(self) -> None:
        with self._lock:
            workers = [w for pool in self._idle.values() for w in pool] + list(self._busy)
            self._idle.clear()
            self._busy.clear()
            self._current.clear()
        for worker in workers:
            worker.kill()
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def worker_count(self) -> int:
        with self._lock:
            return sum(len(pool) for pool in self._idle.values()) + len(self._busy)

    # ---- invocation -----------------------------------------------------------------------------------
    def _run_logged(self, spec: FunctionSpec, event: bytes, request_id: str) -> None:
        try:
            self._run(spec, event, request_id)
        except Exception:
            log.exception("a invocação assíncrona %s de %s falhou", request_id, spec.name)

    def _run(self, spec: FunctionSpec, event: bytes, request_id: str) -> InvocationResult:
        with self._slots:
            return self._run_now(spec, event, request_id)

    def _run_now(self, spec: FunctionSpec, event: bytes, request_id: str) -> InvocationResult:
        try:
            worker = self._acquire(spec)
        except CodeTooLarge as exc:  # the API refuses such code first; this guards the disk all the same
            error = {"errorMessage": str(exc), "errorType": "InvalidParameterValueException"}
            return InvocationResult(request_id, json.dumps(error).encode(), "Unhandled", "")
        started = time.time()
        request = {
            "request_id": request_id,
            "event": event.decode() if event else "{}",
            "deadline_ms": int((started + spec.timeout) * 1000),
        }
        try:
            reply = worker.run(request, spec.timeout)
        except OutOfMemory:
            error = f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
            reply = {
                "payload": json.dumps({"errorMessage": error, "errorType": "Runtime.OutOfMemory"}),
                "error": True,
                "init_ms": None,  # unknown: the worker died before it could say
                "logs": self._drain_log(worker),
                # Lambda writes the runtime's exit after the REPORT line, then the error type.
                "after_report": [error, "Runtime.OutOfMemory"],
                "memory_mb": spec.memory_size,  # and reports the whole allowance as used
            }
        except (ChildProcessError, OSError, ValueError) as exc:
            reply = {
                "payload": json.dumps(
                    {
                        "errorMessage": f"RequestId: {request_id} Error: Runtime exited ({exc})",
                        "errorType": "Runtime.ExitError",
                    }
                ),
                "error": True,
                "init_ms": 0.0,
                "logs": "",
            }
            worker.kill()
        duration_ms = (time.time() - started) * 1000
        memory = reply.get("memory_mb") if reply else None
        memory = memory or worker.max_memory_mb()
        if reply is None:  # timed out: the environment is destroyed, as on AWS
            message = f"Task timed out after {spec.timeout:.2f} seconds"
            reply = {
                "payload": json.dumps(
                    {
                        "errorMessage": f"RequestId: {request_id} Error: {message}",
                        "errorType": "Sandbox.Timedout",
                    }
                ),
                "error": True,
                "init_ms": 0.0,
                "logs": self._drain_log(worker) + f"{_utc_stamp()} {request_id} {message}\n",
            }
            worker.kill()
        self._release(worker)
        log_text = self._log_lines(spec, worker, request_id, reply, duration_ms, memory)
        worker.cold = False
        return InvocationResult(
            request_id=request_id,
            payload=reply["payload"].encode(),
            function_error="Unhandled" if reply["error"] else None,
            log_text=log_text,
        )

    def _log_lines(self, spec, worker, request_id, reply, duration_ms, memory) -> str:
        lines = [f"START RequestId: {request_id} Version: {spec.version}"]
        lines += [line for line in reply["logs"].split("\n") if line]
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {max(1, int(duration_ms + 0.999))} ms\tMemory Size: {spec.memory_size} MB\t"
            f"Max Memory Used: {memory} MB"
        )
        if worker.cold and reply["init_ms"] is not None:
            report += f"\tInit Duration: {reply['init_ms']:.2f} ms"
        lines += [f"END RequestId: {request_id}", report, *reply.get("after_report", ())]
        if self.log_sink is not None:
            now = int(time.time() * 1000)
            try:
                self.log_sink(
                    spec,
                    f"/aws/lambda/{spec.name}",
                    worker.log_stream,
                    [(now, line) for line in lines],
                )
            except Exception:  # the invocation's result matters more than its logs
                log.exception("não foi possível gravar os logs de %s", spec.name)
        return "\n".join(lines) + "\n"

    @staticmethod
    def _drain_log(worker: Worker) -> str:
        """What a killed worker wrote during its last invocation."""
        try:
            with worker.log_file.open("rb") as handle:
                handle.seek(worker.log_offset)
                return handle.read().decode(errors="replace")
        except OSError:
            return ""

    # ---- worker pool ----------------------------------------------------------------------------------
    def _acquire(self, spec: FunctionSpec) -> Worker:
        stale: list[Worker] = []
        with self._lock:
            if self._current.get(spec.name) != spec.fingerprint:
                stale = self._idle.pop(spec.name, [])
                self._current[spec.name] = spec.fingerprint
            pool = self._idle.get(spec.name, [])
            worker = pool.pop() if pool else None
            log_stream = None if worker else self._new_log_stream(spec)
        for old in stale:
            old.kill()
        if worker is None or worker.process.poll() is not None:
            worker = self._start_worker(spec, log_stream or self._new_log_stream(spec))
        with self._lock:
            self._busy.add(worker)
        return worker

    def _release(self, worker: Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            current = self._current.get(worker.spec.name) == worker.spec.fingerprint
            if current and worker.process.poll() is None:
                self._idle.setdefault(worker.spec.name, []).append(worker)
                return
        worker.kill()

    def _start_worker(self, spec: FunctionSpec, log_stream: str) -> Worker:
        declared = unzipped_size(spec.code_bytes) + sum(
            unzipped_size(layer.code_bytes) for layer in spec.layers if layer.code_bytes
        )
        if declared > UNZIPPED_LIMIT:
            raise CodeTooLarge(f"Unzipped size must be smaller than {UNZIPPED_LIMIT} bytes")
        code_dir = self._extract(spec.code_bytes, "task")
        layer_dirs: list[str] = []
        allowed = set(RUNTIME_MODULES | STARTUP_MODULES)
        for layer in spec.layers:
            if managed_layer_version(layer.arn) is not None:
                allowed |= PANDAS_LAYER_MODULES
                continue
            root = self._extract(layer.code_bytes, "layer")
            # Like /opt/python and /opt/python/lib/pythonX.Y/site-packages on AWS.
            layer_dirs += [
                str(root / "python"),
                str(root / "python" / "lib" / _python_dir() / "site-packages"),
            ]
        log_file = Path(tempfile.mkstemp(prefix="log-", dir=self.work_dir)[1])
        process = subprocess.Popen(
            [sys.executable, "-I", "-X", "utf8", str(WORKER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=self._environment(spec, code_dir, log_stream),
            cwd=code_dir,
        )
        worker = Worker(spec=spec, process=process, log_stream=log_stream, log_file=log_file)
        init = {
            "code_dir": str(code_dir),
            "layer_dirs": layer_dirs,
            "handler": spec.handler,
            "allowed_modules": sorted(allowed),
            "log_file": str(log_file),
            "function_name": spec.name,
            "function_version": spec.version,
            "function_arn": spec.arn,
            "memory_size": spec.memory_size,
            "log_group_name": f"/aws/lambda/{spec.name}",
            "log_stream_name": log_stream,
        }
        process.stdin.write(json.dumps(init) + "\n")
        process.stdin.flush()
        return worker

    def _environment(self, spec: FunctionSpec, code_dir: Path, log_stream: str) -> dict[str, str]:
        if self.session_credentials is not None:
            access_key, secret_key, session_token = self.session_credentials(spec)
        else:
            (access_key, secret_key), session_token = self.credentials, "sandbox"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            **spec.environment,
        }
        # The runtime's reserved variables win over the function's own, as on AWS.
        env.update(
            {
                "TZ": ":UTC",
                "LAMBDA_TASK_ROOT": str(code_dir),
                "LAMBDA_RUNTIME_DIR": str(Path(sys.executable).parent),
                "_HANDLER": spec.handler,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_REGION": spec.region,
                "AWS_DEFAULT_REGION": spec.region,
                "AWS_ACCESS_KEY_ID": access_key,
                "AWS_SECRET_ACCESS_KEY": secret_key,
                "AWS_SESSION_TOKEN": session_token,
                # Points the function's boto3 back at the sandbox; on AWS this variable is simply absent.
                "AWS_ENDPOINT_URL": self.endpoint_url,
            }
        )
        return env

    def _extract(self, code: bytes, kind: str) -> Path:
        target = self.work_dir / f"{kind}-{hashlib.sha256(code).hexdigest()[:16]}"
        if not target.exists():
            staging = Path(tempfile.mkdtemp(dir=self.work_dir))
            try:
                extract_bounded(code, staging, UNZIPPED_LIMIT)  # even if an entry lies about its size
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            try:
                staging.rename(target)
            except OSError:  # another worker extracted the same code meanwhile
                shutil.rmtree(staging, ignore_errors=True)
        return target

    def _new_request_id(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _new_log_stream(self, spec: FunctionSpec) -> str:
        day = datetime.now(timezone.utc).strftime("%Y/%m/%d")
        with self._lock:
            suffix = f"{self._rng.getrandbits(128):032x}"
        return f"{day}/[{spec.version}]{suffix}"


def _python_dir() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def _utc_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
