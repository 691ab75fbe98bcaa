"""Fixtures shared by the whole suite: no test ever reaches a real AWS account."""

import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

import sandbox
from sandbox.aws.moto_setup import share_botocore_event_caches, share_botocore_loaders
from tests import forked
from tutorial.runner import load_nbformat

# mock_aws drops boto3's default session at every start: the same sharing as the sandbox server's.
share_botocore_loaders()
share_botocore_event_caches()
# Before the test modules import nbformat: without the grammar jsonschema would build (tutorial/runner.py).
load_nbformat()


# The modules that take longest, longest first (wall seconds of a `make test` here, in brackets): parallel
# workers that start them first do not end with one of them running alone. Only the order depends on this list.
LONGEST = (
    "test_notebook_sequences.py",  # 94
    "test_live_view.py",  # 93
    "test_reliability.py",  # 91
    "test_publish.py",  # 72
    "test_notebooks_cold.py",  # 58
    "test_demo.py",  # 53
    "test_shared_account.py",  # 50
    "test_security.py",  # 52
    "test_lab_browser.py",  # 51
    "test_catch_up_outside_jupyter.py",  # 50
    "test_aws_clients.py",  # 47
    "test_bridge.py",  # 36
    "test_athena_caller_rights.py",  # 35
    "test_class_policy.py",  # 34
    "test_cli.py",  # 25
    "test_pronto.py",  # 24
)


def pytest_collection_finish(session):
    """What collection imported (moto, boto3, pandas, the test modules) stays for the whole run: out of the garbage
    collector's sight. With botocore and moto making objects by the hundred thousand, collections of the oldest
    generation took 0.27 s each, and 12.7 s of a 35 s run of the ETL, ingestion and fuzz tests; frozen, and
    collected less often, 3.2 s."""
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)  # Python's default starts a collection every 700 new objects


def pytest_collection_modifyitems(items):
    """The notebooks first, then the longest modules, then the other modules with `slow` tests, then the rest.

    A stable sort by module keeps each module's tests together and in their order.
    """
    slow = {item.path for item in items if item.get_closest_marker("slow")}

    def rank(item) -> int:
        if item.path.suffix == ".ipynb":
            return 0
        if item.path.name in LONGEST:
            return 1 + LONGEST.index(item.path.name)
        return len(LONGEST) + (1 if item.path in slow else 2)

    items.sort(key=rank)


# The sandbox server as a learner's starts: tests that read the server's process itself use it.
ORDINARY_SERVER_COMMAND = sandbox.SERVER_COMMAND
_servers: list[tuple[subprocess.Popen, type]] = []  # started by this process


def pytest_configure(config):
    """One kernel server and one sandbox server for the whole run (tests/forked.py); xdist's workers inherit
    their variables, and each process of the run starts its sandboxes through the second.

    Not under mutmut (`make mutation`): it runs a pytest session per mutant, over the ingestion, ETL and fuzz tests,
    which need neither; starting both servers cost each mutant more than its tests did."""
    if "mutmut" in sys.modules:
        return
    if forked.Kernels.socket_variable not in os.environ:
        folder = _start_fork_server("kernel", forked.Kernels, dict(os.environ))
        jupyter_path = [str(forked.kernelspec(folder)), *filter(None, [os.environ.get("JUPYTER_PATH")])]
        os.environ["JUPYTER_PATH"] = os.pathsep.join(jupyter_path)
    if forked.Sandboxes.socket_variable not in os.environ:
        # Started with what a server gets of this environment, so its forks match what `sandbox.launch` sends.
        _start_fork_server("sandbox", forked.Sandboxes, sandbox.server_environment(os.environ))
    sandbox.SERVER_COMMAND = forked.server_command(os.environ[forked.Sandboxes.socket_variable])


def _start_fork_server(name: str, kind, environment: dict[str, str]) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"forked-{name}-"))
    socket_path = folder / "server.sock"
    server = subprocess.Popen(
        [sys.executable, forked.__file__, name, "serve", str(socket_path)],
        env=environment,
        start_new_session=True,
    )
    _servers.append((server, kind))
    deadline = time.monotonic() + 60
    while not socket_path.exists() and server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.environ[kind.socket_variable] = str(socket_path)
    return folder


def pytest_unconfigure(config):
    for server, kind in _servers:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(Path(os.environ.pop(kind.socket_variable)).parent, ignore_errors=True)
    _servers.clear()


@pytest.fixture
def ordinary_sandbox_server(monkeypatch):
    """Sandboxes started as `python -m sandbox serve`, not forked: for tests that read the server's process."""
    monkeypatch.setattr(sandbox, "SERVER_COMMAND", ORDINARY_SERVER_COMMAND)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`make test` runs pytest-xdist with `--dist loadscope --no-loadscope-reorder`: each test module on one worker
    (its module-scoped sandbox starts once), the notebooks, which run in order in one sandbox (tests/nbval_sandbox.py),
    together, in the order above."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "notebooks" if path.endswith(".ipynb") else path

    return ModuleScheduling(config, log)


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch):
    # moto intercepts calls made with any credentials; fake ones make sure a real account is never touched.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # Each test chooses its emulator itself (mock_aws or a sandbox server).
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


# Property-based tests (tests/test_fuzz.py): a fast, deterministic default for `make test` and CI, and a deeper,
# randomized run for `make fuzz` (HYPOTHESIS_PROFILE=deep). No example database: nothing to commit or clean.
settings.register_profile(
    "default",
    max_examples=50,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# `make mutation` runs the fuzz tests once per mutant: fewer examples, still deterministic, and no shrinking. A
# mutant is caught by the first failing example; shrinking it to the smallest took minutes per mutant.
settings.register_profile(
    "mutation",
    settings.get_profile("default"),
    max_examples=10,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    report_multiple_bugs=False,
)
settings.register_profile("deep", settings.get_profile("default"), max_examples=2000, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
