"""`python -m tutorial.live`: prepare the sandbox, deploy with the notebooks, serve the class's live view."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading

import sandbox

DEFAULT_PORT = 8089


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
        help=f"porta da página em 127.0.0.1 (padrão AULA_PORT ou {DEFAULT_PORT}; 0 escolhe uma livre)",
    )
    parser.add_argument(
        "--sem-implantar",
        action="store_true",
        help="não roda os notebooks 02 a 05 antes (o pipeline já está implantado)",
    )


def run(args: argparse.Namespace) -> int:
    from tutorial import setup

    from .server import LiveView

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in the teacher's terminal
    variables = sandbox.start()
    if not args.sem_implantar:
        setup.prepare_group()
        # Notebooks 02-05 headless, when their resources are missing: ingestion, webhook, ETL, Athena's table.
        setup.catch_up("06")
    try:
        view = LiveView(
            variables["TELEGRAM_API_URL"],
            variables["TELEGRAM_BOT_TOKEN"],
            variables["AWS_ENDPOINT_URL"],
            variables["AWS_DEFAULT_REGION"],
            port=args.porta,
        )
    except OSError:
        print(f"A porta {args.porta} está ocupada; escolhendo outra.")
        view = LiveView(
            variables["TELEGRAM_API_URL"],
            variables["TELEGRAM_BOT_TOKEN"],
            variables["AWS_ENDPOINT_URL"],
            variables["AWS_DEFAULT_REGION"],
        )
    view.start()
    print(f"Aula ao vivo em {view.url}  (abra no navegador; Ctrl+C para parar)")
    print("Para trazer um grupo de verdade, em outro terminal: python -m tutorial bridge")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        view.stop()
    print("Aula encerrada (o sandbox continua no ar: python -m sandbox down para parar).")
    return 0


def main(argv: list[str] | None = None) -> int:
    return sandbox.run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
