"""The one notebook runner: the tutorial's notebooks, headless, in order, each in a fresh Jupyter kernel.

Used by the setup cell's catch-up, the demo, `python -m tutorial notebooks --store` and the tests.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import sandbox

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def load_nbformat():
    """The nbformat module, imported without jsonschema's IRI checker.

    jsonschema, which nbformat imports, builds rfc3987-syntax's grammar at import when that package is installed
    (JupyterLab's jupyter-events brings it): 1.5 s of CPU in every process that reads a notebook, each kernel
    that catches up included. nbformat's schemas check no formats, and jsonschema skips a checker whose package
    does not import.
    """
    sys.modules.setdefault("rfc3987_syntax", None)
    import nbformat

    return nbformat


def run_notebooks(
    names: list[str], *, output_dir: Path | None = None, store: bool = False, progress=None
) -> dict[str, float]:
    """Execute notebooks in order, each in a fresh kernel, against the current environment; seconds per notebook.

    `store=True` writes the outputs back into `notebooks/` (without the metadata that changes on every run);
    otherwise executed copies go to `output_dir`. `progress` (a tqdm bar) advances once per code cell and shows
    the notebook running. A failing notebook raises SandboxError, naming it and where its executed copy is.
    """
    nbformat = load_nbformat()
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from traitlets.config import Config

    timings = {}
    with tempfile.TemporaryDirectory(prefix="kernel-") as sockets:
        config = Config()
        if os.name == "posix":
            # Unix sockets instead of TCP: the kernel is reachable by this user only, and ipykernel does not
            # print, in a learner's notebook, its English warning that localhost TCP is unencrypted.
            config.KernelManager.transport = "ipc"
            config.KernelManager.ip = f"{sockets}/kernel"
        for position, name in enumerate(names, start=1):
            source = NOTEBOOKS / f"{name}.ipynb"
            notebook = nbformat.read(source, as_version=4)
            target = (
                source if store else Path(output_dir or tempfile.mkdtemp(prefix="notebooks-")) / source.name
            )
            if progress is not None:
                # The bar counts the cells of all of them: it says which notebook of how many is running.
                progress.set_description(f"notebook {name[:2]} ({position} de {len(names)})")
            started = time.monotonic()
            client = NotebookClient(
                notebook,
                timeout=900,
                kernel_name="python3",
                record_timing=False,
                resources={"metadata": {"path": str(NOTEBOOKS)}},
                config=config,
                on_cell_executed=_advance(progress),
            )
            try:
                # The kernel's own stderr goes to a log, not the terminal or the learner's cell: ipykernel may print
                # a traceback of its own shutdown (a race between its control and IOPub threads, ipykernel#1518).
                # A cell's errors still come back through the kernel's messages.
                log_dir = sandbox.config.home()
                log_dir.mkdir(parents=True, exist_ok=True)
                with open(log_dir / "kernels.log", "ab") as kernel_log:
                    client.execute(stderr=kernel_log)
            except CellExecutionError as error:
                raise sandbox.SandboxError(
                    f"O notebook {name} falhou ao rodar; a cópia executada, com o erro, está em {target}"
                ) from error
            except NoSuchKernel:
                raise sandbox.SandboxError(
                    "Para refazer os notebooks é preciso o kernel do Jupyter: pip install ipykernel"
                ) from None
            finally:
                for cell in notebook.cells:
                    cell.metadata.pop("execution", None)
                notebook.metadata.pop("widgets", None)
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(notebook, target)
            timings[name] = time.monotonic() - started
    return timings


# The bar names the notebook running and counts the code cells of all the notebooks run together; no rate or time
# estimate (cells differ too much for them).
BAR = "{desc}{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} células no total"  # tqdm adds ": " to desc


def _advance(progress):
    if progress is None:
        return None
    return lambda cell, cell_index, execute_reply: progress.update(1) if cell.cell_type == "code" else None


def code_cells(name: str) -> int:
    return sum(
        cell.cell_type == "code"
        for cell in load_nbformat().read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells
    )
