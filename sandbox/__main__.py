"""`python -m sandbox up|down|status|reset|env|serve` (and `chat`/`botfather` from sandbox.telegram).

The tutorial's own commands (demo, notebooks, aula, bridge) are `python -m tutorial ...`.
"""

from __future__ import annotations

import argparse
import sys
import time

import sandbox
from sandbox import config
from sandbox.telegram import cli as telegram_cli


def cmd_up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    state, already = sandbox.up(args.seed)
    aws = f"http://{state['host']}:{state['aws_port']}"
    if already:
        print(
            f"O sandbox já está no ar (pid {state['pid']}): AWS em {aws}, Telegram na porta {state['telegram_port']}."
        )
    else:
        print(
            f"Sandbox no ar em {time.monotonic() - started:.1f} s (pid {state['pid']}, seed {state['seed']}): "
            f"AWS em {aws}, Telegram na porta {state['telegram_port']}."
        )
    print('Para usar neste terminal: eval "$(python -m sandbox env)"')
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    if sandbox.stop():
        print("Sandbox parado.")
    else:
        print("O sandbox não estava rodando.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    info = sandbox.status()
    if not info["running"]:
        print("O sandbox não está rodando. Inicie com: python -m sandbox up")
        return 3  # like `systemctl status` for a stopped service
    if not info.get("healthy"):
        print(f"O processo {info['pid']} existe mas não responde. Veja o log em {info.get('log_file')}.")
        return 1
    uptime = int(info["uptime_s"])
    print(f"Sandbox no ar (pid {info['pid']}, há {uptime // 60} min {uptime % 60} s, seed {info['seed']}).")
    print(f"  AWS:       {info['endpoint_url']} (região {info['region']})")
    telegram = info.get("telegram")
    print(f"  Telegram:  {telegram['api_url'] if telegram else 'não disponível'}")
    print(f"  Memória:   {info['rss_mb']:.0f} MB; workers do Lambda ativos: {info['lambda_workers']}")
    print(f"  Log:       {info['log_file']}")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    result = sandbox.reset(args.seed)
    print(f"Sandbox zerado (seed {result['seed']}): AWS, Lambda, Telegram e histórico do Athena.")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    if args.unset:  # back to the real world: what `eval "$(python -m sandbox env)"` set is cleared
        print(f"unset {' '.join(sandbox.ENV_NAMES)}")
        return 0
    for name, value in sandbox.env().items():
        print(f"export {name}={value}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    if config.ENGINE_LIBS.is_dir():  # before anything imports sqlglot (see tutorial/colab.py)
        sys.path.insert(0, str(config.ENGINE_LIBS))
    from sandbox.server import serve

    aws_port, telegram_port = config.AWS_PORT, config.TELEGRAM_PORT
    serve(aws_port, telegram_port, args.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Sandbox offline: AWS e Telegram.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="comando")
    up = commands.add_parser("up", help="inicia o sandbox em segundo plano")
    up.add_argument("--seed", type=int, default=None, help=f"semente (padrão {config.DEFAULT_SEED})")
    up.set_defaults(func=cmd_up)
    commands.add_parser("down", help="para o sandbox").set_defaults(func=cmd_down)
    commands.add_parser("status", help="mostra o que está rodando e onde").set_defaults(func=cmd_status)
    reset = commands.add_parser("reset", help="apaga todo o estado (AWS, Lambda, Telegram, Athena)")
    reset.add_argument("--seed", type=int, default=None, help="nova semente")
    reset.set_defaults(func=cmd_reset)
    env = commands.add_parser("env", help="imprime as variáveis de ambiente (use com eval)")
    env.add_argument(
        "--unset", action="store_true", help="imprime o `unset` dessas variáveis (para voltar à conta real)"
    )
    env.set_defaults(func=cmd_env)
    serve = commands.add_parser("serve", help="roda o sandbox em primeiro plano")
    serve.add_argument("--seed", type=int, default=config.DEFAULT_SEED)
    serve.set_defaults(func=cmd_serve)
    telegram_cli.register(commands)  # `chat` and `botfather` belong to the Telegram emulator
    return parser


def main(argv: list[str] | None = None) -> int:
    return sandbox.run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
