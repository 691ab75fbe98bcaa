"""Colab and Binder links for the tutorial's public GitHub repository (for maintainers).

`python -m maintainer.publish OWNER/NAME` writes, from that one name:
- an "Open in Colab" badge under each notebook's title, pointing at that notebook on GitHub;
- at the top of each setup cell, the lines that only run in Google Colab: a new Colab runtime starts empty, so
  they clone the repository and install the project (sandbox included) before anything else;
- the Binder and Colab badges and the real `git clone` line in the README;
- `[project.urls]` in pyproject.toml.

Running it again with the same name changes nothing; with another name it moves every link. The repository must
be the one the notebooks are published in: the Colab cell runs `pip install` on whatever it clones.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
CLONE_DIR = "/content/data-pipeline-telegram"  # Colab's working folder, shown in its file browser
_REPO = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+")
_BADGE_LINE = re.compile(r"^\[!\[Abrir no Colab\]\(.*\n", re.M)
_BLOCK = re.compile(r"import sys\n\n# No Google Colab, .*?os\.chdir\(f\"\{PROJETO\}/notebooks\"\)\n", re.S)
_README_BADGES = re.compile(r"^\[!\[Binder\]\(.*\n", re.M)
_README_CLONE = re.compile(r"git clone \S+(?: \S+)*? data-pipeline-telegram")
_PYPROJECT_URLS = re.compile(r"\[project\.urls\]\n(?:[^\[\n].*\n)*\n?")


class PublishError(ValueError):
    """The repository name is not OWNER/NAME, or a file is not shaped as expected."""


def check_repo(repo: str) -> str:
    repo = repo.strip().removeprefix("https://github.com/").removesuffix(".git").strip("/")
    if not _REPO.fullmatch(repo):
        raise PublishError(f"use o nome do repositório no GitHub como DONO/NOME (recebi {repo!r})")
    return repo


def clone_url(repo: str) -> str:
    return f"https://github.com/{repo}.git"


def colab_url(repo: str, notebook: str, branch: str = "main") -> str:
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/notebooks/{notebook}"


def binder_url(repo: str, branch: str = "main") -> str:
    return f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=lab/tree/notebooks"


def colab_badge(repo: str, notebook: str, branch: str = "main") -> str:
    return (
        "[![Abrir no Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({colab_url(repo, notebook, branch)})"
    )


def colab_block(repo: str) -> str:
    """The setup cell's lines after `import os`: a no-op everywhere but in a Colab runtime."""
    return f"""\
import sys

# No Google Colab, cada runtime novo começa sem o projeto: baixa e instala só o que falta (1 a 2 minutos na primeira
# vez). O kernel, os widgets e as bibliotecas que o Colab já tem ficam como estão (veja o README).
if "google.colab" in sys.modules:
    import subprocess

    REPOSITORIO = "{clone_url(repo)}"
    PROJETO = "{CLONE_DIR}"
    if not os.path.isdir(PROJETO):
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", REPOSITORIO, PROJETO], check=True)
    sys.path.insert(0, PROJETO)  # o `pip install -e` só vale para processos novos, não para este kernel
    from tutorial.colab import install

    install(PROJETO)
    os.chdir(f"{{PROJETO}}/notebooks")
"""


def publish_notebook(path: Path, repo: str, branch: str = "main") -> bool:
    """Badge under the title and the Colab lines in the setup cell; returns whether the file changed."""
    notebook = nbformat.read(path, as_version=4)
    title = notebook.cells[0]
    setup = next(cell for cell in notebook.cells if cell.cell_type == "code")
    if title.cell_type != "markdown" or not title.source.startswith("# "):
        raise PublishError(f"{path.name}: a primeira célula deveria ser o título do notebook")
    if "\nimport os\n" not in f"\n{setup.source}":
        raise PublishError(f"{path.name}: a célula de configuração deveria importar os")

    heading, _, rest = _BADGE_LINE.sub("", title.source).partition("\n")
    new_title = f"{heading}\n{colab_badge(repo, path.name, branch)}\n\n{rest.lstrip(chr(10))}"
    before, _, after = _BLOCK.sub("", setup.source).partition("import os\n")
    new_setup = f"{before}import os\n{colab_block(repo)}\n{after.lstrip(chr(10))}"
    if (new_title, new_setup) == (title.source, setup.source):
        return False
    title.source, setup.source = new_title, new_setup
    nbformat.write(notebook, path)
    return True


def publish_readme(path: Path, repo: str, branch: str = "main") -> bool:
    text = path.read_text(encoding="utf-8")
    badges = (
        f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(repo, branch)}) "
        f"{colab_badge(repo, '01-bot-telegram.ipynb', branch)}\n"
    )
    heading, _, rest = _README_BADGES.sub("", text).partition("\n")
    if not heading.startswith("# ") or not _README_CLONE.search(rest):
        raise PublishError(f"{path.name}: esperava o título e a linha `git clone ... data-pipeline-telegram`")
    rest = _README_CLONE.sub(f"git clone {clone_url(repo)} data-pipeline-telegram", rest)
    new = f"{heading}\n\n{badges}\n{rest.lstrip(chr(10))}"
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def publish_pyproject(path: Path, repo: str) -> bool:
    text = path.read_text(encoding="utf-8")
    urls = f'[project.urls]\nRepository = "https://github.com/{repo}"\n\n'
    without = _PYPROJECT_URLS.sub("", text)
    anchor = "[project.optional-dependencies]"
    if anchor not in without:
        raise PublishError(f"{path.name}: não encontrei {anchor}")
    new = without.replace(anchor, urls + anchor, 1)
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def publish(repo: str, root: Path = ROOT, branch: str = "main") -> list[Path]:
    """Write every link for `repo` under `root`; returns the files that changed."""
    repo = check_repo(repo)
    changed = [
        path
        for path in sorted((root / "notebooks").glob("[0-9][0-9]-*.ipynb"))
        if publish_notebook(path, repo, branch)
    ]
    if publish_readme(root / "README.md", repo, branch):
        changed.append(root / "README.md")
    if publish_pyproject(root / "pyproject.toml", repo):
        changed.append(root / "pyproject.toml")
    return changed


def published_repo(root: Path = ROOT) -> str | None:
    """OWNER/NAME from pyproject.toml's [project.urls], or None while the tutorial is unpublished."""
    match = re.search(
        r'^Repository = "https://github\.com/([^"]+)"$', (root / "pyproject.toml").read_text(), re.M
    )
    return match.group(1) if match else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m maintainer.publish",
        description="põe os links do Colab e do Binder do repositório público (para quem mantém o tutorial)",
    )
    parser.add_argument("repo", help="o repositório no GitHub, como DONO/NOME")
    parser.add_argument("--branch", default="main", help="o branch publicado (padrão main)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        changed = publish(args.repo, branch=args.branch)
    except PublishError as error:
        print(f"Erro: {error}")
        return 2
    for path in changed:
        print(f"atualizado: {path.relative_to(ROOT)}")
    if not changed:
        print("Nada a mudar: os links já apontam para esse repositório.")
    else:
        print("Depois: `make test` (as saídas guardadas não mudam fora do Colab) e um commit.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
