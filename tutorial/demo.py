"""The one-command demo and the notebook runner: the tutorial's notebooks, headless, in order, in the sandbox.

`python -m tutorial demo` resets the sandbox, has the simulated class talk, runs every notebook and saves the
executed copies under `build/`. `python -m tutorial notebooks --store` re-executes the notebooks in place, which is
how their committed outputs are refreshed after a change (`make notebooks`).
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from pathlib import Path

import sandbox
from tutorial import contract, runner

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
# Words too common in Portuguese to say anything about a conversation.
STOP_WORDS = frozenset(
    """a o e é de da do das dos em no na nos nas um uma uns umas para pra por com sem que se não sim mais
    mas ou já eu tu ele ela nós vocês eles elas me te meu minha seu sua isso isto esse essa este esta
    aqui ali lá tem ter foi ser está estou tá vai vou ao aos à às como quando onde qual quem muito
    também só bem então ai aí gente pessoal hoje bom boa alguém tudo todo toda todos todas nem até sobre
    pelo pela depois antes ainda agora vc vcs q""".split()
)


def notebook_names() -> list[str]:
    """The tutorial's notebooks that exist, in order."""
    return [name for name in contract.ORDER if (runner.NOTEBOOKS / f"{name}.ipynb").exists()]


def execute(names: list[str], *, store: bool = False, output_dir: Path | None = None, progress=None) -> dict:
    """Run notebooks in order, each in a fresh kernel; returns seconds per notebook (see runner.run_notebooks)."""
    return runner.run_notebooks(names, store=store, output_dir=output_dir, progress=progress)


def summarize(enriched_bucket: str) -> dict:
    """Messages, participants, days, busiest hour and top words of the enriched dataset (one row per message)."""
    import io

    import boto3
    import pandas as pd

    s3 = boto3.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=enriched_bucket, Prefix="telegram/")
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    frames = [
        pd.read_parquet(io.BytesIO(s3.get_object(Bucket=enriched_bucket, Key=k)["Body"].read())) for k in keys
    ]
    if not frames:
        return {"messages": 0, "participants": 0, "days": 0, "busiest_hour": None, "top_words": []}
    messages = pd.concat(frames, ignore_index=True)
    local = messages["sent_at_local"]
    words = top_words(messages["text"].dropna())
    return {
        "messages": len(messages),
        "participants": messages["user_id"].nunique(),
        "days": local.dt.date.nunique(),
        "first_day": local.min().date().isoformat(),
        "last_day": local.max().date().isoformat(),
        "busiest_hour": int(local.dt.hour.value_counts().idxmax()),
        "top_words": words,
    }


def top_words(texts, count: int = 5) -> list[str]:
    """The most used words of 3+ letters, links and stop words left out."""
    words = Counter(
        word
        for text in texts
        for word in re.findall(r"[a-zà-ú]{3,}", re.sub(r"https?://\S+", " ", text.lower()))
        if word not in STOP_WORDS
    )
    return [word for word, _ in words.most_common(count)]


def save_charts(executed: Path, folder: Path) -> list[Path]:
    """The PNG charts of an executed notebook, as image files."""
    import base64

    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for cell in nbformat.read(executed, as_version=4).cells:
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                path = folder / f"{executed.stem}-grafico-{len(saved) + 1}.png"
                path.write_bytes(base64.b64decode(output["data"]["image/png"]))
                saved.append(path)
    return saved


def run_demo(messages: int, seed: int, build: Path = BUILD) -> int:
    from tqdm import tqdm

    names = notebook_names()
    started = time.monotonic()
    print(f"Demo do pipeline no sandbox (semente {seed}, ~{messages} mensagens da turma simulada)")
    os.environ["SANDBOX_MESSAGES"] = str(messages)
    sandbox.start(seed=seed, reset=True)
    output = build / "notebooks"
    analysis, teardown = names[:-1], names[-1:]  # the summary needs the data that 06 deletes
    with tqdm(total=sum(map(runner.code_cells, names)), bar_format=runner.BAR) as progress:
        timings = execute(analysis, output_dir=output, progress=progress)
        account, region = sandbox_account_region()
        summary = summarize(contract.bucket(account, region, "enriched"))
        timings |= execute(teardown, output_dir=output, progress=progress)
    for name, seconds in timings.items():
        print(f"  {name:<20} {seconds:5.1f} s")
    charts = [chart for name in names for chart in save_charts(output / f"{name}.ipynb", build / "graficos")]
    print()
    print("Resumo da conversa que passou pelo pipeline:")
    print(f"  mensagens:      {summary['messages']}")
    print(f"  participantes:  {summary['participants']}")
    print(f"  dias:           {summary['days']} ({summary.get('first_day')} a {summary.get('last_day')})")
    if summary["busiest_hour"] is not None:
        print(f"  hora mais ativa: {summary['busiest_hour']:02d}h (horário de São Paulo)")
    print(f"  palavras mais usadas: {', '.join(summary['top_words'])}")
    print()
    print(f"Notebooks executados em: {_shown(output)}/")
    print(f"Gráficos ({len(charts)}) em: {_shown(build / 'graficos')}/")
    print("Próximo passo: `make lab` abre os notebooks no JupyterLab; rode célula por célula.")
    print(
        f"Tempo total: {time.monotonic() - started:.1f} s. O sandbox continua no ar: python -m sandbox down"
    )
    return 0


def _shown(path: Path) -> str:
    """A path as the user typed it: relative to the current folder when inside it."""
    path = path.resolve()
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


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
