"""Type mapping (Hive/Glue -> Arrow, DuckDB -> Athena) and Athena's text rendering of values."""

from __future__ import annotations

import io
import math
from datetime import date, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
from sqlglot import exp

_ARROW_SCALARS = {
    exp.DataType.Type.TEXT: pa.string(),
    exp.DataType.Type.VARCHAR: pa.string(),
    exp.DataType.Type.CHAR: pa.string(),
    exp.DataType.Type.BIGINT: pa.int64(),
    exp.DataType.Type.INT: pa.int32(),
    exp.DataType.Type.SMALLINT: pa.int16(),
    exp.DataType.Type.TINYINT: pa.int8(),
    exp.DataType.Type.BOOLEAN: pa.bool_(),
    exp.DataType.Type.DOUBLE: pa.float64(),
    exp.DataType.Type.FLOAT: pa.float32(),
    exp.DataType.Type.DATE: pa.date32(),
    exp.DataType.Type.TIMESTAMP: pa.timestamp("us"),
    exp.DataType.Type.BINARY: pa.binary(),
}


def parse_hive_type(type_string: str) -> exp.DataType:
    return exp.DataType.build(type_string, dialect="hive")


def hive_type_name(data_type: exp.DataType) -> str:
    """How Athena stores a column type in Glue: lower-case Hive syntax (`array<string>`)."""
    return data_type.sql(dialect="hive").lower().replace(" ", "")


def arrow_type(data_type: exp.DataType) -> pa.DataType:
    """The Arrow type a Glue (Hive) column type is read as."""
    kind = data_type.this
    if kind in _ARROW_SCALARS:
        return _ARROW_SCALARS[kind]
    if kind == exp.DataType.Type.DECIMAL:
        params = [int(p.name) for p in data_type.expressions]
        precision, scale = (params + [38, 0][len(params) :])[:2] if params else (38, 0)
        return pa.decimal128(precision, scale)
    if kind == exp.DataType.Type.ARRAY:
        return pa.list_(arrow_type(data_type.expressions[0]))
    if kind == exp.DataType.Type.MAP:
        return pa.map_(arrow_type(data_type.expressions[0]), arrow_type(data_type.expressions[1]))
    if kind == exp.DataType.Type.STRUCT:
        return pa.struct([pa.field(f.name, arrow_type(f.args["kind"])) for f in data_type.expressions])
    raise ValueError(f"tipo de coluna não suportado pela sandbox: {data_type.sql(dialect='hive')}")


# DuckDB result type (its str()) -> Athena's type name in ResultSetMetadata, and Athena's Precision.
_ATHENA_TYPES = {
    "VARCHAR": ("varchar", 2147483647),
    "BIGINT": ("bigint", 19),
    "HUGEINT": ("bigint", 19),  # DuckDB sums integers into int128; Trino's sum(bigint) is bigint
    "UBIGINT": ("bigint", 19),
    "INTEGER": ("integer", 10),
    "UINTEGER": ("bigint", 19),
    "SMALLINT": ("smallint", 5),
    "TINYINT": ("tinyint", 3),
    "DOUBLE": ("double", 17),
    "FLOAT": ("real", 7),
    "BOOLEAN": ("boolean", 0),
    "DATE": ("date", 0),
    "TIMESTAMP": ("timestamp", 3),
    "TIMESTAMP_MS": ("timestamp", 3),
    "TIMESTAMP_NS": ("timestamp", 3),
    "TIMESTAMP WITH TIME ZONE": ("timestamp with time zone", 3),
    "BLOB": ("varbinary", 2147483647),
    "INTERVAL": ("interval day to second", 0),
    "UUID": ("uuid", 0),
    '"NULL"': ("unknown", 0),
}


def athena_type(duckdb_type: str) -> tuple[str, int, int]:
    """(type name, precision, scale) as Athena's ColumnInfo reports a result column."""
    if duckdb_type.endswith("[]"):
        return "array", 0, 0
    if duckdb_type.startswith("STRUCT"):
        return "row", 0, 0
    if duckdb_type.startswith("MAP"):
        return "map", 0, 0
    if duckdb_type.startswith("DECIMAL"):
        precision, scale = duckdb_type[8:-1].split(",")
        return "decimal", int(precision), int(scale)
    name, precision = _ATHENA_TYPES.get(duckdb_type, ("varchar", 2147483647))
    return name, precision, 0


_TRINO_NAMES = {
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "bigint",  # DuckDB's sum of integers; Trino's is a bigint
    "SMALLINT": "smallint",
    "TINYINT": "tinyint",
    "DOUBLE": "double",
    "FLOAT": "real",
    "BOOLEAN": "boolean",
    "VARCHAR": "varchar",
    "DATE": "date",
    "TIMESTAMP": "timestamp(3)",
    "TIMESTAMP_MS": "timestamp(3)",
    "TIMESTAMP WITH TIME ZONE": "timestamp(3) with time zone",
    "BLOB": "varbinary",
    "INTERVAL": "interval day to second",
    "UUID": "uuid",
    '"NULL"': "unknown",
}


def _top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    return parts + [text[start:].strip()]


def trino_type_name(duckdb_type: str) -> str:
    """What Trino's typeof() says for a value DuckDB types as `duckdb_type` (e.g. VARCHAR[] -> array(varchar))."""
    if duckdb_type.endswith("[]"):
        return f"array({trino_type_name(duckdb_type[:-2])})"
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.lower().replace(" ", "")
    if duckdb_type.startswith("MAP("):
        key, value = _top_level(duckdb_type[4:-1])
        return f"map({trino_type_name(key)}, {trino_type_name(value)})"
    if duckdb_type.startswith("STRUCT("):
        fields = [f.split(" ", 1) for f in _top_level(duckdb_type[7:-1])]
        return "row(" + ", ".join(f"{n.strip(chr(34))} {trino_type_name(t)}" for n, t in fields) + ")"
    return _TRINO_NAMES.get(duckdb_type, duckdb_type.lower())


def java_double(value: float) -> str:
    """Trino prints doubles like Java's Double.toString: 12.0, 0.5, 1.0E7, 1.0E-4, NaN, Infinity."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "." in text else text + ".0"
    # Scientific notation with the shortest round-trip digits and one digit before the point.
    number = Decimal(repr(value))
    digits = "".join(map(str, number.as_tuple().digits)).rstrip("0") or "0"
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{number.adjusted()}"


def render(value, type_name: str, zone: str | None = None) -> str | None:
    """A value as Athena shows it in GetQueryResults and the result CSV; None stays NULL."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
        if type_name == "timestamp with time zone":
            return f"{text} {zone or 'UTC'}"
        return text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):  # interval day to second: 0 00:01:30.000
        sign, value = ("-", -value) if value < timedelta(0) else ("", value)
        hours, rest = divmod(value.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{sign}{value.days} {hours:02d}:{minutes:02d}:{seconds:02d}.{value.microseconds // 1000:03d}"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_nested(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_nested(k)}={_nested(v)}" for k, v in value.items()) + "}"
    return str(value)


def _nested(value) -> str:
    text = render(value, "")
    return "null" if text is None else text


def to_csv(header: list[str] | None, rows: list[list[str | None]]) -> bytes:
    """Athena's result CSV: every field double-quoted, NULL as an empty unquoted field, "\\n" line ends."""
    out = io.StringIO()
    lines = ([header] if header is not None else []) + rows
    for row in lines:
        out.write(",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in row))
        out.write("\n")
    return out.getvalue().encode()


__all__ = [
    "arrow_type",
    "athena_type",
    "hive_type_name",
    "java_double",
    "parse_hive_type",
    "render",
    "to_csv",
    "trino_type_name",
]
