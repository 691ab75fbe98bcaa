"""The Glue Data Catalog and the table data in S3, as Athena sees them.

Partitions come from Glue, or from partition projection when the table enables it; data files are read with
pyarrow by column name and cast to the Glue schema, as Athena's Hive connector does.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import NamedTuple
from urllib.parse import urlparse

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import ClientError
from pyarrow import fs as pafs

from sandbox import config
from sandbox.athena.errors import QueryFailed
from sandbox.athena.translate import joda_to_strftime
from sandbox.athena.types import arrow_type, parse_hive_type

# Decoded Parquet kept between queries (the tutorial's whole enriched layer is a few MB).
CACHE_BYTES = 256 * 1024 * 1024
# Who Athena calls Glue and S3 for: (service, operation, params, purpose, output_url) -> why they may not, or None.
Rights = Callable[[str, str, dict, str, str], "str | None"]


class Denied(QueryFailed):
    """A Glue or S3 call Athena makes with the caller's rights that their policies do not allow."""


@dataclass(frozen=True)
class Acting:
    """Whose rights the calls of the current thread use, and what for: "query" (the statement's own Glue and S3
    calls) or "results" (the result location), which Athena words differently when denied."""

    rights: Rights
    purpose: str
    output_url: str


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme not in ("s3", "s3a", "s3n") or not parsed.netloc:
        raise ValueError(f"endereço S3 inválido: {uri!r} (esperado s3://bucket/prefixo/)")
    return parsed.netloc, parsed.path.lstrip("/")


def _as_dir(uri: str) -> str:
    return uri if uri.endswith("/") else uri + "/"


class DataFile(NamedTuple):
    uri: str
    size: int
    etag: str  # changes whenever the object is written again: the key of the read cache


@dataclass
class Partition:
    values: dict[str, str]  # partition key -> value as text (as in the S3 path)
    location: str


@dataclass
class TableData:
    """A table's rows for one query, and the bytes of Parquet read to get them."""

    table: pa.Table
    scanned_bytes: int = 0
    files: list[str] = field(default_factory=list)


class Catalog:
    """Glue (through boto3) and S3 (through boto3 for listings and pyarrow for Parquet) of the sandbox."""

    def __init__(self, endpoint_url: str, region: str):
        self._endpoint_url, self._region = endpoint_url, region
        self._lock = threading.Lock()
        self._connections: tuple | None = None
        self._files: OrderedDict[tuple[str, str], pa.Table] = OrderedDict()  # (uri, ETag) -> table, LRU
        self._cached_bytes = 0
        # Each query runs in a thread of its own: the caller whose rights its Glue and S3 calls use.
        self._acting = threading.local()

    # -- the caller's rights ---------------------------------------------------------------------------
    # Athena calls Glue and S3 with the caller's own permissions (forward access sessions), so each call the
    # engine makes is authorized for the caller first, as the same request sent directly would be. The clients
    # themselves use the sandbox's credentials: a denied call never reaches moto.
    @contextmanager
    def acting_for(
        self, rights: Rights | None, purpose: str = "query", output_url: str = ""
    ) -> Iterator[None]:
        """Within the block, this thread's Glue and S3 calls are checked against `rights` (None: no caller, the
        sandbox's own credentials, which may do anything)."""
        previous = getattr(self._acting, "current", None)
        self._acting.current = Acting(rights, purpose, output_url) if rights is not None else None
        try:
            yield
        finally:
            self._acting.current = previous

    def check(self, service: str, operation: str, params: dict) -> None:
        """Raise Denied when the acting caller may not make this call."""
        acting: Acting | None = getattr(self._acting, "current", None)
        if acting is None:
            return
        reason = acting.rights(service, operation, params, acting.purpose, acting.output_url)
        if reason is not None:
            raise Denied(reason, 401 if acting.purpose == "results" else 1000)

    def _before_call(self, params: dict, model, **_kwargs) -> None:
        # botocore's before-parameter-build event: the API parameters, before the request is made.
        self.check(model.service_model.service_name, model.name, params)

    # Clients are made at the first query, not with the sandbox (0.5 s of every start and reset); a botocore
    # Session may not make clients from two threads at once, hence the lock.
    def _connect(self) -> tuple:
        with self._lock:
            if self._connections is None:
                session = boto3.session.Session(
                    aws_access_key_id=config.ACCESS_KEY_ID,
                    aws_secret_access_key=config.SECRET_ACCESS_KEY,
                    region_name=self._region,
                )
                parsed = urlparse(self._endpoint_url)
                glue = session.client("glue", endpoint_url=self._endpoint_url)
                s3 = session.client("s3", endpoint_url=self._endpoint_url)
                for client in (glue, s3):
                    client.meta.events.register("before-parameter-build", self._before_call)
                self._connections = (
                    glue,
                    s3,
                    session.client("athena", endpoint_url=self._endpoint_url),
                    pafs.S3FileSystem(
                        access_key=config.ACCESS_KEY_ID,
                        secret_key=config.SECRET_ACCESS_KEY,
                        region=self._region,
                        endpoint_override=parsed.netloc,
                        scheme=parsed.scheme or "http",
                    ),
                )
            return self._connections

    glue = property(lambda self: self._connect()[0])
    s3 = property(lambda self: self._connect()[1])
    athena = property(lambda self: self._connect()[2])
    fs = property(lambda self: self._connect()[3])

    # -- Glue ------------------------------------------------------------------------------------------
    def database_exists(self, name: str) -> bool:
        try:
            self.glue.get_database(Name=name)
        except self.glue.exceptions.EntityNotFoundException:
            return False
        return True

    def get_table(self, database: str, name: str) -> dict | None:
        try:
            return self.glue.get_table(DatabaseName=database, Name=name)["Table"]
        except self.glue.exceptions.EntityNotFoundException:
            return None

    def list_databases(self) -> list[str]:
        pages = self.glue.get_paginator("get_databases").paginate()
        return sorted(db["Name"] for page in pages for db in page["DatabaseList"])

    def list_tables(self, database: str) -> list[str]:
        pages = self.glue.get_paginator("get_tables").paginate(DatabaseName=database)
        return sorted(t["Name"] for page in pages for t in page["TableList"])

    def glue_partitions(self, database: str, table: dict) -> list[Partition]:
        keys = [k["Name"] for k in table.get("PartitionKeys", [])]
        pages = self.glue.get_paginator("get_partitions").paginate(
            DatabaseName=database, TableName=table["Name"]
        )
        return [
            Partition(dict(zip(keys, p["Values"], strict=True)), p["StorageDescriptor"]["Location"])
            for page in pages
            for p in page["Partitions"]
        ]

    # -- S3 --------------------------------------------------------------------------------------------
    def list_files(self, uri: str) -> list[DataFile]:
        """The data files under a key prefix; Athena skips `_`/`.` names and empty keys."""
        bucket, prefix = split_s3_uri(uri)
        files = []
        try:
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    name = obj["Key"].rsplit("/", 1)[-1]
                    if obj["Size"] and name and not name.startswith(("_", ".")):
                        files.append(DataFile(f"s3://{bucket}/{obj['Key']}", obj["Size"], obj["ETag"]))
        except ClientError as error:
            if error.response["Error"]["Code"] == "NoSuchBucket":
                raise QueryFailed(
                    f"HIVE_FILESYSTEM_ERROR: The specified bucket does not exist: {bucket}", 1104
                ) from error
            raise
        return files

    # -- Partitions ------------------------------------------------------------------------------------
    def partitions(self, database: str, table: dict) -> list[Partition] | None:
        """The table's partitions, or None for an unpartitioned table.

        With projection enabled, partitions are whatever the projection allows (found by listing the
        template's fixed prefix once); otherwise only Glue-registered partitions exist, as on Athena.
        """
        if not table.get("PartitionKeys"):
            return None
        params = table.get("Parameters", {})
        if params.get("projection.enabled", "").lower() == "true":
            return self._projected_partitions(table)
        return self.glue_partitions(database, table)

    def _projected_partitions(self, table: dict) -> list[Partition]:
        params = table["Parameters"]
        keys = [k["Name"] for k in table["PartitionKeys"]]
        location = _as_dir(table["StorageDescriptor"].get("Location", ""))
        template = params.get("storage.location.template") or location + "/".join(
            f"{k}=${{{k}}}" for k in keys
        )
        template = _as_dir(template)
        checks = {key: _projection_check(key, params) for key in keys}
        fixed_prefix = template.split("${", 1)[0]
        pattern = re.compile(
            "".join(
                f"(?P<{m.group(1)}>[^/]+)" if m.group(1) else re.escape(m.group(0))
                for m in re.finditer(r"\$\{(\w+)\}|[^$]+|\$", template)
            )
        )
        found: dict[str, Partition] = {}
        for file in self.list_files(fixed_prefix):
            uri = file.uri
            match = pattern.match(uri)
            if not match:
                continue
            values = match.groupdict()
            if all(checks[key](values[key]) for key in keys):
                partition_uri = uri[: match.end()]
                found.setdefault(partition_uri, Partition(values, partition_uri))
        return sorted(found.values(), key=lambda p: p.location)

    # -- Reading ---------------------------------------------------------------------------------------
    def read(self, table: dict, partitions: list[Partition] | None) -> TableData:
        """Rows of the given partitions (all data for an unpartitioned table), typed per the Glue schema."""
        columns = table["StorageDescriptor"].get("Columns", [])
        keys = table.get("PartitionKeys", [])
        data_schema = pa.schema(
            [(c["Name"].lower(), arrow_type(parse_hive_type(c["Type"]))) for c in columns]
        )
        key_types = {k["Name"]: arrow_type(parse_hive_type(k["Type"])) for k in keys}
        full_schema = pa.schema(list(data_schema) + [pa.field(k, t) for k, t in key_types.items()])
        if partitions is None:
            sources = [(_as_dir(table["StorageDescriptor"]["Location"]), {})]
        else:
            sources = [(_as_dir(p.location), p.values) for p in partitions]
        pieces, result = [], TableData(full_schema.empty_table())
        for location, values in sources:
            for uri, size, etag in self.list_files(_as_dir(location)):
                piece = self._read_file(uri, etag, data_schema)
                for key, key_type in key_types.items():
                    piece = piece.append_column(
                        key, _partition_column(values[key], key_type, len(piece), key)
                    )
                pieces.append(piece)
                result.scanned_bytes += size
                result.files.append(uri)
        if pieces:
            result.table = pa.concat_tables(pieces)
        return result

    def _read_file(self, uri: str, etag: str, schema: pa.Schema) -> pa.Table:
        bucket, key = split_s3_uri(uri)
        # Read with the caller's rights even when the sandbox has the file cached: Athena reads it again.
        self.check("s3", "GetObject", {"Bucket": bucket, "Key": key})
        raw = self._parquet(uri, etag)
        by_name = {name.lower(): i for i, name in enumerate(raw.column_names)}
        arrays = []
        for column in schema:
            if column.name not in by_name:
                arrays.append(pa.nulls(len(raw), column.type))  # missing column reads as NULL
                continue
            source = raw.column(by_name[column.name])
            try:
                arrays.append(source.cast(column.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
                raise QueryFailed(
                    f"HIVE_BAD_DATA: Field {column.name}'s type {source.type} in parquet file {uri} is "
                    f"incompatible with type {column.type} defined in table schema",
                    1107,
                ) from error
        return pa.Table.from_arrays(arrays, schema=schema)

    def _parquet(self, uri: str, etag: str) -> pa.Table:
        """A Parquet file as stored, read once per version: a query listed its ETag just before, so a file
        written again is read again. Notebook 05's queries each read every file of the table; this spares the
        sandbox's S3 a HEAD and a GET per file and query."""
        with self._lock:
            cached = self._files.get((uri, etag))
            if cached is not None:
                self._files.move_to_end((uri, etag))
                return cached
        try:
            table = pq.read_table(uri.removeprefix("s3://"), filesystem=self.fs)
        except (pa.ArrowInvalid, OSError) as error:
            raise QueryFailed(
                f"HIVE_CANNOT_OPEN_SPLIT: Error opening Hive split {uri}: {error}. "
                "Verifique se o arquivo é Parquet.",
                1109,
            ) from error
        with self._lock:
            self._files[(uri, etag)] = table
            self._cached_bytes += table.nbytes
            while self._cached_bytes > CACHE_BYTES and len(self._files) > 1:
                self._cached_bytes -= self._files.popitem(last=False)[1].nbytes
        return table


def _partition_column(value: str, key_type: pa.DataType, length: int, key: str) -> pa.Array:
    if value == "__HIVE_DEFAULT_PARTITION__":
        return pa.nulls(length, key_type)
    try:
        scalar = pa.scalar(value).cast(key_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise QueryFailed(
            f"HIVE_INVALID_PARTITION_VALUE: Invalid partition value '{value}' for {key_type} partition key: "
            f"{key}={value}",
            1108,
        ) from error
    return pa.repeat(scalar, length)


# -- Partition projection ------------------------------------------------------------------------------
_UNITS = {
    "YEARS": 365,
    "MONTHS": 30,
    "WEEKS": 7,
    "DAYS": 1,
    "HOURS": 1 / 24,
    "MINUTES": 1 / 1440,
    "SECONDS": 0,
}


def _projection_bound(text: str, fmt: str) -> datetime:
    text = text.strip()
    match = re.fullmatch(r"NOW\s*(?:([+-])\s*(\d+)\s*(\w+?)S?)?", text, flags=re.IGNORECASE)
    if match:
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        if match.group(1):
            unit = match.group(3).upper() + "S"
            amount = int(match.group(2)) * (-1 if match.group(1) == "-" else 1)
            if unit == "SECONDS":
                return now + timedelta(seconds=amount)
            return now + timedelta(days=amount * _UNITS[unit])
        return now
    return datetime.strptime(text, fmt)


def _projection_check(key: str, params: dict):
    """A predicate saying whether a path value is one of the projection's values for `key`."""
    kind = params.get(f"projection.{key}.type", "").lower()
    if kind == "date":
        fmt = joda_to_strftime(params.get(f"projection.{key}.format", "yyyy-MM-dd"))
        low, high = (_projection_bound(b, fmt) for b in params[f"projection.{key}.range"].split(",", 1))

        def check_date(value: str) -> bool:
            try:
                parsed = datetime.strptime(value, fmt)
            except ValueError:
                return False
            return parsed.strftime(fmt) == value and low <= parsed <= high

        return check_date
    if kind == "enum":
        allowed = {v.strip() for v in params.get(f"projection.{key}.values", "").split(",")}
        return allowed.__contains__
    if kind == "integer":
        low, high = (int(b) for b in params[f"projection.{key}.range"].split(","))
        return lambda value: value.lstrip("-").isdigit() and low <= int(value) <= high
    if kind == "injected":
        return lambda value: True
    raise QueryFailed(
        f"HIVE_METASTORE_ERROR: Unsupported projection type '{kind}' for column {key}. "
        "A sandbox entende os tipos date, enum, integer e injected.",
        1105,
    )
