"""Colab and Binder: the links `python -m maintainer.publish` writes, the Colab-only install, and Binder's build plan."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from maintainer import colab_runtime as colab_runtime_data
from maintainer import publish
from tutorial.contract import ORDER
from tutorial.harness import OTHER_WORLD, own_sandbox, repository_files

ROOT = Path(__file__).resolve().parent.parent
REPO = "turma-dados/data-pipeline-telegram"
NOTEBOOK_FILES = [f"{name}.ipynb" for name in ORDER]


def project_copy(destination: Path) -> Path:
    """The working tree as git sees it (committed or not, ignored files left out)."""
    for path in repository_files():
        (destination / path.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination / path.relative_to(ROOT))
    return destination


def colab_links(path: Path) -> list[str]:
    return re.findall(
        r"https://colab\.research\.google\.com/github/[^)\s]+", path.read_text(encoding="utf-8")
    )


def setup_source(path: Path) -> str:
    return next(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")


@pytest.fixture
def published(tmp_path) -> Path:
    root = project_copy(tmp_path / "repo")
    publish.publish(REPO, root)
    return root


# ---- the links ------------------------------------------------------------------------------------------------
def test_every_notebook_gets_a_colab_badge_that_opens_itself(published):
    for name in NOTEBOOK_FILES:
        title = nbformat.read(published / "notebooks" / name, as_version=4).cells[0].source
        assert title.splitlines()[1] == (
            "[![Abrir no Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{REPO}/blob/main/notebooks/{name})"
        )
        assert title.startswith("# ")  # the title stays the first line


def test_setup_cells_clone_the_published_repository_only_in_colab(published):
    for name in NOTEBOOK_FILES:
        source = setup_source(published / "notebooks" / name)
        guarded = source.split('if "google.colab" in sys.modules:\n', 1)[1].split("\nAMBIENTE = ", 1)[0]
        assert f'REPOSITORIO = "https://github.com/{REPO}.git"' in source
        assert '"git", "clone"' in guarded and "from tutorial.colab import install" in guarded
        assert "install(PROJETO)" in guarded
        assert 'os.chdir(f"{PROJETO}/notebooks")' in guarded
        assert all(line.startswith("    ") or not line for line in guarded.splitlines())  # all of it guarded
        assert source.index("google.colab") < source.index("import tutorial")


def test_readme_gets_binder_badge_and_the_real_clone_command(published):
    readme = (published / "README.md").read_text(encoding="utf-8")
    assert f"(https://mybinder.org/v2/gh/{REPO}/main?urlpath=lab/tree/notebooks)" in readme
    assert f"git clone https://github.com/{REPO}.git data-pipeline-telegram" in readme
    assert "<este repositório>" not in readme
    assert publish.published_repo(published) == REPO


def test_publishing_again_changes_nothing_and_another_name_moves_every_link(published):
    assert publish.publish(REPO, published) == []

    publish.publish("outra-pessoa/fork-do-tutorial", published)

    for path in [published / "README.md", *(published / "notebooks").glob("*.ipynb")]:
        text = path.read_text(encoding="utf-8")
        assert REPO not in text, path.name
    for name in NOTEBOOK_FILES:
        assert colab_links(published / "notebooks" / name) == [
            f"https://colab.research.google.com/github/outra-pessoa/fork-do-tutorial/blob/main/notebooks/{name}"
        ]
        assert setup_source(published / "notebooks" / name).count("google.colab") == 1


def test_published_notebooks_pass_the_linter_and_keep_their_outputs(published):
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "notebooks"],
            cwd=published,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    for name in NOTEBOOK_FILES:
        before = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        after = nbformat.read(published / "notebooks" / name, as_version=4)
        assert [cell.get("outputs") for cell in after.cells] == [cell.get("outputs") for cell in before.cells]


@pytest.mark.parametrize(
    "name",
    ["data-pipeline-telegram", "https://gitlab.com/turma/repo", "dono/nome/extra", "dono/nome com espaço"],
)
def test_a_name_that_is_not_owner_slash_name_on_github_is_refused(name, tmp_path):
    root = project_copy(tmp_path / "repo")
    with pytest.raises(publish.PublishError, match="DONO/NOME"):
        publish.publish(name, root)
    assert (root / "README.md").read_bytes() == (ROOT / "README.md").read_bytes()


def test_committed_files_match_the_repository_named_in_pyproject(tmp_path):
    """Unpublished: no Colab/Binder link anywhere. Published: exactly what `publish` writes for that name."""
    repo = publish.published_repo(ROOT)
    paths = [ROOT / "README.md", *(ROOT / "notebooks" / name for name in NOTEBOOK_FILES)]
    if repo is None:
        for path in paths:
            text = path.read_text(encoding="utf-8")
            assert "colab.research.google.com" not in text and "mybinder.org" not in text, path.name
        return
    copy = project_copy(tmp_path / "repo")
    assert publish.publish(repo, copy) == [], "rode `python -m maintainer.publish` e faça o commit"


# ---- Colab: a runtime with Colab's own packages runs the notebooks ----------------------------------------------
COLAB_STARTUP = """\
import sys
sys.path.insert(0, {stub!r})
import google.colab  # Colab's kernels start with it imported; that is how the setup cell knows where it runs
"""
# What the simulated runtime has of Colab's package set (maintainer/colab-runtime.txt, at Colab's versions, with
# their dependencies at Colab's versions too): the kernel and notebook server, the widgets, the data libraries, the
# web stack and pip itself. Every other Colab package the project's dependencies reach is added by the test.
COLAB_STACK = [
    *("ipykernel", "ipython", "jupyter-client", "jupyter-core", "jupyter-server", "notebook", "tornado"),
    *("traitlets", "pyzmq", "ipywidgets", "widgetsnbextension", "jupyterlab-widgets", "nbclient", "nbformat"),
    *("numpy", "pandas", "pyarrow", "matplotlib", "duckdb", "sqlglot", "tqdm"),
    *("requests", "urllib3", "flask", "werkzeug", "packaging", "pip", "setuptools"),
]
# An output a learner sees in a red box, or pip's and Colab's words for a broken or stale runtime.
TROUBLE = re.compile(r"\bERROR\b|(?i:restart|reinicie)")


def colab_runtime(runtime: Path) -> Path:
    """A Python with Colab's packages at Colab's versions (uv, in seconds); returns its interpreter.

    This machine's Python (3.11), not Colab's (3.13): the same package versions, other wheels of them.
    """
    colab, _ = colab_runtime_data.read()
    uv = Path(sys.executable).with_name("uv")
    compiled = subprocess.run(
        [
            uv,
            "pip",
            "compile",
            "--quiet",
            "--no-header",
            "--no-annotate",
            "--extra",
            "sandbox",
            ROOT / "pyproject.toml",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    reached = {
        colab_runtime_data.canonical(line.split("==")[0]) for line in compiled.splitlines() if "==" in line
    }
    subprocess.run([uv, "venv", "--quiet", "--seed", str(runtime)], check=True)
    python = runtime / "bin" / "python"
    names = sorted({*COLAB_STACK, *(reached & colab.keys())})
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            python,
            "--constraint",
            colab_runtime_data.DATA,
            *names,
        ],
        check=True,
    )
    return python


def installed(python: Path) -> dict[str, str]:
    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format", "json"], capture_output=True, text=True, check=True
    ).stdout
    return {colab_runtime_data.canonical(item["name"]): item["version"] for item in json.loads(listed)}


def shown_kinds(notebook, cells: slice = slice(None)) -> list[str]:
    """What a learner sees besides text: widgets, tables, charts (one entry per output, by MIME types)."""
    return [
        ",".join(sorted(output.get("data", {})))
        for cell in [cell for cell in notebook.cells if cell.cell_type == "code"][cells]
        for output in cell.outputs
        if output.output_type != "stream"
    ]


def words(notebook, index: int) -> str:
    """What a code cell printed (0: the setup cell; -1: the last)."""
    cell = [cell for cell in notebook.cells if cell.cell_type == "code"][index]
    return "".join(output.get("text", "") for output in cell.outputs)


@pytest.mark.slow
def test_notebook_opened_cold_in_a_fresh_colab_runtime_installs_the_project_and_runs(tmp_path, monkeypatch):
    """Notebooks 01 to 06, in order, in a runtime with Colab's published packages; the first one installs.

    The install adds only what Colab lacks and changes no version Colab has; its cell shows no pip ERROR, no
    restart warning and nothing on stderr; the widgets, tables and charts are the ones the stored notebooks show.
    """
    from nbclient import NotebookClient

    # The published repository: the working tree, committed, reachable at the GitHub URL through git's insteadOf.
    content = tmp_path / "content"  # Colab's /content
    project = content / "data-pipeline-telegram"
    remote = project_copy(tmp_path / "remote")
    publish.publish(REPO, remote)
    for path in (remote / "notebooks").glob("*.ipynb"):  # the one local detail: where Colab's /content is
        path.write_text(
            path.read_text(encoding="utf-8").replace(publish.CLONE_DIR, str(project)), encoding="utf-8"
        )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], cwd=remote, check=True)
    subprocess.run([*git, "add", "-A"], cwd=remote, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "published"], cwd=remote, check=True)
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text(f'[url "{remote.as_uri()}"]\n\tinsteadOf = {publish.clone_url(REPO)}\n')

    # The runtime: Colab's packages, where `google.colab` is imported at start; /content is tmp.
    runtime = tmp_path / "runtime"
    python = colab_runtime(runtime)
    subprocess.run(
        [python, "-m", "ipykernel", "install", "--prefix", str(runtime), "--name", "python3"],
        check=True,
        capture_output=True,
    )
    stub = tmp_path / "colab-stub"
    (stub / "google" / "colab").mkdir(parents=True)
    (stub / "google" / "colab" / "__init__.py").write_text('"""Stands in for Colab\'s module."""\n')
    ipython_dir = tmp_path / "ipython"
    (ipython_dir / "profile_default" / "startup").mkdir(parents=True)
    (ipython_dir / "profile_default" / "startup" / "00-colab.py").write_text(
        COLAB_STARTUP.format(stub=str(stub))
    )
    content.mkdir()
    before = installed(python)

    environment = {
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "IPYTHONDIR": str(ipython_dir),
        "JUPYTER_PATH": str(runtime / "share" / "jupyter"),
        **own_sandbox(tmp_path / "sandbox-home"),
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    # Colab's shell: nor this checkout's Python, nor pip told to stay quiet about its version.
    for name in (*OTHER_WORLD, "VIRTUAL_ENV", "PYTHONPATH", "PIP_DISABLE_PIP_VERSION_CHECK"):
        monkeypatch.delenv(name, raising=False)
    # Colab's Python writes bytecode. Told not to (as this machine's shell is), every process of the runtime would
    # compile moto, pandas and boto3 from source again: 25 s of this test's 73 s of CPU.
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)

    executed = {}
    try:
        for name in NOTEBOOK_FILES:
            if name.startswith("04"):
                # On Colab each notebook gets a runtime of its own: from 04 on, a fresh sandbox, which the setup
                # cell brings up to date by running 02 and 03 headless with Colab's nbclient and jupyter-client.
                subprocess.run(
                    [python, "-m", "sandbox", "down"], cwd=content, capture_output=True, timeout=60
                )
                for variable, value in own_sandbox(tmp_path / "sandbox-home-04").items():
                    monkeypatch.setenv(variable, value)
            notebook = nbformat.read(remote / "notebooks" / name, as_version=4)
            NotebookClient(
                notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": content}}
            ).execute()
            executed[name] = notebook
    finally:
        subprocess.run([python, "-m", "sandbox", "down"], cwd=content, capture_output=True, timeout=60)

    # The first cell: the install says, in Portuguese, what it added; nothing in red, no restart asked for.
    said = words(executed[NOTEBOOK_FILES[0]], 0)
    assert "Instalado neste runtime só o que o Colab não tinha:" in said
    assert not TROUBLE.search(said), said
    assert "Refazendo os notebooks 02 e 03 (o sandbox não tem o que eles criam)" in words(
        executed["04-etl.ipynb"], 0
    )
    widget = "application/vnd.jupyter.widget-view+json,text/plain"
    assert shown_kinds(executed["04-etl.ipynb"], slice(0, 1)) == [widget]  # the catch-up's progress bar
    for name, notebook in executed.items():
        stored = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                assert output.get("name") != "stderr", (name, output)
        # tqdm's bar a widget (with ipywidgets 7), DataFrames as tables, matplotlib's charts: as stored.
        after_setup = slice(1, None)
        assert shown_kinds(notebook, after_setup) == shown_kinds(stored, after_setup), name
        # And each notebook reaches its verdict as its stored copy does ("Tudo certo: ..."; the counts after a
        # catch-up may differ), before its Desafios.
        assert verdicts(notebook) == verdicts(stored) != [], name

    # Nothing Colab had changed version; what was added is what Colab lacks.
    after = installed(python)
    assert {name: after.get(name) for name in before} == before
    added = {name: version for name, version in after.items() if name not in before}
    colab, _ = colab_runtime_data.read()
    assert {"data-pipeline-telegram", "boto3", "moto", "flask-cors"} <= added.keys()
    assert not added.keys() & colab.keys(), "the simulated runtime lacks a package Colab has"
    # The sandbox's newer sqlglot and DuckDB sit beside Colab's, for the sandbox's process only.
    engine = project / "build" / "engine-libs"
    beside = {p.name.split("-")[0] for p in engine.glob("*.dist-info")}
    assert beside == {"sqlglot", "duckdb"}, beside
    print("Adicionados ao runtime:", ", ".join(f"{n} {v}" for n, v in sorted(added.items())))

    shown = subprocess.run(
        [python, "-m", "pip", "show", "data-pipeline-telegram"], capture_output=True, text=True, check=True
    ).stdout
    assert f"Editable project location: {project}" in shown
    # The kernel imported the clone's code, not this checkout's.
    located = subprocess.run(
        [python, "-c", "import sandbox; print(sandbox.__file__)"],
        cwd=content,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert located.startswith(str(project))


# ---- Binder: repo2docker's build plan, printed without Docker -------------------------------------------------
def verdicts(notebook) -> list[str]:
    """The notebook's "Tudo certo" / "Tudo limpo" lines, up to their colon (the counts may differ)."""
    lines = [
        line
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        for line in (output.get("text", "") or "").splitlines()
    ]
    return [line.split(":")[0] for line in lines if line.startswith("Tudo ")]


def binder_dockerfile() -> str:
    result = subprocess.run(
        [Path(sys.executable).parent / "jupyter-repo2docker", "--no-build", "--debug", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout + result.stderr


def test_binder_installs_the_project_after_copying_it_into_the_image():
    dockerfile = binder_dockerfile()

    environment = dockerfile.index('--file "binder/environment.yml"')
    copy = dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/")
    post_build = dockerfile.index("RUN ./binder/postBuild")
    # environment.yml is installed before the repository is in the image: it cannot name the project itself.
    assert environment < copy < post_build
    environment_file = (ROOT / "binder" / "environment.yml").read_text()
    assert "-e " not in environment_file and " ." not in environment_file
    post_build_file = (ROOT / "binder" / "postBuild").read_text()
    assert os.access(ROOT / "binder" / "postBuild", os.X_OK)
    assert "set -euo pipefail" in post_build_file
    # The locked versions (uv.lock), then the project without resolving again: Binder gets what the tests passed with.
    export = re.search(r"^uv export .*$", post_build_file, re.M).group(0)
    assert "--frozen" in export and "--extra sandbox --extra ptbr" in export
    assert 'pip install --no-cache-dir -r "$requirements"' in post_build_file
    assert "pip install --no-cache-dir --no-deps -e ." in post_build_file
    exported = subprocess.run(
        [Path(sys.executable).parent / "uv", *shlex.split(export.split(" --output-file")[0])[1:]],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    lock = (ROOT / "uv.lock").read_text()
    for name in ("boto3", "moto", "duckdb", "sqlglot"):
        version = re.search(rf'\[\[package\]\]\nname = "{name}"\nversion = "([^"]+)"', lock).group(1)
        assert f"\n{name}=={version}" in exported, name
    # The same JupyterLab settings as `make lab`: interface in pt-BR, no news pop-up.
    assert "cp binder/overrides.json" in post_build_file
    overrides = json.loads((ROOT / "binder" / "overrides.json").read_text())
    assert overrides["@jupyterlab/translation-extension:plugin"]["locale"] == "pt_BR"
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"


def test_binder_and_conda_use_the_same_python_and_the_one_dependency_list():
    minimum = re.search(r'requires-python = ">=3\.(\d+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    pinned = set()
    for path in (ROOT / "environment.yml", ROOT / "binder" / "environment.yml"):
        text = path.read_text()
        pinned.add(int(re.search(r"- python=3\.(\d+)", text).group(1)))
        # No package is listed here: pyproject.toml is the one list.
        listed = re.findall(r"^\s*- ([A-Za-z][\w.-]*)", text, re.M)
        assert set(listed) <= {"python", "pip", "conda-forge"}, (path, listed)
    assert len(pinned) == 1 and pinned.pop() >= int(minimum)


def test_publish_command_explains_a_bad_name_in_portuguese_and_writes_nothing():
    before = {path: path.read_bytes() for path in [ROOT / "README.md", ROOT / "pyproject.toml"]}
    result = subprocess.run(
        [sys.executable, "-m", "maintainer.publish", "data-pipeline-telegram"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Erro: use o nome do repositório no GitHub como DONO/NOME" in result.stdout
    assert {path: path.read_bytes() for path in before} == before


# ---- Colab: what the install plans on Colab's published packages (fast; the runtime itself is tested above) -----
def test_on_colabs_packages_the_install_adds_only_what_colab_lacks():
    from packaging.requirements import Requirement

    from tutorial import colab

    present, header = colab_runtime_data.read()
    missing, engine = colab.plan(colab.requirements(ROOT), present)

    assert header["source"].startswith("https://github.com/googlecolab/backend-info/blob/")
    assert {colab_runtime_data.canonical(r.name) for r in missing} == {"boto3", "moto", "flask-cors"}
    assert {r.name for r in engine} == {"sqlglot", "duckdb"}
    # A runtime whose kernel is older than the project accepts: refused, in Portuguese, with nothing installed.
    with pytest.raises(colab.ColabInstallError, match=r"ipykernel 6\.0\.0 .*Nada foi instalado nem trocado"):
        colab.plan([Requirement("ipykernel>=6.17")], present | {"ipykernel": "6.0.0"})


def test_colab_runtime_refresh_reads_a_backend_info_clone(tmp_path):
    clone = tmp_path / "backend-info"
    clone.mkdir()
    (clone / "pip-freeze.txt").write_text(
        "# generated by pip freeze\n"
        "torch @ https://download.pytorch.org/whl/cpu/torch-2.11.0%2Bcpu-cp313-cp313-manylinux_2_28_x86_64.whl\n"
        "Flask==3.2.0\njupyter_client==7.4.9\nipywidgets==7.7.1\n"
    )
    (clone / "os-info.txt").write_text("# generated\nUbuntu 24.04 LTS\nPython 3.14.1\n")
    git = ["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    dated = {
        **os.environ,
        "GIT_COMMITTER_DATE": "2027-02-03T10:00:00Z",
        "GIT_AUTHOR_DATE": "2027-02-03T10:00:00Z",
    }
    subprocess.run([*git, "commit", "-q", "-m", "Upgrade"], check=True, env=dated)
    data = tmp_path / "colab-runtime.txt"

    said = colab_runtime_data.refresh(clone, data)

    packages, header = colab_runtime_data.read(data)
    assert packages == {"flask": "3.2.0", "jupyter-client": "7.4.9", "ipywidgets": "7.7.1"}  # no URL lines
    assert header["date"] == "2027-02-03" and header["python"] == "3.14.1"
    assert header["source"].endswith(f"/blob/{header['commit']}/pip-freeze.txt")
    assert said.startswith("3 pacotes, Python 3.14.1")
    (clone / "os-info.txt").unlink()
    with pytest.raises(colab_runtime_data.RefreshError, match="é um clone de"):
        colab_runtime_data.refresh(clone, data)
