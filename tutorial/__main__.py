"""`python -m tutorial pronto|demo|notebooks --store|aula|bridge`: the tutorial's commands, on top of the sandbox.

The sandbox itself (up, down, status, reset, env, serve, chat, botfather) is `python -m sandbox ...`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import sandbox
from sandbox import config


def cmd_demo(args: argparse.Namespace) -> int:
    from tutorial import demo

    return demo.run_demo(messages=args.messages, seed=args.seed, build=Path(args.build))


def cmd_pronto(args: argparse.Namespace) -> int:
    from tutorial import pronto

    return pronto.run(notebooks=not args.sem_notebooks)


def cmd_notebooks(args: argparse.Namespace) -> int:
    from tutorial import demo

    return demo.run_store()


def cmd_bridge(args: argparse.Namespace) -> int:
    from tutorial import bridge

    return bridge.main(args.api_url, args.timeout, args.max_updates, args.exit_when_idle, args.chat_id)


def cmd_aula(args: argparse.Namespace) -> int:
    from tutorial.live.__main__ import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tutorial",
        description="O tutorial no sandbox: conferência, demo, notebooks, aula ao vivo e ponte.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="comando")
    pronto = commands.add_parser(
        "pronto", help="confere se este computador está pronto para a aula (rode antes da primeira aula)"
    )
    pronto.add_argument(
        "--sem-notebooks", action="store_true", help="só as conferências rápidas, sem rodar os notebooks"
    )
    pronto.set_defaults(func=cmd_pronto)
    demo = commands.add_parser("demo", help="roda o tutorial inteiro (todos os notebooks) no sandbox")
    demo.add_argument("--messages", type=int, default=2000, help="tamanho da conversa simulada (padrão 2000)")
    demo.add_argument("--seed", type=int, default=config.DEFAULT_SEED, help="semente (padrão %(default)s)")
    demo.add_argument(
        "--build", default=str(Path("build")), help="onde guardar notebooks e gráficos (padrão build/)"
    )
    demo.set_defaults(func=cmd_demo)
    notebooks = commands.add_parser(
        "notebooks", help="reexecuta os notebooks e grava as saídas neles (para quem mantém o tutorial)"
    )
    notebooks.add_argument(
        "--store", action="store_true", required=True, help="grava as saídas em notebooks/"
    )
    notebooks.set_defaults(func=cmd_notebooks)
    bridge = commands.add_parser(
        "bridge", help="traz as mensagens do grupo de verdade (Telegram real) para o sandbox"
    )
    bridge.add_argument("--api-url", default=None, help="Bot API de origem (padrão https://api.telegram.org)")
    bridge.add_argument("--timeout", type=int, default=30, help="segundos de cada long poll (padrão 30)")
    bridge.add_argument("--max-updates", type=int, default=None, help="para depois de N atualizações")
    bridge.add_argument(
        "--exit-when-idle", action="store_true", help="para quando a fila do Telegram esvaziar"
    )
    bridge.add_argument(
        "--chat-id", type=int, action="append", default=None, help="grava só este grupo (pode repetir)"
    )
    bridge.set_defaults(func=cmd_bridge)
    aula = commands.add_parser(
        "aula", help="abre a aula ao vivo: a página onde a turma vê as mensagens passando pelo pipeline"
    )
    from tutorial.live.__main__ import add_arguments

    add_arguments(aula)
    aula.set_defaults(func=cmd_aula)
    return parser


def main(argv: list[str] | None = None) -> int:
    return sandbox.run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
