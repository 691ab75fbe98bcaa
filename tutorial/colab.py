"""The Colab install: what the setup cell runs in a Colab runtime, after cloning the project.

A Colab runtime already runs a kernel, a notebook server and widgets of its own (ipykernel 6.17, jupyter-client 7,
notebook 6.5, ipywidgets 7.7) and has the usual data libraries. Replacing any of them under the live kernel is how a
runtime breaks (notebook 6.5 requires jupyter-client < 8; ipywidgets 8 stops tqdm's bars from showing in Colab,
googlecolab/colabtools#3023), and pip says so in a red ERROR. So this installs only what the runtime lacks, each at a
version that fits what is installed: pip gets every installed package pinned as a constraint, the way pip's docs
suggest to keep an environment's versions (https://pip.pypa.io/en/stable/user_guide/#constraints-files), and the
project itself with `--no-deps`. Nothing installed changes version, so no restart is ever needed.

The one exception is the sandbox's Athena engine (sqlglot, DuckDB), which runs only inside the sandbox's own
process: when the runtime's version is too old (Colab's sqlglot 25.20 is held there by ibis-framework), a newer one
goes to `sandbox.config.ENGINE_LIBS`, which only that process reads; the runtime keeps its own.

Only the standard library, `packaging` and `requests` (all in Colab) are imported here.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
import tempfile
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from sandbox.config import ENGINE_LIBS

# Used only in the sandbox's process: a newer copy can live beside the runtime's without touching it.
ENGINE = frozenset({"sqlglot", "duckdb"})
EXTRA = "sandbox"


class ColabInstallError(RuntimeError):
    """The runtime cannot take the project as it is; the message (pt-BR) says why and what was left alone."""


def requirements(project: Path) -> list[Requirement]:
    """The project's dependencies and its sandbox extra, from pyproject.toml (the project is not installed yet)."""
    table = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    listed = [*table["dependencies"], *table["optional-dependencies"][EXTRA]]
    return [
        requirement
        for line in listed
        if (requirement := Requirement(line)).marker is None or requirement.marker.evaluate()
    ]


def installed() -> dict[str, str]:
    """{canonical name: version} of every distribution this Python sees (read afresh)."""
    importlib.invalidate_caches()
    found: dict[str, str] = {}
    for distribution in importlib.metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            found.setdefault(canonicalize_name(name), distribution.version)
    return found


def engine_version(name: str) -> str | None:
    """The version of an engine library in ENGINE_LIBS, if one was installed there."""
    return next(
        (
            d.version
            for d in importlib.metadata.distributions(path=[str(ENGINE_LIBS)])
            if d.metadata["Name"] == name
        ),
        None,
    )


def plan(wanted: list[Requirement], present: dict[str, str]) -> tuple[list[Requirement], list[Requirement]]:
    """(what the runtime lacks, engine libraries it has too old); raises when anything else is too old."""
    missing, engine, too_old = [], [], []
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        version = present.get(name)
        if version is None:
            missing.append(requirement)
        elif requirement.specifier.contains(version, prereleases=True):
            continue
        elif name in ENGINE:
            engine.append(requirement)
        else:
            too_old.append(f"{requirement.name} {version} (o tutorial precisa de {requirement.specifier})")
    if too_old:
        raise ColabInstallError(
            "Este runtime do Colab tem versões que o tutorial não aceita: "
            + "; ".join(too_old)
            + ". Nada foi instalado nem trocado: trocar essas bibliotecas com o kernel rodando deixaria o runtime "
            "quebrado. Avise quem mantém o tutorial (o Colab mudou de versões) e, enquanto isso, use o Binder ou "
            "o seu computador (veja o README)."
        )
    return missing, engine


def _pip(*arguments: str) -> None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input"]
    result = subprocess.run([*command, *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        raise ColabInstallError(
            "A instalação do tutorial neste runtime falhou e nenhuma biblioteca do Colab foi trocada. Rode a "
            "célula de novo (pode ter sido a rede); se falhar outra vez, avise quem mantém o tutorial com a "
            f"mensagem do pip:\n{result.stdout[-1500:]}{result.stderr[-1500:]}"
        )


def install(project: str | Path) -> dict[str, str]:
    """Install into this runtime only what it lacks; returns {name: version} of what was added.

    Prints, in Portuguese, what was added and what was left as Colab has it. Run again, it does nothing.
    """
    project = Path(project)
    wanted = requirements(project)
    present = installed()
    missing, engine = plan(wanted, present)
    engine = [r for r in engine if not _satisfied(r, engine_version(r.name))]
    if not missing and not engine and "data-pipeline-telegram" in present:
        return {}
    if missing:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="colab-constraints-") as constraints:
            constraints.write("".join(f"{name}=={version}\n" for name, version in sorted(present.items())))
            constraints.flush()
            _pip("--constraint", constraints.name, *(str(r) for r in missing))
    # The project's own dependencies are all there now (or, for the engine, in ENGINE_LIBS).
    _pip("--no-deps", "--editable", str(project))
    for requirement in engine:
        _pip("--no-deps", "--upgrade", "--target", str(ENGINE_LIBS), str(requirement))
    after = installed()
    added = {name: version for name, version in sorted(after.items()) if name not in present}
    kept = sorted(
        f"{requirement.name} {present[canonicalize_name(requirement.name)]}"
        for requirement in wanted
        if canonicalize_name(requirement.name) in present
    )
    print(
        "Instalado neste runtime só o que o Colab não tinha: "
        + ", ".join(f"{name} {version}" for name, version in added.items())
        + "."
    )
    print("Ficaram como o Colab tem: " + ", ".join(kept) + " (e o kernel e os widgets do Colab).")
    if engine:
        newer = ", ".join(
            f"{r.name} {engine_version(r.name)} (o Colab tem o {present[canonicalize_name(r.name)]})"
            for r in engine
        )
        print(
            f"O motor de SQL do sandbox precisa de versões mais novas que as do Colab: {newer}. Elas ficaram em "
            f"{ENGINE_LIBS.relative_to(project.resolve())}, dentro do projeto, e só o processo do sandbox as usa; o Colab "
            "continua com as dele."
        )
    return added


def _satisfied(requirement: Requirement, version: str | None) -> bool:
    return version is not None and requirement.specifier.contains(version, prereleases=True)
