"""The learner's JupyterLab, in a real browser: a notebook opened cold runs to the end and looks right.

JupyterLab runs with the project's own settings (binder/overrides.json, what `make lab` installs) in a sandbox of
its own; Chromium opens a notebook, runs all cells, and the test reads what a person sees on the page.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time

import pytest
import requests

from tests.browser import browser_page, chromium_path, screenshot
from tutorial.harness import NOTEBOOKS, ROOT, free_port, isolated_sandbox

pytestmark = pytest.mark.slow

# What a learner's Run All looks like: every cell executed, the kernel idle again.
ALL_CELLS_RAN = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
    return kernel && kernel.status === 'idle' && prompts.length > 0
        && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on 127.0.0.1 over a copy of the notebooks, joined to a fresh sandbox; yields its base URL."""
    chromium_path()  # fail or skip before starting anything
    notebooks = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, notebooks)
    settings = tmp_path / "settings"
    settings.mkdir()
    overrides = json.loads((ROOT / "binder" / "overrides.json").read_text())
    # Render every cell (JupyterLab 4 draws only those on screen), so the page holds all the outputs to read.
    overrides["@jupyterlab/notebook-extension:tracker"] = {"windowingMode": "none"}
    (settings / "overrides.json").write_text(json.dumps(overrides))
    port, token = free_port(), secrets.token_hex(16)
    with isolated_sandbox():
        server = subprocess.Popen(
            [
                sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
                "--ip=127.0.0.1", f"--port={port}", f"--ServerApp.token={token}",
                f"--ServerApp.root_dir={notebooks}", f"--LabApp.app_settings_dir={settings}",
                "--LabApp.expose_app_in_browser=True", "--KernelManager.transport=ipc",
                # A workspace of its own: the tabs another run left open (in ~/.jupyter) are not restored here.
                f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
            ],
            stdout=(tmp_path / "lab.log").open("wb"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
                assert server.poll() is None and time.monotonic() < deadline, (
                    tmp_path / "lab.log"
                ).read_text()
                time.sleep(0.5)
            yield f"http://127.0.0.1:{port}", token, notebooks
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_analysis_opened_cold_runs_all_cells_cleanly_in_jupyterlab(lab):
    base, token, _ = lab
    with browser_page() as page:
        page.goto(f"{base}/lab/tree/05-analise.ipynb?token={token}")
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
            timeout=60_000,
        )
        # The interface speaks Portuguese (the file browser's column) and greets with no news pop-up.
        assert page.get_by_text("Nome", exact=True).first.is_visible()
        assert page.locator(".jp-Notification-Toast").count() == 0

        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(ALL_CELLS_RAN, timeout=300_000, polling=1000)

        setup = page.locator(".jp-Cell").nth(1)
        setup.scroll_into_view_if_needed()
        screenshot(page, "jupyterlab-05-configuracao")
        # The catch-up (02-04 run headless) shows a real progress bar, not text in a stderr box.
        assert setup.get_by_text("Refazendo os notebooks 02, 03 e 04").is_visible()
        assert setup.locator(".widget-hprogress, .widget-progress").count() >= 1
        assert (
            page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').count()
            == 0
        )
        assert (
            page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]').count() == 0
        )

        charts = page.locator(".jp-RenderedImage img")
        assert charts.count() == 4
        charts.last.scroll_into_view_if_needed()
        assert charts.last.evaluate("img => img.complete && img.naturalWidth > 300")
        screenshot(page, "jupyterlab-05-grafico")


def test_a_tutorial_error_shows_as_one_short_block_without_a_traceback(lab):
    base, token, notebooks = lab
    # A learner who mistypes AMBIENTE in the setup cell.
    notebook = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": "setup", "metadata": {}, "outputs": [],
             "source": 'import tutorial\n\nAMBIENTE = tutorial.configure("01", "produção")'},
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    (notebooks / "erro.ipynb").write_text(json.dumps(notebook))
    with browser_page() as page:
        page.goto(f"{base}/lab/tree/erro.ipynb?token={token}")
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
            timeout=60_000,
        )
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(ALL_CELLS_RAN, timeout=120_000, polling=500)
        screenshot(page, "jupyterlab-erro-do-tutorial")
        # JupyterLab draws an error output with the stderr renderer (pink), as a traceback would be.
        error = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output")
        assert error.count() == 1
        text = error.inner_text()
        assert text.startswith("Configuração:") and "AMBIENTE='produção' não é um ambiente conhecido" in text
        assert "Traceback" not in text and "setup.py" not in text and len(text.splitlines()) <= 3
    # make lab's kernels talk over local sockets: no unencrypted-TCP warning in the terminal.
    assert "without encryption" not in (notebooks.parent / "lab.log").read_text()


def test_a_notebook_opens_without_unsaved_changes_and_trusted(lab):
    # The kernel's display name matches the stored one, so starting it changes nothing in the notebook: no
    # "unsaved" dot on the tab before the learner does anything.
    base, token, _ = lab
    with browser_page() as page:
        page.goto(f"{base}/lab/tree/01-bot-telegram.ipynb?token={token}")
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
            timeout=60_000,
        )
        time.sleep(2)  # what JupyterLab writes into the model when the kernel is ready happens by now
        assert page.evaluate("window.jupyterapp.shell.currentWidget.context.model.dirty") is False
