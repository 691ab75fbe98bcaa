"""How fast is the daily ETL, compared with the floor (only fetching) and with the original course's approach?

    python -m benchmarks.etl                          # 5,000 updates, 50 ms of S3 latency
    python -m benchmarks.etl --messages 100000 --latency-ms 0 --only-etl   # memory for a big backfill

On AWS the ETL mostly waits for S3's first byte (tens of ms per GET); moto answers at once, which hides that, so
the sandbox's S3 gets a per-request latency. The S3 endpoint runs in its own process (benchmarks/s3_server.py).
- ETL: lambda_function.run_etl, the code path of etl_handler, with the deployed worker count.
- Floor: only listing and fetching every raw object, at the best of a few concurrency levels.
- Naive: what the original course did, one object at a time via a temp file with download_file and one pyarrow
  table per message concatenated in a loop; on a sample, compared per message.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import boto3
import requests
from botocore.config import Config

from benchmarks.data import day_range
from benchmarks.s3_server import ENRICHED_BUCKET, RAW_BUCKET
from sandbox import config

ROOT = Path(__file__).resolve().parent.parent
FLOOR_WORKERS = (16, 32, 64)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS não encontrado em /proc/self/status (este benchmark precisa de Linux)")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def s3_client(endpoint: str, workers: int = 10):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=config.REGION,
        aws_access_key_id=config.ACCESS_KEY_ID,
        aws_secret_access_key=config.SECRET_ACCESS_KEY,
        config=Config(max_pool_connections=workers),
    )


def start_server(messages: int, days: int, seed: int) -> tuple[subprocess.Popen, str, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.s3_server", "--messages", str(messages), "--days", str(days),
         "--seed", str(seed)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = process.stdout.readline()  # the server prints its endpoint once filled, or exits
    if not line:
        process.wait(timeout=10)
        raise RuntimeError(f"o servidor S3 do benchmark terminou sem iniciar (código {process.returncode})")
    ready = json.loads(line)
    return process, ready["endpoint"], ready["control_secret"]


def set_latency(endpoint: str, secret: str, latency_ms: int) -> None:
    response = requests.post(
        f"{endpoint}/_sandbox/s3",
        json={"latency_ms": latency_ms},
        headers={"X-Sandbox-Secret": secret},
        timeout=10,
    )
    response.raise_for_status()


def all_keys(client, first: str, last: str) -> list[str]:
    keys = []
    paginator = client.get_paginator("list_objects_v2")
    for day in iso_days(first, last):
        for page in paginator.paginate(Bucket=RAW_BUCKET, Prefix=f"telegram/context_date={day}/"):
            keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def iso_days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [date.fromordinal(n).isoformat() for n in range(start.toordinal(), end.toordinal() + 1)]


def run_etl(endpoint: str, first: str, last: str) -> tuple[float, dict]:
    import lambda_function

    days = [date.fromisoformat(day) for day in iso_days(first, last)]
    workers = lambda_function.ETL_WORKERS
    started = time.perf_counter()
    summary = lambda_function.run_etl(
        days, RAW_BUCKET, ENRICHED_BUCKET, client=s3_client(endpoint, workers), workers=workers,
        tz=lambda_function.TIMEZONE,
    )  # fmt: skip
    return time.perf_counter() - started, summary


def run_floor(endpoint: str, first: str, last: str, workers: int) -> float:
    client = s3_client(endpoint, workers)
    started = time.perf_counter()
    keys = all_keys(client, first, last)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(lambda key: client.get_object(Bucket=RAW_BUCKET, Key=key)["Body"].read(), keys):
            pass
    return time.perf_counter() - started


def run_naive(endpoint: str, first: str, sample: int) -> tuple[float, int]:
    """The original course's loop on the first `sample` objects of the first day; returns (seconds, objects)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    client = s3_client(endpoint)
    started = time.perf_counter()
    keys = all_keys(client, first, first)[:sample]
    table = None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "update.json"
        for key in keys:
            client.download_file(RAW_BUCKET, key, str(path))
            message = json.loads(path.read_text(encoding="utf-8")).get("message")
            if message is None:
                continue
            row = {
                "message_id": message["message_id"],
                "user_id": message["from"]["id"],
                "user_is_bot": message["from"]["is_bot"],
                "user_first_name": message["from"]["first_name"],
                "chat_id": message["chat"]["id"],
                "chat_type": message["chat"]["type"],
                "text": message.get("text"),
                "date": message["date"],
            }
            single = pa.Table.from_pylist([row])
            # "permissive" lets a null-typed text column (a sticker) join a string one; the course's code broke here.
            table = (
                single if table is None else pa.concat_tables([table, single], promote_options="permissive")
            )
        pq.write_table(table, Path(folder) / "naive.parquet")
    return time.perf_counter() - started, len(keys)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Benchmark do ETL (JSON bruto -> Parquet) contra o S3 do sandbox"
    )
    parser.add_argument("--messages", type=int, default=5000, help="updates brutos a gerar (padrão: 5000)")
    parser.add_argument("--days", type=int, default=3, help="dias em que se distribuem (padrão: 3)")
    parser.add_argument(
        "--latency-ms", type=int, default=50, help="latência por requisição ao S3 (padrão: 50)"
    )
    parser.add_argument("--seed", type=int, default=config.DEFAULT_SEED, help="semente dos dados")
    parser.add_argument("--naive-sample", type=int, default=150, help="objetos medidos na abordagem ingênua")
    parser.add_argument("--only-etl", action="store_true", help="mede só o ETL (tempo e memória)")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.days < 1 or args.latency_ms < 0:
        parser.error("--messages e --days devem ser positivos e --latency-ms não pode ser negativo")

    print(f"Gerando {args.messages} updates em {args.days} dia(s) (semente {args.seed})...", flush=True)
    server, endpoint, secret = start_server(args.messages, args.days, args.seed)
    try:
        set_latency(endpoint, secret, args.latency_ms)
        first, last = day_range(args.days)
        print(f"S3 do sandbox em {endpoint}, latência de {args.latency_ms} ms por requisição", flush=True)

        rss_before = rss_mb()
        etl_seconds, summary = run_etl(endpoint, first, last)
        peak = peak_rss_mb()
        objects = summary["objects_read"]
        print(f"\nETL: {objects} objetos -> {summary['rows_written']} linhas em {etl_seconds:.2f} s "
              f"({objects / etl_seconds:,.0f} mensagens/s)")  # fmt: skip
        print(f"Memória: pico de RSS do processo {peak:.0f} MB (+{peak - rss_before:.0f} MB durante o ETL); "
              "limite da função: 1024 MB")  # fmt: skip
        if args.only_etl:
            return

        floors = {workers: run_floor(endpoint, first, last, workers) for workers in FLOOR_WORKERS}
        for workers, seconds in floors.items():
            print(f"Piso com {workers:>2} conexões: {seconds:.2f} s ({objects / seconds:,.0f} mensagens/s)")
        best = min(floors.values())

        naive_seconds, sampled = run_naive(endpoint, first, args.naive_sample)
        naive_rate = sampled / naive_seconds
        print(f"Ingênuo (amostra de {sampled}): {naive_seconds:.2f} s ({naive_rate:,.1f} mensagens/s)")

        etl_rate = objects / etl_seconds
        print(f"\nETL/piso: {etl_seconds / best:.2f} (meta <= 1,3)")
        print(f"ingênuo/ETL: {etl_rate / naive_rate:.1f}x mais lento (meta >= 10)")
    finally:
        server.stdin.close()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
