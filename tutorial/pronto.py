"""`python -m tutorial pronto` (`make pronto`): is this computer ready for the class? Answers in Portuguese.

Checks the platform, Python, the learner's packages, the ports the sandbox and the live view use, memory and
disk, then starts a sandbox of its own (temporary home, free ports: a sandbox the learner left running is never
touched) and runs notebooks 01 to 06 in it. Prints "pronto", or one line per problem with the command that fixes
it. Each check is a function with its inputs as parameters, so the tests simulate each failure.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MINIMUM_PYTHON = (3, 10)
# The sandbox, the live view and the Lambda workers used about 880 MB while running; a notebook's kernel and
# JupyterLab add about 300 MB more. Free memory below this makes the class's laptop swap.
MINIMUM_MEMORY = 1_500 * 2**20
# The sandbox's state and log, the executed notebooks and pip's caches while updating: well under this.
MINIMUM_DISK = 1_000 * 2**20
# What the learner's commands import (module name, package name in pyproject.toml): `.[sandbox,notebooks]`.
MODULES = (
    ("boto3", "boto3"),
    ("requests", "requests"),
    ("pandas", "pandas"),
    ("pyarrow", "pyarrow"),
    ("matplotlib", "matplotlib"),
    ("tqdm", "tqdm"),
    ("ipywidgets", "ipywidgets"),
    ("moto", "moto"),
    ("flask", "flask"),
    ("duckdb", "duckdb"),
    ("sqlglot", "sqlglot"),
    ("nbclient", "nbclient"),
    ("ipykernel", "ipykernel"),
    ("jupyterlab", "jupyterlab"),
    ("psutil", "psutil"),
)
REINSTALL = "make clean && make pronto"


@dataclass(frozen=True)
class Problem:
    """Something to fix before class: what is wrong, and the command that fixes it."""

    what: str
    fix: str

    def line(self) -> str:
        return f"✗ {self.what} → {self.fix}"


def describe_platform(system: str | None = None, release: str | None = None) -> tuple[str, list[Problem]]:
    """The platform in words, and a problem on native Windows (the Makefile, the sandbox's processes and the
    notebooks' kernels need a POSIX system: WSL2 gives Windows one)."""
    system = system or platform.system()
    release = release if release is not None else platform.release()
    if system == "Linux":
        return ("Linux no WSL2 (Windows)" if "microsoft" in release.lower() else "Linux"), []
    if system == "Darwin":
        return "macOS", []
    if system == "Windows" or system.startswith(("CYGWIN", "MSYS", "MINGW")):
        return "Windows", [
            Problem(
                "o Windows sem o WSL2 não é suportado (o Makefile, o sandbox e os kernels precisam de Linux ou macOS)",
                "no PowerShell como administrador: wsl --install -d Ubuntu; depois rode o tutorial dentro do Ubuntu",
            )
        ]
    return system, []


def check_python(version: tuple[int, ...] | None = None) -> list[Problem]:
    version = tuple(version or sys.version_info[:3])
    if version[:2] >= MINIMUM_PYTHON:
        return []
    shown = ".".join(map(str, version[:3]))
    return [
        Problem(
            f"Python {shown} é antigo demais (o tutorial precisa de 3.10 ou mais novo)",
            "instale um Python novo (Ubuntu: sudo apt install python3.12 python3.12-venv; macOS: brew install "
            "python@3.12) e rode: make clean && make pronto PYTHON=python3.12",
        )
    ]


def check_install(modules: tuple[tuple[str, str], ...] = MODULES) -> list[Problem]:
    missing = [package for module, package in modules if importlib.util.find_spec(module) is None]
    if not missing:
        return []
    return [Problem(f"faltam pacotes no ambiente virtual: {', '.join(missing)}", REINSTALL)]


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def a_free_port(after: int) -> int:
    """The first free port after `after`, to suggest in a fix."""
    return next(port for port in range(after + 1, after + 100) if port_free(port))


def sandbox_ports() -> set[int]:
    """The ports of the sandbox running in the learner's home, if one is."""
    import sandbox

    state = sandbox._running_state()
    return {state["aws_port"], state["telegram_port"]} if state else set()


def ports_to_check() -> list[tuple[str, int, str]]:
    """(what uses it, port, the variable that moves it) for the sandbox's two ports and the live view's."""
    from sandbox import config
    from tutorial.live.__main__ import DEFAULT_PORT

    return [
        ("a AWS do sandbox", int(os.environ.get("SANDBOX_AWS_PORT", config.AWS_PORT)), "SANDBOX_AWS_PORT"),
        (
            "o Telegram do sandbox",
            int(os.environ.get("SANDBOX_TELEGRAM_PORT", config.TELEGRAM_PORT)),
            "SANDBOX_TELEGRAM_PORT",
        ),
        ("a aula ao vivo", int(os.environ.get("AULA_PORT", DEFAULT_PORT)), "AULA_PORT"),
    ]


def check_ports(ports: list[tuple[str, int, str]], ours: set[int], free=port_free) -> list[Problem]:
    """A port is fine when free or held by the learner's own sandbox; else another program holds it."""
    problems = []
    for user, port, variable in ports:
        if port in ours or free(port):
            continue
        other = a_free_port(port)
        move = f"make aula PORTA={other}" if variable == "AULA_PORT" else f"export {variable}={other}"
        problems.append(
            Problem(
                f"a porta {port} ({user}) está ocupada por outro programa",
                f"feche-o (veja qual é com: lsof -i :{port}) ou use outra porta: {move}",
            )
        )
    return problems


def available_memory() -> int:
    import psutil

    return psutil.virtual_memory().available


def free_disk(folder: Path = ROOT) -> int:
    return shutil.disk_usage(folder).free


def _gb(size: int) -> str:
    return f"{size / 2**30:.1f} GB".replace(".", ",")


def check_resources(
    memory: int, disk: int, minimum_memory: int = MINIMUM_MEMORY, minimum_disk: int = MINIMUM_DISK
) -> list[Problem]:
    problems = []
    if memory < minimum_memory:
        problems.append(
            Problem(
                f"só {_gb(memory)} de memória livre (a aula usa cerca de {_gb(minimum_memory)})",
                "feche programas abertos (navegador com muitas abas, outros ambientes) e rode: make pronto",
            )
        )
    if disk < minimum_disk:
        problems.append(
            Problem(
                f"só {_gb(disk)} livres no disco (o tutorial precisa de {_gb(minimum_disk)} além da instalação)",
                "libere espaço (por exemplo: rm -rf ~/.cache/pip ~/.cache/uv) e rode: make pronto",
            )
        )
    return problems


def check_notebooks() -> list[Problem]:
    """Notebooks 01 to 06, in order, in a sandbox of its own; a problem names the one that failed."""
    from tqdm import tqdm

    import sandbox
    from tutorial import contract, runner
    from tutorial.harness import isolated_sandbox

    output = Path(tempfile.mkdtemp(prefix="pronto-"))
    try:
        with isolated_sandbox():
            with tqdm(total=sum(map(runner.code_cells, contract.ORDER)), bar_format=runner.BAR) as progress:
                runner.run_notebooks(contract.ORDER, output_dir=output, progress=progress)
    except sandbox.SandboxError as error:
        # The executed copy of a failed notebook stays, with its error, for whoever helps the learner.
        return [Problem(f"o sandbox ou um notebook falhou: {error}", "mostre essa mensagem a quem dá a aula")]
    shutil.rmtree(output, ignore_errors=True)
    return []


def run(
    *,
    system: str | None = None,
    release: str | None = None,
    version: tuple[int, ...] | None = None,
    modules: tuple[tuple[str, str], ...] = MODULES,
    memory: int | None = None,
    disk: int | None = None,
    minimum_memory: int = MINIMUM_MEMORY,
    minimum_disk: int = MINIMUM_DISK,
    notebooks: bool = True,
) -> int:
    """Every check, printed as it goes; 0 when the computer is ready. The parameters stand in for the machine."""
    started = time.monotonic()
    described, problems = describe_platform(system, release)
    shown_version = ".".join(map(str, tuple(version or sys.version_info[:3])))
    print(f"Verificando este computador para o tutorial: {described}, Python {shown_version}")
    problems += check_python(version)
    if not problems:  # on native Windows or an old Python nothing else can run
        problems += check_install(modules)
    if not problems:
        problems += check_ports(ports_to_check(), sandbox_ports())
        problems += check_resources(
            available_memory() if memory is None else memory,
            free_disk() if disk is None else disk,
            minimum_memory,
            minimum_disk,
        )
        if notebooks:
            print(
                "Subindo um sandbox à parte e rodando os notebooks 01 a 06 (cerca de um minuto)...",
                flush=True,
            )
            problems += check_notebooks()
    seconds = time.monotonic() - started
    if problems:
        print(f"Falta corrigir ({len(problems)}):")
        for problem in problems:
            print(problem.line())
        return 1
    print(f"pronto ({seconds:.0f} s): este computador roda o tutorial e a aula ao vivo.")
    return 0
