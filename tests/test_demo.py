"""`python -m tutorial demo`, as a teacher runs it: the whole tutorial, charts and a summary, the same for a seed."""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3
import nbformat
import pytest
from nbval.plugin import coalesce_streams

import lambda_function
from tests import etl_fixtures as tg
from tutorial.contract import ORDER
from tutorial.demo import summarize
from tutorial.harness import isolated_sandbox, own_sandbox_environment
from tutorial.setup import CONVERSATION

pytestmark = pytest.mark.slow  # deploys the pipeline with the notebooks themselves

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STORED_SEED = 42  # `make notebooks` stores the notebooks run with this seed and the default class size


def run_demo(build: Path, environment: dict, seed: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tutorial",
            "demo",
            "--messages",
            str(CONVERSATION["messages"]),
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
def demo_run(tmp_path_factory):
    """The demo once, with the seed and class size of the stored notebooks, in a sandbox of its own (the user's, if
    any, is never touched). The stored notebooks come from another run: equal outputs show the same seed gives the
    same run."""
    folder = tmp_path_factory.mktemp("demo")
    environment = own_sandbox_environment(folder / "sandbox")
    try:
        run = run_demo(folder / "build", environment, seed=STORED_SEED)
    finally:
        subprocess.run(
            [sys.executable, "-m", "sandbox", "down"], env=environment, capture_output=True, timeout=60
        )
    return folder / "build", run


def test_demo_runs_every_notebook_and_saves_notebooks_and_charts(demo_run):
    folder, first = demo_run
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]

    executed = sorted(path.stem for path in (folder / "notebooks").glob("*.ipynb"))
    assert executed == ORDER
    charts = sorted((folder / "graficos").glob("*.png"))
    assert len(charts) >= 4
    assert all(chart.read_bytes().startswith(PNG_SIGNATURE) for chart in charts)
    assert f"Gráficos ({len(charts)}) em: {folder / 'graficos'}/" in first.stdout


def shown_by_notebook_05(executed: Path) -> tuple[str, list[str]]:
    """What the executed notebook 05 printed, and the words of its "palavras mais usadas" table, in order."""
    cells = nbformat.read(executed, as_version=4).cells
    printed = "".join(
        o.get("text", "") for c in cells for o in c.get("outputs", []) if o.output_type == "stream"
    )
    (table,) = [
        o.data["text/plain"]
        for c in cells
        for o in c.get("outputs", [])
        if o.output_type == "execute_result" and o.data["text/plain"].lstrip().startswith("palavra")
    ]
    return printed, re.findall(r"^\d+\s+(\S+)\s+\d+$", table, re.MULTILINE)


def test_demo_ends_with_a_summary_of_the_conversation_in_portuguese(demo_run):
    folder, first = demo_run
    block = summary(first.stdout)
    messages = int(re.search(r"mensagens:\s+(\d+)", block).group(1))
    participants = int(re.search(r"participantes:\s+(\d+)", block).group(1))
    asked = CONVERSATION["messages"]
    assert 0.8 * asked <= messages <= asked  # about the size asked for (joins and leaves are not messages)
    assert participants >= 10
    assert re.search(r"dias:\s+\d+ \(\d{4}-\d\d-\d\d a \d{4}-\d\d-\d\d\)", block)
    assert re.search(r"hora mais ativa: \d\dh \(horário de São Paulo\)", block)
    words = re.search(r"palavras mais usadas: (.*)", block).group(1).split(", ")
    assert len(words) == 5
    assert "Próximo passo: `make lab`" in first.stdout
    # The summary is notebook 05's own answer (its queries, its stop words), not a second computation.
    printed, notebook_words = shown_by_notebook_05(folder / "notebooks" / "05-analise.ipynb")
    total, days = re.search(r"Tudo certo: (\d+) mensagens analisadas em (\d+) dias", printed).groups()
    assert messages == int(total) and re.search(rf"dias:\s+{days} \(", block)
    hour = re.search(r"Hora mais movimentada: (\d\d)h", printed).group(1)
    assert f"hora mais ativa: {hour}h" in block
    assert words == notebook_words[:5]


def test_demo_terminal_shows_progress_and_no_warnings(demo_run):
    _, first = demo_run
    # tqdm's bar names the notebook it is running and counts cells up to all of them.
    assert re.search(r"notebook 01 \(1 de \d\):   0%", first.stderr), first.stderr[:500]
    assert re.search(r"notebook 06 \(\d de \d\): 100%\|█+\| (\d+)/\1 células no total", first.stderr), (
        first.stderr[-500:]
    )
    assert "WARNING" not in first.stderr and "Traceback" not in first.stderr, first.stderr[-3000:]


def test_same_seed_gives_the_same_notebook_outputs_as_the_stored_run(demo_run):
    folder, _ = demo_run
    for name in ORDER[:-1]:
        assert outputs(folder / "notebooks" / f"{name}.ipynb") == outputs(
            ROOT / "notebooks" / f"{name}.ipynb"
        ), name
    # Teardown too, but for the Athena results it deletes: the demo's summary ran notebook 05's queries once more.
    athena = re.compile(r"(-athena \()(\d+)( objetos\))")
    demo, stored = (outputs(path / "notebooks" / f"{ORDER[-1]}.ipynb") for path in (folder, ROOT))
    assert [athena.sub(r"\1N\3", text) for text in demo] == [athena.sub(r"\1N\3", text) for text in stored]
    deleted = [int(athena.search("".join(texts)).group(2)) for texts in (demo, stored)]
    assert deleted[0] > deleted[1]


def put_enriched_day(bucket: str, day: str, updates: list[dict]) -> None:
    """One day of the enriched dataset, written by the ETL's own row and Parquet code."""
    rows = [lambda_function.message_row(update, ZoneInfo("America/Sao_Paulo")) for update in updates]
    boto3.client("s3").put_object(
        Bucket=bucket,
        Key=f"telegram/context_date={day}/part-0.parquet",
        Body=lambda_function.parquet_bytes(rows),
    )


def test_summary_is_notebook_05s_answer_with_its_stop_words_and_without_links():
    with isolated_sandbox():
        account = boto3.client("sts").get_caller_identity()["Account"]
        region = boto3.session.Session().region_name
        bucket = f"telegram-{account}-{region}-enriched"
        boto3.client("s3").create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
        )
        at = tg.epoch
        links = "Olha a aula: https://aws.amazon.com/pt/athena/ e https://docs.aws.amazon.com/lambda"
        put_enriched_day(
            bucket,
            "2025-03-17",
            [
                tg.text(1, 1, at("2025-03-17 09:00"), "Hoje hoje hoje tem aula"),
                tg.text(2, 2, at("2025-03-17 20:10"), links),
                tg.text(3, 3, at("2025-03-17 20:40"), "A aula de hoje foi sobre Athena", user=tg.BRUNO),
            ],
        )
        put_enriched_day(
            bucket,
            "2025-03-18",
            [tg.text(4, 4, at("2025-03-18 20:05"), "Bom dia! Athena hoje?", user=tg.BRUNO)],
        )
        summary = summarize()
    # Notebook 05's SQL: links go before words are split (no "https", "amazon", "com", "lambda"), its stop words
    # ("hoje", "tem", "bom") are left out, and ties go in alphabetical order.
    assert summary == {
        "messages": 4,
        "participants": 2,
        "days": 2,
        "first_day": "2025-03-17",
        "last_day": "2025-03-18",
        "busiest_hour": 20,
        "top_words": ["aula", "athena", "dia", "olha"],
    }
