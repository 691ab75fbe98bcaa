"""Static checks on the committed notebooks (their outputs are compared strictly by nbval in `make test`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"

BOT_TOKEN = re.compile(r"\d{8,10}:[A-Za-z0-9_-]{35}")
# secrets.token_urlsafe(32): 43 URL-safe characters (a base64 hash such as CodeSha256 ends in "=" and is not one).
SECRET_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_=-])")


def outputs_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        # Text only: base64 PNG data is full of random 43-character runs.
        parts.extend(
            str(value) for kind, value in output.get("data", {}).items() if not kind.startswith("image/")
        )
        parts.append(output.get("evalue", ""))
        parts.extend(output.get("traceback", []))
    return "\n".join(parts)


def code_cells(path: Path):
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def test_the_tutorial_has_its_notebooks_in_order():
    assert [path.name[:2] for path in NOTEBOOKS] == [f"{n:02d}" for n in range(1, len(NOTEBOOKS) + 1)]
    assert len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_with_outputs_has_an_execution_count(path):
    # nbval treats a cell without execution count as never run and would silently skip comparing it.
    for number, cell in enumerate(code_cells(path), start=1):
        assert cell.execution_count is not None, f"{path.name}: célula de código {number} não foi executada"
        if cell.outputs:
            assert cell.execution_count == number, f"{path.name}: execute o notebook inteiro, em ordem"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_output_or_code_contains_a_bot_token_or_secret(path):
    for cell in nbformat.read(path, as_version=4).cells:
        for text in (cell.source, outputs_text(cell)):
            assert not BOT_TOKEN.search(text), f"{path.name}: algo com cara de token de bot"
            assert not SECRET_TOKEN.search(text), f"{path.name}: algo com cara de secret token"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_only_volatile_metadata_is_stripped(path):
    notebook = nbformat.read(path, as_version=4)
    assert "widgets" not in notebook.metadata
    for cell in notebook.cells:
        assert "execution" not in cell.metadata, f"{path.name}: metadados de tempo de execução"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_only_the_setup_cell_knows_where_it_runs(path):
    cells = code_cells(path)
    assert "AMBIENTE" in cells[0].source and "tutorial.configure" in cells[0].source
    for number, cell in enumerate(cells[1:], start=2):
        assert "AMBIENTE" not in cell.source, f"{path.name}: célula {number} depende do ambiente"
        assert "sandbox" not in cell.source, f"{path.name}: célula {number} fala do sandbox"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_secrets_come_from_the_environment_never_from_the_code(path):
    source = "\n".join(cell.source for cell in code_cells(path)[1:])  # the setup cell only documents it
    if "TELEGRAM_BOT_TOKEN" in source:
        assert 'os.environ.get("TELEGRAM_BOT_TOKEN") or' in source and "getpass" in source


# `pytest --nbval ...` with nbformat loaded as `make test` loads it: without the 1.5 s IRI grammar (tutorial/runner.py).
PYTEST = (
    "import sys; from tutorial.runner import load_nbformat; load_nbformat(); "
    "import pytest; sys.exit(pytest.console_main())"
)


def run_nbval(notebook: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PYTEST, "--nbval", str(notebook), "--nbval-sanitize-with", str(SANITIZE)]
        + ["-q", "-p", "no:cacheprovider", "--rootdir", str(notebook.parent)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=notebook.parent,
    )


def test_strict_check_fails_when_a_stored_output_changes(tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("print(f'soma: {2 + 2}', 'em http://127.0.0.1:4566')")]
    )
    notebook.cells[0].execution_count = 1
    notebook.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="soma: 4 em http://127.0.0.1:9999\n")
    ]
    path = tmp_path / "check.ipynb"
    nbformat.write(notebook, path)
    # The port is masked by the sanitize file, so this passes...
    passed = run_nbval(path)
    assert passed.returncode == 0, passed.stdout + passed.stderr

    notebook.cells[0].outputs[0].text = "soma: 5 em http://127.0.0.1:9999\n"
    nbformat.write(notebook, path)
    # ...and a changed value fails.
    failed = run_nbval(path)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "soma: 5" in failed.stdout


def test_the_runner_still_validates_notebooks_without_the_iri_checker():
    """tutorial.runner loads nbformat without rfc3987-syntax's grammar; a broken notebook is still refused."""
    code = (
        "import sys\n"
        "from tutorial.runner import load_nbformat\n"
        "nbformat = load_nbformat()\n"
        f"notebook = nbformat.read({str(NOTEBOOKS[0])!r}, as_version=4)\n"
        "nbformat.validate(notebook)\n"
        "notebook.cells[0]['cell_type'] = 'spreadsheet'\n"
        "try:\n"
        "    nbformat.validate(notebook)\n"
        "except nbformat.ValidationError:\n"
        "    print('refused')\n"
        "print(sys.modules.get('rfc3987_syntax'))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["refused", "None"]
