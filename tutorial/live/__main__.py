"""`python -m tutorial.live`: prepare the sandbox, deploy with the notebooks, serve the class's live view."""

from __future__ import annotations

import argparse
import errno
import functools
import logging
import os
import sys
import threading
from pathlib import Path

import sandbox

DEFAULT_PORT = 8089
# A busy port: the next ones are tried, then any free one.
NEXT_PORTS = 10


def build_parser(prog: str = "python -m tutorial.live") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="A aula ao vivo: a turma vê as próprias mensagens passando pelo pipeline."
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--porta",
        type=int,
        default=int(os.environ.get("AULA_PORT", DEFAULT_PORT)),
        help=f"porta da página em 127.0.0.1 (padrão AULA_PORT ou {DEFAULT_PORT}; 0 escolhe uma livre; "
        "ocupada, a aula escolhe outra)",
    )
    parser.add_argument(
        "--sem-implantar",
        action="store_true",
        help="não roda os notebooks 02 a 05 antes (o pipeline já está implantado)",
    )
    parser.add_argument(
        "--vazia",
        action="store_true",
        help="começa sem a conversa simulada de março de 2025 (para um grupo de verdade, com a ponte): "
        "apaga dos buckets as mensagens dela e a página mostra só o que chegar depois",
    )


def python_command() -> str:
    """How the teacher runs this Python from here: `.venv/bin/python` in the project, else `python`."""
    try:
        return str(Path(sys.executable).relative_to(Path.cwd()))
    except ValueError:
        return "python"


def log_to_file(path: Path) -> None:
    """The page's errors and werkzeug's go to a file: the teacher's terminal stays readable on the projector."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("tutorial.live", "werkzeug"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.propagate = False
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request


def redeploy(variables: dict[str, str], empty: bool = False) -> None:
    """What `make aula` does before serving, again in a sandbox that restarted empty."""
    from tutorial import setup

    os.environ.update(variables)
    setup.prepare_group()
    setup.catch_up("06")
    if empty:
        empty_history(variables)


def empty_history(variables: dict[str, str]) -> int:
    """The simulated class's messages out of the raw and enriched buckets, for a page that starts at zero.

    The notebooks deploy with the simulated conversation (notebook 03 waits for messages to reach the bucket);
    a teacher with a real group (`--vazia`, and the bridge) wants the page, its counts and its charts to hold
    only what the group writes. Returns how many objects were deleted; nothing when nothing is deployed.
    """
    import boto3

    from tutorial.contract import INGESTION_FUNCTION

    session = boto3.session.Session(region_name=variables["AWS_DEFAULT_REGION"])
    lambda_ = session.client("lambda", endpoint_url=variables["AWS_ENDPOINT_URL"])
    s3 = session.client("s3", endpoint_url=variables["AWS_ENDPOINT_URL"])
    try:
        configuration = lambda_.get_function_configuration(FunctionName=INGESTION_FUNCTION)
    except lambda_.exceptions.ResourceNotFoundException:
        return 0
    raw = configuration["Environment"]["Variables"]["AWS_S3_BUCKET"]
    deleted = 0
    for bucket in (raw, raw.removesuffix("-raw") + "-enriched"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
    return deleted


def open_view(port: int, **settings):
    """The live view on `port`, or, when another program holds it, on the next free one (then any)."""
    from .server import LiveView

    candidates = [port] if port == 0 else [port, *range(port + 1, port + 1 + NEXT_PORTS), 0]
    for candidate in candidates:
        try:
            view = LiveView(port=candidate, **settings)
        except OSError as error:
            if error.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise
            continue
        if candidate != port:
            print(f"A porta {port} está ocupada por outro programa; a aula usa a porta {view.port}.")
        return view
    raise sandbox.SandboxError("Nenhuma porta livre em 127.0.0.1 para a aula ao vivo.")


def run(args: argparse.Namespace) -> int:
    from tutorial import setup

    python = python_command()
    log_file = sandbox.config.home() / "aula.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_to_file(log_file)
    variables = sandbox.start()
    if not args.sem_implantar:
        setup.prepare_group()
        # Notebooks 02-05 headless, when their resources are missing: ingestion, webhook, ETL, Athena's table.
        setup.catch_up("06")
    if args.vazia:
        deleted = empty_history(variables)
        print(f"Aula vazia: {deleted} objetos da conversa simulada apagados dos buckets.")
    view = open_view(
        args.porta,
        telegram_api=variables["TELEGRAM_API_URL"],
        token=variables["TELEGRAM_BOT_TOKEN"],
        endpoint_url=variables["AWS_ENDPOINT_URL"],
        region=variables["AWS_DEFAULT_REGION"],
        locate=sandbox.env,
        redeploy=None if args.sem_implantar else functools.partial(redeploy, empty=args.vazia),
        history=not args.vazia,
        python=python,
        log_file=str(log_file),
    )
    view.start()
    print(f"Aula ao vivo em {view.url}  (abra no navegador; Ctrl+C para parar)")
    print(f"Para trazer um grupo de verdade, em outro terminal: {python} -m tutorial bridge")
    print(f"Se o sandbox parar, a página diz como trazê-lo de volta; erros da página vão para {log_file}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        view.stop()
    print(f"Aula encerrada (o sandbox continua no ar: {python} -m sandbox down para parar).")
    return 0


def main(argv: list[str] | None = None) -> int:
    return sandbox.run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
