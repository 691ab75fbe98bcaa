"""The one-command demo and `notebooks --store`: the tutorial's notebooks, headless, in order, in the sandbox.

`python -m tutorial demo` resets the sandbox, has the simulated class talk, runs every notebook and saves the
executed copies under `build/`. `python -m tutorial notebooks --store` re-executes the notebooks in place, which is
how their committed outputs are refreshed after a change (`make notebooks`).
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from pathlib import Path

import sandbox
import tutorial
from tutorial import contract, runner

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
# The demo's summary runs notebook 05's own cells with this tag (its clients, its `query` helper, its SQL and its
# stop words), so the numbers are the ones the notebook shows and the stop words live only there.
SUMMARY_TAG = "resumo"
ANALYSIS = "05-analise"


def notebook_names() -> list[str]:
    """The tutorial's notebooks that exist, in order."""
    return [name for name in contract.ORDER if (runner.NOTEBOOKS / f"{name}.ipynb").exists()]


def summary_cells() -> list[str]:
    """The code cells of notebook 05 tagged SUMMARY_TAG, in order."""
    return [
        cell.source
        for cell in runner.load_nbformat().read(runner.NOTEBOOKS / f"{ANALYSIS}.ipynb", as_version=4).cells
        if cell.cell_type == "code" and SUMMARY_TAG in cell.metadata.get("tags", [])
    ]


def summarize() -> dict:
    """Messages, participants, days, busiest hour and top words, by notebook 05's own queries on Athena.

    Runs in this process, against whatever AWS boto3 points at (the demo's sandbox); the cells' prints are
    dropped, their variables are the summary.
    """
    # The cells read the names the setup cell chose (tutorial.prefixo()); the demo's notebooks ran in an account of
    # their own, with the default names.
    contract.activate(contract.PREFIX)
    namespace: dict = {"tutorial": tutorial}
    with contextlib.redirect_stdout(io.StringIO()):
        for source in summary_cells():
            exec(compile(source, f"{ANALYSIS}.ipynb", "exec"), namespace)  # noqa: S102 - the notebook's own code
    per_day = namespace["per_day"]
    return {
        "messages": int(per_day["mensagens"].sum()),
        "participants": int(namespace["participants"]["participantes"].iloc[0]),
        "days": len(per_day),
        "first_day": per_day["context_date"].min(),
        "last_day": per_day["context_date"].max(),
        "busiest_hour": int(namespace["busiest_hour"]),
        "top_words": list(namespace["top_words"]["palavra"][:5]),
    }


def save_charts(executed: Path, folder: Path) -> list[Path]:
    """The PNG charts of an executed notebook, as image files."""
    import base64

    nbformat = runner.load_nbformat()
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
        timings = runner.run_notebooks(analysis, output_dir=output, progress=progress)
        summary = summarize()
        timings |= runner.run_notebooks(teardown, output_dir=output, progress=progress)
    for name, seconds in timings.items():
        print(f"  {name:<20} {seconds:5.1f} s")
    charts = [chart for name in names for chart in save_charts(output / f"{name}.ipynb", build / "graficos")]
    print()
    print("Resumo da conversa que passou pelo pipeline:")
    print(f"  mensagens:      {summary['messages']}")
    print(f"  participantes:  {summary['participants']}")
    print(f"  dias:           {summary['days']} ({summary['first_day']} a {summary['last_day']})")
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


def run_store() -> int:
    """Re-execute the notebooks in place from a fresh sandbox with the default seed (what nbval compares)."""
    os.environ.pop("SANDBOX_MESSAGES", None)
    sandbox.start(seed=42, reset=True)
    for name, seconds in runner.run_notebooks(notebook_names(), store=True).items():
        print(f"{name}: {seconds:.1f} s")
    return 0
