"""Stress run of the ingestion: thousands of updates from several chats through Telegram's webhook delivery.

    python -m benchmarks.stress                       # 2,000 group updates + private chats, max_connections 40
    python -m benchmarks.stress --duplicates 3        # then every group update delivered twice more
    python -m benchmarks.stress --s3-outage-seconds 5 # S3 answers 503 for the first 5 s of the delivery

Runs in a sandbox of its own (temporary home, free ports), deployed by the notebooks as a learner would, and
prints the figures: throughput end to end, objects stored vs expected, duplicates, lost, latencies, memory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tutorial.harness import Stack, deployed_stack


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def write(stack: Stack, group: int, private: int, private_chats: int) -> tuple[list[int], list[int]]:
    """Queue the class's updates while no webhook is set, so the delivery starts all at once."""
    people = stack.participants()
    if private_chats + 10 > len(people):
        raise SystemExit(f"no máximo {len(people) - 10} chats privados (a turma tem {len(people)} pessoas)")
    group_ids = [stack.post(people[n % 10]["id"], f"Mensagem {n} da turma") for n in range(group)]
    private_ids = [
        stack.post(people[10 + n % private_chats]["id"], f"Oi bot, pergunta {n}", private=True)
        for n in range(private)
    ]
    return group_ids, private_ids


def lambda_durations(stack: Stack) -> list[float]:
    """Duration (ms) of every invocation, from the REPORT lines of the function's CloudWatch Logs."""
    durations = []
    for _, message in stack.function_log_messages():
        if message.startswith("REPORT RequestId:"):
            durations.append(float(message.split("Duration: ", 1)[1].split(" ms", 1)[0]))
    return durations


def redeliver(stack: Stack, bodies: list[bytes], times: int, workers: int) -> Counter:
    """Telegram's redelivery of updates whose answer it did not get: each body `times` more times."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return Counter(pool.map(lambda body: stack.send(body).status_code, bodies * times))


def run(args: argparse.Namespace) -> int:
    with deployed_stack(seed=args.seed) as stack:
        stack.set_webhook(url="", drop_pending_updates=True)  # only this run's updates
        stack.empty_raw_bucket()
        print(
            f"Escrevendo {args.updates} mensagens no grupo e {args.private} em {args.private_chats} chats privados..."
        )
        group_ids, private_ids = write(stack, args.updates, args.private, args.private_chats)
        bodies = [update_body(update) for update in stack.pending() if update["update_id"] in set(group_ids)]

        if args.s3_outage_seconds:
            stack.s3_faults(fail=True, status=503)
            threading.Timer(args.s3_outage_seconds, lambda: stack.s3_faults(fail=False)).start()
        started_wall = time.time()
        started = time.monotonic()
        stack.set_webhook(max_connections=args.max_connections)
        stack.wait_until_delivered(timeout=args.timeout)
        elapsed = time.monotonic() - started
        failed_s3 = stack.aws_status()["s3"]["failed_requests"]

        statuses: Counter = Counter()
        if args.duplicates > 1:
            print(f"Entregando cada update do grupo mais {args.duplicates - 1} vez(es)...")
            statuses = redeliver(stack, bodies, args.duplicates - 1, args.max_connections)

        stored = Counter(stack.raw_update_ids())
        expected = set(group_ids)
        stored_at = {}
        for timestamp, line in stack.decisions("stored"):
            stored_at.setdefault(line["update_id"], timestamp)
        latencies = sorted(stored_at[u] / 1000 - started_wall for u in expected if u in stored_at)
        durations = lambda_durations(stack)
        status = stack.aws_status()
        info = stack.bot("getWebhookInfo")

    total = len(group_ids) + len(private_ids)
    lost = len(expected - set(stored))
    duplicated = sum(count - 1 for count in stored.values() if count > 1)
    unexpected = len(set(stored) - expected)
    print()
    print("Resultado do teste de carga")
    print(
        f"  updates entregues pelo webhook:   {total} ({len(group_ids)} do grupo, {len(private_ids)} privados)"
    )
    print(f"  conexões simultâneas (máximo):     {args.max_connections}")
    if args.s3_outage_seconds:
        print(
            f"  S3 fora do ar:                     {args.s3_outage_seconds} s ({failed_s3} requisições falharam)"
        )
    print(f"  tempo até esvaziar a fila:         {elapsed:.1f} s")
    print(f"  vazão de ponta a ponta:            {total / elapsed:.0f} updates/s")
    print(f"  objetos gravados / esperados:      {sum(stored.values())} / {len(expected)}")
    print(f"  duplicados:                        {duplicated}")
    print(f"  perdidos:                          {lost}")
    print(f"  gravados sem serem do grupo:       {unexpected}")
    if args.duplicates > 1:
        answers = ", ".join(f"{code}: {count}" for code, count in sorted(statuses.items()))
        print(f"  reentregas (x{args.duplicates - 1}) respondidas:      {answers}")
    print(
        f"  latência até gravar p50 / p95:     {percentile(latencies, 0.5):.2f} s / {percentile(latencies, 0.95):.2f} s"
    )
    print(
        f"  duração da Lambda p50 / p95:       {percentile(durations, 0.5):.0f} ms / "
        f"{percentile(durations, 0.95):.0f} ms ({len(durations)} invocações)"
    )
    print(
        f"  memória do sandbox (RSS):          {status['rss_mb']:.0f} MiB, {status['lambda_workers']} ambientes Lambda"
    )
    print(f"  último erro do webhook:            {info.get('last_error_message', 'nenhum')}")
    return 0 if lost == duplicated == unexpected == 0 else 1


def update_body(update: dict) -> bytes:
    return json.dumps(update, separators=(",", ":")).encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.stress",
        description="Teste de carga da ingestão: milhares de updates de vários chats pelo webhook do Telegram.",
    )
    parser.add_argument("--updates", type=int, default=2000, help="mensagens no grupo (padrão: 2000)")
    parser.add_argument("--private", type=int, default=200, help="mensagens privadas ao bot (padrão: 200)")
    parser.add_argument("--private-chats", type=int, default=5, help="chats privados (padrão: 5)")
    parser.add_argument(
        "--max-connections", type=int, default=40, help="max_connections do setWebhook (padrão: 40)"
    )
    parser.add_argument(
        "--duplicates", type=int, default=1, help="entregas de cada update do grupo (padrão: 1)"
    )
    parser.add_argument(
        "--s3-outage-seconds", type=float, default=0, help="segundos de S3 fora do ar (padrão: 0)"
    )
    parser.add_argument(
        "--timeout", type=float, default=600, help="limite de espera em segundos (padrão: 600)"
    )
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    if args.updates < 1 or args.private < 0 or args.private_chats < 1 or args.duplicates < 1:
        parser.error("--updates, --private-chats e --duplicates precisam ser positivos")
    if not 1 <= args.max_connections <= 100:
        parser.error("--max-connections vai de 1 a 100, como no Telegram")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
