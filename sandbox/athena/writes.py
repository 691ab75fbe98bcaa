"""CTAS, INSERT INTO and UNLOAD: a query's rows stored as Parquet in S3, the way Athena writes them.

DuckDB only computes the rows (as Arrow); pyarrow encodes the Parquet and the sandbox's own S3 client stores
it, so the engine never needs DuckDB to reach files or the network.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlglot import exp

from sandbox.athena.catalog import Catalog, Partition, split_s3_uri
from sandbox.athena.errors import QueryFailed

# Trino's Hive connector keeps at most 100 writers open at once (hive.max-partitions-per-writers).
MAX_OPEN_PARTITIONS = 100
_CODECS = {"SNAPPY": "snappy", "GZIP": "gzip", "ZSTD": "zstd", "LZ4": "lz4", "NONE": "none"}
_CODECS["UNCOMPRESSED"] = "none"


@dataclass
class Written:
    """Files stored by one statement (the data manifest) and the partitions they went to."""

    rows: int = 0
    files: list[str] = field(default_factory=list)
    partitions: list[Partition] = field(default_factory=list)


# -- WITH ( ... ) properties --------------------------------------------------------------------------------
def _value(node: exp.Expression) -> str | list[str]:
    if isinstance(node, exp.Array):
        return [v.name for v in node.expressions]
    return node.name


def ctas_properties(props: list[exp.Expression]) -> dict[str, str | list[str]]:
    """CREATE TABLE ... WITH (...) AS: property name (lower case) -> text, or list for ARRAY[...]."""
    found: dict[str, str | list[str]] = {}
    for prop in props:
        if isinstance(prop, exp.FileFormatProperty):
            found["format"] = prop.this.name
        elif isinstance(prop, exp.PartitionedByProperty):
            this = prop.this
            items = this.expressions if isinstance(this, exp.Array | exp.Schema | exp.Tuple) else [this]
            found["partitioned_by"] = [i.name for i in items]
        elif isinstance(prop, exp.WithDataProperty):
            found["with_no_data"] = "true" if prop.args.get("no") else "false"
        elif type(prop) is exp.Property:
            found[prop.name.lower()] = _value(prop.args["value"])
        elif isinstance(prop, exp.LocationProperty):
            found["external_location"] = prop.this.name
    return found


_UNLOAD = re.compile(
    r"(?is)^\s*UNLOAD\s*\((?P<query>.*)\)\s*TO\s*'(?P<to>[^']*)'\s*WITH\s*\((?P<with>.*)\)\s*;?\s*$"
)
_PROPERTY = re.compile(r"(?is)\s*(\w+)\s*=\s*('(?:[^']|'')*'|ARRAY\s*\[[^\]]*\]|[\w.]+)\s*(?:,|$)")


def parse_unload(text: str) -> tuple[str, str, dict[str, str | list[str]]]:
    """`UNLOAD (query) TO 's3://...' WITH (name = value, ...)` -> (query, location, properties)."""
    match = _UNLOAD.match(text)
    if match is None:
        raise QueryFailed(
            "SYNTAX_ERROR: line 1:1: UNLOAD precisa da forma UNLOAD (SELECT ...) TO 's3://...' WITH (format = ...)",
            1001,
        )
    props: dict[str, str | list[str]] = {}
    rest = match.group("with")
    position = 0
    while position < len(rest.strip()):
        prop = _PROPERTY.match(rest, position)
        if prop is None:
            raise QueryFailed(f"SYNTAX_ERROR: line 1:1: mismatched input in WITH ({rest.strip()})", 1001)
        name, raw = prop.group(1).lower(), prop.group(2)
        if raw.upper().startswith("ARRAY"):
            props[name] = [v.strip().strip("'") for v in raw[raw.index("[") + 1 : -1].split(",") if v.strip()]
        else:
            props[name] = raw[1:-1].replace("''", "'") if raw.startswith("'") else raw
        position = prop.end()
    return match.group("query"), match.group("to"), props


# -- Types -------------------------------------------------------------------------------------------------
def hive_type(arrow: pa.DataType) -> str:
    """The Glue (Hive) type name Athena gives a column of this Arrow type."""
    scalars = {
        pa.int8(): "tinyint",
        pa.int16(): "smallint",
        pa.int32(): "int",
        pa.int64(): "bigint",
        pa.float32(): "float",
        pa.float64(): "double",
        pa.bool_(): "boolean",
        pa.string(): "string",
        pa.large_string(): "string",
        pa.date32(): "date",
        pa.binary(): "binary",
    }
    if arrow in scalars:
        return scalars[arrow]
    if pa.types.is_timestamp(arrow):
        return "timestamp"
    if pa.types.is_decimal(arrow):
        return f"decimal({arrow.precision},{arrow.scale})"
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow):
        return f"array<{hive_type(arrow.value_type)}>"
    if pa.types.is_map(arrow):
        return f"map<{hive_type(arrow.key_type)},{hive_type(arrow.item_type)}>"
    if pa.types.is_struct(arrow):
        return "struct<" + ",".join(f"{f.name}:{hive_type(f.type)}" for f in arrow) + ">"
    raise QueryFailed(f"NOT_SUPPORTED: Unsupported Hive type: {arrow}", 1201)


def result_columns(
    table: pa.Table, duck_types: list[str], zones: list[str | None], unnamed: set[int]
) -> tuple[pa.Table, list[dict]]:
    """Check a query's columns can make a Hive table, as Trino's analyzer does; returns the table with
    Hive-friendly Arrow types and its Glue columns."""
    seen: set[str] = set()
    arrays, columns = [], []
    for i, (name, duck_type) in enumerate(zip(table.column_names, duck_types, strict=True)):
        if i in unnamed:
            raise QueryFailed(f"MISSING_COLUMN_NAME: line 1:1: Column name not specified at position {i + 1}")
        if name.lower() in seen:
            raise QueryFailed(
                f"DUPLICATE_COLUMN_NAME: line 1:1: Column name '{name}' specified more than once"
            )
        seen.add(name.lower())
        column = table.column(i)
        if duck_type == '"NULL"':
            raise QueryFailed(f"COLUMN_TYPE_UNKNOWN: line 1:1: Column type is unknown at position {i + 1}")
        if i < len(zones) and zones[i] or duck_type == "TIMESTAMP WITH TIME ZONE":
            raise QueryFailed("NOT_SUPPORTED: Unsupported Hive type: timestamp(3) with time zone", 1201)
        if duck_type in ("HUGEINT", "UBIGINT", "UINTEGER"):  # Trino's sum(bigint) is a bigint
            try:
                column = column.cast(pa.int64())
            except pa.ArrowInvalid as error:
                raise QueryFailed(f"NUMERIC_VALUE_OUT_OF_RANGE: bigint overflow in column {name}") from error
        elif pa.types.is_timestamp(column.type) and column.type.tz is None:
            column = column.cast(pa.timestamp("us"))
        elif pa.types.is_large_string(column.type) or pa.types.is_string_view(column.type):
            column = column.cast(pa.string())
        arrays.append(column)
        columns.append({"Name": name.lower(), "Type": hive_type(column.type)})
    names = [c["Name"] for c in columns]
    return pa.Table.from_arrays(arrays, names=names), columns


# -- Writing -----------------------------------------------------------------------------------------------
def _escape(value: str) -> str:
    # Hive's FileUtils.escapePathName: these characters become %XX in a partition folder name.
    return "".join(f"%{ord(c):02X}" if c in "\"#%'*/:=?\\\x7f{[]^" or ord(c) < 32 else c for c in value)


def partition_text(value) -> str:
    if value is None:
        return "__HIVE_DEFAULT_PARTITION__"
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    return str(value)


def codec(props: dict) -> str:
    # Athena writes Parquet with GZIP unless the statement says otherwise.
    name = str(
        props.get("write_compression")
        or props.get("parquet_compression")
        or props.get("compression")
        or "GZIP"
    )
    if name.upper() not in _CODECS:
        raise QueryFailed(f"INVALID_TABLE_PROPERTY: Unsupported compression codec: {name}")
    return _CODECS[name.upper()]


def is_empty(catalog: Catalog, location: str) -> bool:
    bucket, prefix = split_s3_uri(location if location.endswith("/") else location + "/")
    answer = catalog.s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    return not answer.get("Contents")


def write(
    catalog: Catalog,
    table: pa.Table,
    location: str,
    partition_keys: list[str],
    file_prefix: str,
    compression: str,
) -> Written:
    """Store `table` under `location` as Parquet, one file per partition (Hive `k=v/` folders)."""
    written = Written(rows=table.num_rows)
    if table.num_rows == 0:
        return written
    base = location.rstrip("/") + "/"
    data = table.drop_columns(partition_keys) if partition_keys else table
    if not partition_keys:
        groups = {(): data}
    else:
        keys = list(zip(*(table.column(k).to_pylist() for k in partition_keys), strict=True))
        indices: dict[tuple, list[int]] = {}
        for i, key in enumerate(keys):
            indices.setdefault(tuple(partition_text(v) for v in key), []).append(i)
        if len(indices) > MAX_OPEN_PARTITIONS:
            raise QueryFailed(
                f"HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of {MAX_OPEN_PARTITIONS} open writers for "
                "partitions/buckets",
                1104,
            )
        groups = {values: data.take(pa.array(rows)) for values, rows in indices.items()}
    for values, piece in groups.items():
        folder = base + "".join(f"{k}={_escape(v)}/" for k, v in zip(partition_keys, values, strict=True))
        uri = f"{folder}{file_prefix}_{len(written.files):05d}.parquet"
        sink = io.BytesIO()
        pq.write_table(piece, sink, compression=compression)
        bucket, key = split_s3_uri(uri)
        catalog.s3.put_object(Bucket=bucket, Key=key, Body=sink.getvalue())
        written.files.append(uri)
        if partition_keys:
            written.partitions.append(Partition(dict(zip(partition_keys, values, strict=True)), folder))
    return written


def coerce(table: pa.Table, target: pa.Schema, target_types: list[str]) -> pa.Table:
    """INSERT INTO: the query's columns cast to the table's, as Trino's implicit coercions allow."""
    query_types = ["unknown" if pa.types.is_null(f.type) else hive_type(f.type) for f in table.schema]
    mismatch = QueryFailed(
        "TYPE_MISMATCH: line 1:1: Insert query has mismatched column types: "
        f"Table: [{', '.join(target_types)}], Query: [{', '.join(query_types)}]"
    )
    if table.num_columns != len(target):
        raise mismatch
    arrays = []
    for column, field_ in zip(table.columns, target, strict=True):
        source = column.type
        widening = (
            source == field_.type
            or pa.types.is_null(source)
            or (
                pa.types.is_integer(source)
                and (
                    pa.types.is_integer(field_.type)
                    or pa.types.is_floating(field_.type)
                    or pa.types.is_decimal(field_.type)
                )
            )
            or (pa.types.is_floating(source) and pa.types.is_floating(field_.type))
            or (
                pa.types.is_decimal(source)
                and (pa.types.is_decimal(field_.type) or pa.types.is_floating(field_.type))
            )
            or (pa.types.is_string(source) and pa.types.is_string(field_.type))
            or (pa.types.is_timestamp(source) and pa.types.is_timestamp(field_.type))
            or (pa.types.is_date(source) and pa.types.is_date(field_.type))
            or (pa.types.is_list(source) and pa.types.is_list(field_.type))
        )
        if not widening:
            raise mismatch
        try:
            arrays.append(column.cast(field_.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            if pa.types.is_integer(field_.type):
                raise QueryFailed(
                    f"NUMERIC_VALUE_OUT_OF_RANGE: Out of range for {hive_type(field_.type)}: "
                    f"{pc.max(column).as_py()}"
                ) from error
            raise mismatch from error
    return pa.Table.from_arrays(arrays, schema=target)
