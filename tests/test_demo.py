"""`python -m tutorial demo`, as a teacher runs it: the whole tutorial, charts and a summary, the same for a seed."""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import coalesce_streams

from tutorial.contract import ORDER
from tutorial.demo import top_words
from tutorial.harness import own_sandbox_environment

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_demo(build: Path, environment: dict, seed: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tutorial",
            "demo",
            "--messages",
            "150",
            "--seed",
            str(seed),
            "--build",
            str(build),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def summary(stdout: str) -> str:
    """The summary block (what the class wrote), without the timings that change from run to run."""
    return stdout.split("Resumo da conversa que passou pelo pipeline:", 1)[1].split("\n\n", 1)[0]


def without_widget_ids(output: dict) -> dict:
    # A progress bar's widget model id is random; nbval leaves it out of the comparison too (its skip_compare).
    data = {key: value for key, value in output.get("data", {}).items() if "widget-view" not in key}
    return {**output, "data": data} if "data" in output else output


def outputs(path: Path) -> list[str]:
    """Every output of a notebook, compared as nbval compares the stored ones.

    nbval's own stream merging (a progress bar counts only in its final state) and its sanitize file (ports,
    API ids, tqdm timings).
    """
    rules = configparser.ConfigParser()
    rules.read(ROOT / "tests" / "nbval_sanitize.cfg")
    texts = [
        str(without_widget_ids(output))
        for cell in nbformat.read(path, as_version=4).cells
        for output in coalesce_streams(cell.get("outputs", []))
    ]
    for section in rules.sections():
        texts = [re.sub(rules[section]["regex"], rules[section]["replace"], text) for text in texts]
    return texts


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The demo twice with the same seed, in a sandbox of its own (the user's, if any, is never touched)."""
    folder = tmp_path_factory.mktemp("demo")
    environment = own_sandbox_environment(folder / "sandbox")
    try:
        first = run_demo(folder / "first", environment, seed=7)
        second = run_demo(folder / "second", environment, seed=7)
    finally:
        subprocess.run(
            [sys.executable, "-m", "sandbox", "down"], env=environment, capture_output=True, timeout=60
        )
    return folder, first, second


def test_demo_runs_every_notebook_and_saves_notebooks_and_charts(two_runs):
    folder, first, _ = two_runs
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]

    executed = sorted(path.stem for path in (folder / "first" / "notebooks").glob("*.ipynb"))
    assert executed == ORDER
    charts = sorted((folder / "first" / "graficos").glob("*.png"))
    assert len(charts) >= 4
    assert all(chart.read_bytes().startswith(PNG_SIGNATURE) for chart in charts)
    assert f"Gráficos ({len(charts)}) em: {folder / 'first' / 'graficos'}/" in first.stdout


def test_demo_ends_with_a_summary_of_the_conversation_in_portuguese(two_runs):
    _, first, _ = two_runs
    block = summary(first.stdout)
    messages = int(re.search(r"mensagens:\s+(\d+)", block).group(1))
    participants = int(re.search(r"participantes:\s+(\d+)", block).group(1))
    assert 100 <= messages <= 150  # about the size asked for (joins and leaves are not messages)
    assert participants >= 10
    assert re.search(r"dias:\s+\d+ \(\d{4}-\d\d-\d\d a \d{4}-\d\d-\d\d\)", block)
    assert re.search(r"hora mais ativa: \d\dh \(horário de São Paulo\)", block)
    assert len(re.search(r"palavras mais usadas: (.*)", block).group(1).split(", ")) == 5
    assert "Próximo passo: `make lab`" in first.stdout


def test_demo_terminal_shows_progress_and_no_warnings(two_runs):
    _, first, _ = two_runs
    # tqdm's bar names the notebook it is running and counts cells up to all of them.
    assert "notebook 01:   0%" in first.stderr
    assert re.search(r"notebook 06: 100%\|█+\| (\d+)/\1 células", first.stderr), first.stderr[-500:]
    assert "WARNING" not in first.stderr and "Traceback" not in first.stderr, first.stderr[-3000:]


def test_same_seed_gives_the_same_conversation_and_the_same_notebook_outputs(two_runs):
    folder, first, second = two_runs
    assert second.returncode == 0, second.stderr[-3000:]
    assert summary(second.stdout) == summary(first.stdout)
    for name in ORDER:
        assert outputs(folder / "second" / "notebooks" / f"{name}.ipynb") == outputs(
            folder / "first" / "notebooks" / f"{name}.ipynb"
        ), name


def test_summary_words_leave_links_and_stop_words_out():
    texts = [
        "Olha a aula: https://aws.amazon.com/pt/athena/ e https://docs.aws.amazon.com/lambda",
        "A aula de hoje foi sobre Athena",
    ]
    # Before, a raw string matched a literal backslash: "https", "amazon" and "com" counted as words.
    assert top_words(texts) == ["aula", "olha", "athena"]
