"""How fast the simulated class talks: the week is planned, then written as the bot reads it (notebook 03, demo).

    python -m benchmarks.generator                 # 2,000 messages from 12 people over 7 days
    python -m benchmarks.generator --messages 20000

Goal: 2,000 messages in under 1 s on a laptop (the demo's class size), so the catch-up never waits on it.
"""

from __future__ import annotations

import argparse
import time

from sandbox import config
from sandbox.telegram import TelegramSandbox

GOAL_S = 1.0
GOAL_MESSAGES = 2000


def measure(messages: int, participants: int, days: int, seed: int) -> tuple[float, int]:
    """Seconds to plan the conversation and read it all as a polling bot does (it happens as the bot reads)."""
    group = TelegramSandbox(seed=seed)
    group.set_privacy(False)  # as the tutorial runs it: the bot reads the whole group
    started = time.perf_counter()
    group.generate(participants=participants, days=days, messages_count=messages, seed=seed)
    updates = 0
    while batch := group.pending_updates():
        updates += len(batch)
        group.confirm(batch[-1]["update_id"] + 1)
    return time.perf_counter() - started, updates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark do gerador da conversa da turma simulada")
    parser.add_argument("--messages", type=int, default=GOAL_MESSAGES, help="mensagens (padrão: 2000)")
    parser.add_argument("--participants", type=int, default=12, help="pessoas na turma (padrão: 12)")
    parser.add_argument("--days", type=int, default=7, help="dias de conversa (padrão: 7)")
    parser.add_argument("--seed", type=int, default=config.DEFAULT_SEED, help="semente")
    args = parser.parse_args(argv)
    seconds, updates = measure(args.messages, args.participants, args.days, args.seed)
    print(
        f"{args.messages} mensagens ({updates} updates lidos) em {seconds:.3f} s "
        f"({args.messages / seconds:,.0f} mensagens/s)"
    )
    if args.messages == GOAL_MESSAGES:
        verdict = "ok" if seconds < GOAL_S else "ACIMA DA META"
        print(f"meta: < {GOAL_S:.0f} s para {GOAL_MESSAGES} mensagens: {verdict}")
        return 0 if seconds < GOAL_S else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
