"""`make pronto`: the readiness check a student runs before the first class, and each problem it must name."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import sandbox
from tutorial import pronto
from tutorial.harness import free_port, isolated_sandbox, own_sandbox_environment

ROOT = Path(__file__).resolve().parent.parent
PETABYTE = 2**50


@pytest.fixture
def own_ports(monkeypatch, tmp_path):
    """The ports and home the check looks at: free ones and an empty home (never this machine's 4566/8081/8089)."""
    for variable in ("SANDBOX_AWS_PORT", "SANDBOX_TELEGRAM_PORT", "AULA_PORT"):
        monkeypatch.setenv(variable, str(free_port()))
    monkeypatch.setenv("SANDBOX_HOME", str(tmp_path / "sandbox"))


def problem_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("✗ ")]


@pytest.mark.slow
def test_a_ready_machine_runs_the_notebooks_in_a_sandbox_of_its_own_and_says_pronto(tmp_path):
    environment = own_sandbox_environment(tmp_path / "sandbox") | {"AULA_PORT": str(free_port())}
    run = subprocess.run(
        [sys.executable, "-m", "tutorial", "pronto"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert re.search(r"^pronto \(\d+ s\)", run.stdout, re.MULTILINE), run.stdout
    assert problem_lines(run.stdout) == []
    # The notebooks ran, all six, counted cell by cell on the progress bar.
    assert re.search(r"notebook 06 \(6 de 6\): 100%\|█+\| (\d+)/\1 células no total", run.stderr), run.stderr[
        -500:
    ]
    assert "Traceback" not in run.stderr
    # Its sandbox stopped: the learner's home (here, the test's) has no running sandbox left behind.
    assert not (tmp_path / "sandbox" / "state.json").exists()


def test_a_failing_notebook_is_named_with_where_its_copy_is(own_ports, monkeypatch, capsys):
    def failing(names, **kwargs):
        raise sandbox.SandboxError(
            "O notebook 03-webhook falhou ao rodar; a cópia executada, com o erro, está em X"
        )

    monkeypatch.setattr("tutorial.runner.run_notebooks", failing)
    monkeypatch.setattr("tutorial.harness.isolated_sandbox", _no_sandbox)  # imported when the check runs
    assert pronto.run() == 1
    (line,) = problem_lines(capsys.readouterr().out)
    assert "O notebook 03-webhook falhou" in line and "está em X" in line


class _no_sandbox:
    def __enter__(self):
        return {}

    def __exit__(self, *exc):
        return False


def test_a_port_held_by_another_program_is_named_with_how_to_move_it(own_ports, monkeypatch, capsys):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv("SANDBOX_AWS_PORT", str(port))
        assert pronto.run(notebooks=False) == 1
    (line,) = problem_lines(capsys.readouterr().out)
    assert f"a porta {port} (a AWS do sandbox) está ocupada por outro programa" in line
    suggested = int(re.search(r"export SANDBOX_AWS_PORT=(\d+)", line).group(1))
    assert suggested != port and pronto.port_free(suggested)
    assert f"lsof -i :{port}" in line


def test_a_busy_live_view_port_suggests_make_aula_with_another_port(own_ports, monkeypatch, capsys):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv("AULA_PORT", str(port))
        assert pronto.run(notebooks=False) == 1
    (line,) = problem_lines(capsys.readouterr().out)
    assert f"a porta {port} (a aula ao vivo)" in line and re.search(r"make aula PORTA=\d+", line)


def test_ports_held_by_the_learners_own_sandbox_are_fine(monkeypatch, capsys):
    monkeypatch.setenv("AULA_PORT", str(free_port()))
    with isolated_sandbox() as variables:
        # The running sandbox holds both its ports; the check recognizes them as its own.
        assert str(variables["AWS_ENDPOINT_URL"]).endswith(f":{sandbox._ports()[0]}")
        assert not pronto.port_free(sandbox._ports()[0])
        assert pronto.run(notebooks=False) == 0
    assert problem_lines(capsys.readouterr().out) == []


def test_too_little_memory_or_disk_is_named_with_what_to_free(own_ports, capsys):
    assert pronto.run(notebooks=False, minimum_memory=PETABYTE, minimum_disk=PETABYTE) == 1
    memory, disk = problem_lines(capsys.readouterr().out)
    assert re.match(r"✗ só \d+,\d GB de memória livre .* → feche programas abertos", memory)
    assert re.match(r"✗ só \d+,\d GB livres no disco .* → libere espaço", disk)


def test_an_old_python_is_refused_with_how_to_get_a_new_one(own_ports, capsys):
    assert pronto.run(version=(3, 9, 18), notebooks=False) == 1
    out = capsys.readouterr().out
    assert "Python 3.9.18" in out.splitlines()[0]
    (line,) = problem_lines(out)
    assert "Python 3.9.18 é antigo demais" in line and "make clean && make pronto PYTHON=python3.12" in line


def test_a_missing_package_is_named_with_the_reinstall_command(own_ports, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "duckdb", None)  # what find_spec sees when DuckDB is not installed
    assert pronto.run(notebooks=False) == 1
    (line,) = problem_lines(capsys.readouterr().out)
    assert line == "✗ faltam pacotes no ambiente virtual: duckdb → make clean && make pronto"


@pytest.mark.parametrize(
    ("system", "release", "shown"),
    [
        ("Linux", "6.8.0-49-generic", "Linux"),
        ("Linux", "5.15.153.1-microsoft-standard-WSL2", "Linux no WSL2 (Windows)"),
        ("Darwin", "24.1.0", "macOS"),
    ],
)
def test_linux_wsl2_and_macos_are_named_and_accepted(own_ports, capsys, system, release, shown):
    assert pronto.run(system=system, release=release, notebooks=False) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(f"Verificando este computador para o tutorial: {shown}, Python ")
    assert out.splitlines()[-1].startswith("pronto")


@pytest.mark.parametrize("system", ["Windows", "MINGW64_NT-10.0-22631", "CYGWIN_NT-10.0"])
def test_native_windows_is_told_to_use_wsl2(own_ports, capsys, system):
    assert pronto.run(system=system, release="10", notebooks=False) == 1
    (line,) = problem_lines(capsys.readouterr().out)
    assert "o Windows sem o WSL2 não é suportado" in line and "wsl --install -d Ubuntu" in line
