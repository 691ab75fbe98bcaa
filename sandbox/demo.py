"""The one-command demo and the notebook runner: the tutorial's notebooks, headless, in order, in the sandbox.

`python -m sandbox demo` resets the sandbox, has the simulated class talk, runs every notebook and saves the
executed copies under `build/`. `python -m sandbox notebooks --store` re-executes the notebooks in place, which is
how their committed outputs are refreshed after a change (`make notebooks`).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sandbox
from sandbox import tutorial

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
TIMEZONE = ZoneInfo("America/Sao_Paulo")
# Words too common in Portuguese to say anything about a conversation.
STOP_WORDS = frozenset(
    """a o e é de da do das dos em no na nos nas um uma uns umas para pra por com sem que se não sim mais
    mas ou já eu tu ele ela nós vocês eles elas me te meu minha seu sua isso isto esse essa este esta
    aqui ali lá tem ter foi ser está estou tá vai vou ao aos à às como quando onde qual quem muito
    também só bem então ai aí gente pessoal hoje alguém tudo todo toda todos todas nem até sobre
    pelo pela depois antes ainda agora vc vcs q""".split()
)


def notebook_names() -> list[str]:
    """The tutorial's notebooks that exist, in order."""
    return [name for name in tutorial.ORDER if (tutorial.NOTEBOOKS / f"{name}.ipynb").exists()]


def execute(names: list[str], *, store: bool = False, output_dir: Path | None = None, progress=None) -> dict:
    """Run notebooks in order, each in a fresh kernel; returns seconds per notebook.

    `store=True` writes the outputs back into `notebooks/` (metadata that changes on every run is left out);
    otherwise executed copies go to `output_dir`. A failing notebook raises, with the copy saved for reading.
    """
    import nbformat
    from nbclient import NotebookClient

    timings = {}
    for name in names:
        source = tutorial.NOTEBOOKS / f"{name}.ipynb"
        notebook = nbformat.read(source, as_version=4)
        target = source if store else Path(output_dir) / source.name
        started = time.monotonic()
        client = NotebookClient(
            notebook,
            timeout=900,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": str(tutorial.NOTEBOOKS)}},
        )
        try:
            client.execute()
        finally:
            for cell in notebook.cells:
                cell.metadata.pop("execution", None)
            notebook.metadata.pop("widgets", None)
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, target)
        timings[name] = time.monotonic() - started
        if progress is not None:
            progress.update(1)
    return timings


def summarize_raw(bucket: str) -> dict:
    """Messages, participants, days, busiest hour and top words of what the pipeline stored."""
    import boto3

    s3 = boto3.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="telegram/")
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    senders, days, hours, words = set(), set(), Counter(), Counter()
    messages = 0
    for key in keys:
        update = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        message = update.get("message")
        if not message or "new_chat_members" in message or "left_chat_member" in message:
            continue
        messages += 1
        senders.add(message.get("from", {}).get("id"))
        moment = datetime.fromtimestamp(message["date"], TIMEZONE)
        days.add(moment.date())
        hours[moment.hour] += 1
        text = (message.get("text") or message.get("caption") or "").lower()
        words.update(w for w in re.findall(r"[a-zà-ú]{3,}", text) if w not in STOP_WORDS)
    return {
        "messages": messages,
        "participants": len(senders),
        "days": len(days),
        "first_day": min(days).isoformat() if days else None,
        "last_day": max(days).isoformat() if days else None,
        "busiest_hour": hours.most_common(1)[0][0] if hours else None,
        "top_words": [word for word, _ in words.most_common(5)],
    }


def run_demo(messages: int, seed: int) -> int:
    from tqdm import tqdm

    names = notebook_names()
    started = time.monotonic()
    print(f"Demo do pipeline no sandbox (semente {seed}, ~{messages} mensagens da turma simulada)")
    os.environ["SANDBOX_MESSAGES"] = str(messages)
    sandbox.start(seed=seed, reset=True)
    output = BUILD / "notebooks"
    with tqdm(total=len(names), desc="notebooks", unit=" notebook") as progress:
        timings = execute(names, output_dir=output, progress=progress)
    for name, seconds in timings.items():
        print(f"  {name:<20} {seconds:5.1f} s")
    account, region = sandbox_account_region()
    summary = summarize_raw(f"{tutorial.PREFIX}-{account}-{region}-raw")
    print()
    print("Resumo da conversa que passou pelo pipeline:")
    print(f"  mensagens:      {summary['messages']}")
    print(f"  participantes:  {summary['participants']}")
    print(f"  dias:           {summary['days']} ({summary['first_day']} a {summary['last_day']})")
    if summary["busiest_hour"] is not None:
        print(f"  hora mais ativa: {summary['busiest_hour']:02d}h (horário de São Paulo)")
    print(f"  palavras mais usadas: {', '.join(summary['top_words'])}")
    print()
    print(f"Notebooks executados em: {output.relative_to(ROOT)}/")
    print("Próximo passo: abra os notebooks com `jupyter lab notebooks/` e rode célula por célula.")
    print(
        f"Tempo total: {time.monotonic() - started:.1f} s. O sandbox continua no ar: python -m sandbox down"
    )
    return 0


def sandbox_account_region() -> tuple[str, str]:
    import boto3

    return boto3.client("sts").get_caller_identity()["Account"], boto3.session.Session().region_name


def run_store() -> int:
    """Re-execute the notebooks in place from a fresh sandbox with the default seed (what nbval compares)."""
    os.environ.pop("SANDBOX_MESSAGES", None)
    sandbox.start(seed=42, reset=True)
    for name, seconds in execute(notebook_names(), store=True).items():
        print(f"{name}: {seconds:.1f} s")
    return 0
