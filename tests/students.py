"""Notebooks run as a teacher's student would run them: with an IAM user's access key, and what they printed."""

from __future__ import annotations

from pathlib import Path

import nbformat

from tutorial import runner


def run_as(key: dict, notebooks: list[str], folder: Path, monkeypatch, conta: str | None = None) -> None:
    """Run `notebooks` in order, each in a fresh kernel, with the user's key (SANDBOX_AWS_ACCESS_KEY_ID makes the
    setup cell hand it to the notebook); `conta` is the CONTA_AWS the student sets ("compartilhada")."""
    with monkeypatch.context() as patch:
        if conta is not None:
            patch.setenv("CONTA_AWS", conta)
        patch.setenv("SANDBOX_AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        patch.setenv("SANDBOX_AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        patch.delenv("AWS_SESSION_TOKEN", raising=False)  # a user's long-term key carries no session token
        runner.run_notebooks(notebooks, output_dir=folder)


def outputs(path: Path) -> str:
    """Everything an executed notebook printed, tracebacks included."""
    notebook = nbformat.read(path, as_version=4)
    return "".join(
        output.get("text", "") + "".join(output.get("traceback", []))
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )
