"""The packages a Colab runtime has before any cell runs, kept as data for the Colab test (for maintainers).

Google publishes them in github.com/googlecolab/backend-info: `pip-freeze.txt` (the CPU runtime's `pip freeze`)
and `os-info.txt` (its Ubuntu and Python). `colab-runtime.txt`, next to this file, is that list with its source,
commit and date; tests/test_publish.py builds its simulated Colab runtime from it. To refresh it from a newer list:

    git clone --depth 1 https://github.com/googlecolab/backend-info /tmp/backend-info
    .venv/bin/python -m maintainer.colab_runtime /tmp/backend-info

then run the Colab test (`.venv/bin/python -m pytest tests/test_publish.py -k colab`) and commit.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).with_name("colab-runtime.txt")
SOURCE = "https://github.com/googlecolab/backend-info"
# `name==version`; the lines `name @ URL` (torch's CPU wheels, Colab's own google-colab) are not on PyPI.
_PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")


class RefreshError(RuntimeError):
    """The folder is not a clone of backend-info; the message (pt-BR) says what is missing."""


def canonical(name: str) -> str:
    """PEP 503's normalized name: `Flask` and `flask`, `jupyter_client` and `jupyter-client` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_freeze(text: str) -> dict[str, str]:
    """{name as pip spells it: version} for every `name==version` line of a `pip freeze`."""
    return {match[1]: match[2] for line in text.splitlines() if (match := _PINNED.match(line.strip()))}


def read(path: Path = DATA) -> tuple[dict[str, str], dict[str, str]]:
    """(the runtime's packages {canonical name: version}, the header's fields: source, commit, date, python)."""
    text = path.read_text(encoding="utf-8")
    header = dict(re.findall(r"^# (\w+): (.+)$", text, re.M))
    return {canonical(name): version for name, version in parse_freeze(text).items()}, header


def render(packages: dict[str, str], commit: str, date: str, python: str, system: str) -> str:
    lines = [
        "# The packages of Google Colab's CPU runtime, as Google publishes them (pip-freeze.txt of backend-info).",
        "# Written by `python -m maintainer.colab_runtime`; do not edit by hand.",
        f"# source: {SOURCE}/blob/{commit}/pip-freeze.txt",
        f"# commit: {commit}",
        f"# date: {date}",
        f"# python: {python}",
        f"# system: {system}",
        *(
            f"{name}=={version}"
            for name, version in sorted(packages.items(), key=lambda item: canonical(item[0]))
        ),
    ]
    return "\n".join(lines) + "\n"


def refresh(clone: Path, data: Path = DATA) -> str:
    """Rewrite `data` from a clone of backend-info; returns what changed, in a line (pt-BR)."""
    freeze, os_info = clone / "pip-freeze.txt", clone / "os-info.txt"
    if not freeze.is_file() or not os_info.is_file():
        raise RefreshError(f"{clone} não tem pip-freeze.txt e os-info.txt: é um clone de {SOURCE}?")
    packages = parse_freeze(freeze.read_text(encoding="utf-8"))
    facts = [line for line in os_info.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    python = next((line.split()[1] for line in facts if line.startswith("Python ")), None)
    if not packages or python is None:
        raise RefreshError(f"não achei os pacotes em {freeze} ou a versão do Python em {os_info}")
    log = subprocess.run(
        ["git", "-C", str(clone), "log", "-1", "--format=%H %cs", "--", "pip-freeze.txt"],
        capture_output=True,
        text=True,
    )
    if log.returncode != 0 or not log.stdout.strip():
        raise RefreshError(f"{clone} não é um clone git (preciso do commit e da data de pip-freeze.txt)")
    commit, date = log.stdout.split()
    before = read(data)[0] if data.is_file() else {}
    data.write_text(render(packages, commit, date, python, facts[0].strip()), encoding="utf-8")
    after = {canonical(name): version for name, version in packages.items()}
    changed = sorted(name for name in after if before.get(name) != after[name])
    return f"{len(after)} pacotes, Python {python}, commit {commit[:12]} de {date}; {len(changed)} versões mudaram"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m maintainer.colab_runtime",
        description=f"atualiza {DATA.name} com os pacotes que o Colab publica (para quem mantém o tutorial)",
    )
    parser.add_argument("clone", type=Path, help=f"um clone de {SOURCE}")
    args = parser.parse_args(argv)
    try:
        print(refresh(args.clone))
    except RefreshError as error:
        print(f"Erro: {error}")
        return 2
    print("Depois: rode o teste do Colab (pytest tests/test_publish.py -k colab) e faça um commit.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
