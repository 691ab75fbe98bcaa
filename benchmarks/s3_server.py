"""A private sandbox AWS endpoint in its own process, filled with raw updates, for `python -m benchmarks.etl`.

Its own process, like the real S3: the server's CPU does not compete with the measured client for the GIL.
Objects are put straight into moto's store (100,000 over HTTP would take minutes). Prints one JSON line with the
endpoint once ready and serves until its stdin closes.
"""

from __future__ import annotations

import argparse
import json
import sys

import boto3

from benchmarks.data import raw_updates
from sandbox import config

RAW_BUCKET = "benchmark-telegram-raw"
ENRICHED_BUCKET = "benchmark-telegram-enriched"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    args = parser.parse_args()

    from moto.s3.models import s3_backends

    from sandbox.server import SandboxServer

    server = SandboxServer(aws_port=0, telegram_port=0, with_telegram=False).start()
    client = boto3.client(
        "s3",
        endpoint_url=server.aws.endpoint_url,
        region_name=config.REGION,
        aws_access_key_id=config.ACCESS_KEY_ID,
        aws_secret_access_key=config.SECRET_ACCESS_KEY,
    )
    for bucket in (RAW_BUCKET, ENRICHED_BUCKET):
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": config.REGION})
    backend = s3_backends[config.ACCOUNT_ID]["aws"]
    for key, body in raw_updates(args.messages, args.days, args.seed):
        backend.put_object(RAW_BUCKET, key, body)
    print(
        json.dumps({"endpoint": server.aws.endpoint_url, "control_secret": server.control_secret}), flush=True
    )
    try:
        sys.stdin.read()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
