"""Real mode's guard: the one setup cell refuses, in pt-BR and before creating anything, what cannot work."""

from __future__ import annotations

import socket

import boto3
import pytest

import sandbox
from tutorial import setup
from tutorial.harness import free_port

REAL_TOKEN = "7312845519:AAH" + "x" * 32  # real-shaped, not a real token
REAL_VARIABLES = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_DEFAULT_REGION": "sa-east-1",
    "TELEGRAM_BOT_TOKEN": REAL_TOKEN,
    "TELEGRAM_CHAT_ID": "-1001234567890",
}
CLEARED = (*sandbox.ENV_NAMES, "AWS_REGION", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AMBIENTE")


class Created(AssertionError):
    pass


class StdinNotImplementedError(RuntimeError):
    """IPython's error for input() and getpass() without a frontend that can answer."""


@pytest.fixture
def real(monkeypatch, tmp_path):
    """A learner's shell on a real account; any AWS client or sandbox start is recorded as a failure."""
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("SANDBOX_HOME", str(tmp_path / "sandbox"))
    for name, value in REAL_VARIABLES.items():
        monkeypatch.setenv(name, value)
    clients: list[str] = []

    def client(self, service, *args, **kwargs):
        clients.append(service)
        if service != "sts":
            raise Created(f"a {service} client was created")
        return FakeSts()

    def no_sandbox(notebook):
        raise Created("the sandbox was started")

    def no_terminal(prompt):  # what ipykernel does when papermill runs the notebook
        raise StdinNotImplementedError(
            "getpass was called, but this frontend does not support input requests."
        )

    monkeypatch.setattr(boto3.session.Session, "client", client)
    monkeypatch.setattr(setup, "prepare", no_sandbox)
    monkeypatch.setattr("getpass.getpass", no_terminal)
    return clients


class FakeSts:
    def get_caller_identity(self):
        return {"Account": "111122223333", "Arn": "arn:aws:iam::111122223333:user/aluna"}


@pytest.mark.parametrize("typed", ["sanbox", "prod", "", "  "])
def test_unknown_environment_stops_before_anything(real, typed):
    with pytest.raises(setup.ConfigurationError) as error:
        setup.configure("02", typed)
    assert "use AMBIENTE=sandbox" in str(error.value) and "AMBIENTE=real" in str(error.value)
    assert real == []


@pytest.mark.parametrize("typed", ["Real", " real ", "REAL\n"])
def test_real_in_any_case_is_the_real_account(real, typed, capsys):
    assert setup.configure("02", typed) == "real"
    printed = capsys.readouterr().out
    assert "Conta AWS 111122223333, região sa-east-1" in printed
    assert printed.rstrip().endswith("Ambiente: real")
    assert real == ["sts"]  # only who am I: nothing created


def test_shell_left_pointing_at_the_sandbox_is_refused(real, monkeypatch):
    port = sandbox.config.AWS_PORT
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(setup.ConfigurationError) as error:
        setup.configure("04", "real")
    assert f"AWS_ENDPOINT_URL=http://127.0.0.1:{port} aponta para o sandbox" in str(error.value)
    assert 'eval "$(python -m sandbox env --unset)"' in str(error.value)
    assert real == []


def test_a_sandbox_on_another_port_is_recognised_by_its_control_route(real, monkeypatch):
    """The sandbox may run on any port (tests, SANDBOX_TELEGRAM_PORT): it is asked, not guessed."""
    from werkzeug.serving import make_server

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"ok": true, "result": {}}']

    server = make_server("127.0.0.1", 0, app, threaded=True)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("TELEGRAM_API_URL", f"http://localhost:{server.server_port}")
        with pytest.raises(setup.ConfigurationError, match="TELEGRAM_API_URL=.* aponta para o sandbox"):
            setup.configure("01", "real")
    finally:
        server.shutdown()


def test_an_unreachable_local_bot_api_is_not_mistaken_for_the_sandbox(real, monkeypatch):
    monkeypatch.setenv("TELEGRAM_API_URL", f"http://127.0.0.1:{free_port()}")
    assert setup.configure("01", "real") == "real"


def test_the_sandboxs_credentials_are_refused(real, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", sandbox.config.ACCESS_KEY_ID)
    with pytest.raises(setup.ConfigurationError, match="credencial de mentira do sandbox"):
        setup.configure("05", "real")
    assert real == []


@pytest.mark.parametrize(
    ("missing", "notebook", "message"),
    [
        ("AWS_DEFAULT_REGION", "04", "Falta a região da AWS: defina AWS_DEFAULT_REGION"),
        ("AWS_ACCESS_KEY_ID", "05", "Faltam as credenciais da AWS: rode `aws configure`"),
        ("TELEGRAM_CHAT_ID", "02", "Falta TELEGRAM_CHAT_ID: defina essa variável com o id do grupo"),
        ("TELEGRAM_BOT_TOKEN", "03", "Falta o token do bot: defina TELEGRAM_BOT_TOKEN"),
        ("TELEGRAM_BOT_TOKEN", "06", "Falta o token do bot: defina TELEGRAM_BOT_TOKEN"),
    ],
)
def test_what_is_missing_is_said_in_portuguese_before_anything_is_created(
    real, monkeypatch, missing, notebook, message
):
    monkeypatch.delenv(missing)
    if missing == "AWS_ACCESS_KEY_ID":
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(setup.ConfigurationError) as error:
        setup.configure(notebook, "real")
    assert message in str(error.value)
    assert real == []


@pytest.mark.parametrize("token", ["", "   ", "meu-token", "123:abc"])
def test_an_empty_or_malformed_token_stops(real, monkeypatch, token):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
    with pytest.raises(setup.ConfigurationError, match="token") as error:
        setup.configure("01", "real")
    assert not token.strip() or token not in str(error.value)


def test_a_typed_token_is_kept_for_the_next_cells_and_never_printed(real, monkeypatch, capsys):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    monkeypatch.setattr("getpass.getpass", lambda prompt: f" {REAL_TOKEN}\n")
    setup.configure("01", "real")
    assert setup.os.environ["TELEGRAM_BOT_TOKEN"] == REAL_TOKEN
    assert REAL_TOKEN not in capsys.readouterr().out


def test_a_chat_id_that_is_not_a_number_stops(real, monkeypatch):
    monkeypatch.setenv("TELEGRAM_CHAT_ID", "-100123, -100456")
    with pytest.raises(setup.ConfigurationError, match="não é um id de grupo"):
        setup.configure("02", "real")
    assert real == []


def test_no_network_to_aws_is_said_in_portuguese(monkeypatch, tmp_path):
    """The real STS call, with AWS unreachable (a closed local port stands for a machine offline)."""
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, value in REAL_VARIABLES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("SANDBOX_HOME", str(tmp_path / "sandbox"))
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{port}")
    with pytest.raises(setup.ConfigurationError, match="Não foi possível falar com a AWS"):
        setup.check_real("04")


def test_env_unset_clears_every_variable_env_sets():
    from sandbox.__main__ import main

    assert set(sandbox.ENV_NAMES) >= {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "TELEGRAM_API_URL"}
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["env", "--unset"]) == 0
    assert out.getvalue().split() == ["unset", *sandbox.ENV_NAMES]


def test_the_setup_cell_imports_nothing_a_real_mode_learner_lacks():
    """Real mode needs only the base dependencies: no moto, papermill or flask behind `import tutorial`."""
    import subprocess
    import sys

    code = (
        "import sys\nimport tutorial\n"
        "print(sorted(m for m in ('moto', 'papermill', 'flask', 'duckdb') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert run.stdout.strip() == "[]"
