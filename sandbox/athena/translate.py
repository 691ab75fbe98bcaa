"""Trino (Athena engine v3) SQL -> DuckDB SQL with Trino's meaning.

sqlglot does the syntax; these AST rewrites fix the places where its DuckDB output would answer differently
from Athena. Timestamps with time zone are carried as DuckDB naive timestamps holding the wall-clock time in
their zone, with the zone tracked statically in `node.meta["zone"]`: Trino's hour(), date(), date_format()
and friends read the wall clock of a zoned timestamp, so they then work unchanged.
"""

from __future__ import annotations

import re

from sqlglot import exp

ZONE = "zone"


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _zoned(node: exp.Expression, zone: str) -> exp.Expression:
    node.meta[ZONE] = zone
    return node


def zone_of(node: exp.Expression | None) -> str | None:
    while isinstance(node, exp.Paren | exp.Alias):
        node = node.this
    if node is None:
        return None
    return node.meta.get(ZONE) if node.meta else None


def _instant(node: exp.Expression) -> exp.Expression:
    """A DuckDB TIMESTAMPTZ for a value that is either zoned wall time or a naive (UTC session) timestamp."""
    return _call("timezone", exp.Literal.string(zone_of(node) or "UTC"), node)


def _wall_clock(instant: exp.Expression, zone: str) -> exp.Expression:
    return _zoned(_call("timezone", exp.Literal.string(zone), instant), zone)


# Joda-Time pattern letters (format_datetime) -> strftime, longest first.
_JODA_CODES = [
    ("yyyy", "%Y"), ("YYYY", "%Y"), ("yy", "%y"), ("MMMM", "%B"), ("MMM", "%b"), ("MM", "%m"), ("M", "%-m"),
    ("dd", "%d"), ("d", "%-d"), ("HH", "%H"), ("H", "%-H"), ("hh", "%I"), ("h", "%-I"), ("mm", "%M"),
    ("m", "%-M"), ("ss", "%S"), ("s", "%-S"), ("SSS", "%g"), ("EEEE", "%A"), ("EEE", "%a"), ("E", "%a"),
    ("a", "%p"), ("DDD", "%j"), ("ZZ", "%z"), ("Z", "%z"), ("z", "%Z"), ("ww", "%V"), ("w", "%V"),
]  # fmt: skip


def joda_to_strftime(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "'":  # quoted literal text; '' is a single quote
            end = pattern.find("'", i + 1)
            end = len(pattern) if end < 0 else end
            out.append(pattern[i + 1 : end].replace("%", "%%") or "'")
            i = end + 1
            continue
        for joda, code in _JODA_CODES:
            if pattern.startswith(joda, i):
                out.append(code)
                i += len(joda)
                break
        else:
            out.append("%%" if pattern[i] == "%" else pattern[i])
            i += 1
    return "".join(out)


_DATE_UNITS = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}


def _is_date(node: exp.Expression, date_columns: set[str]) -> bool:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Cast | exp.TryCast):
        return node.to.this == exp.DataType.Type.DATE
    if isinstance(node, exp.Column):
        return node.name.lower() in date_columns
    return isinstance(node, exp.Date | exp.TsOrDsToDate | exp.CurrentDate | exp.DateStrToDate)


def _unit(node: exp.Expression | None) -> str:
    return (node.name if node is not None else "DAY").upper().rstrip("S")


def _keep_date(node: exp.Expression, date_columns: set[str]) -> exp.Expression | None:
    """date_trunc / date_add / date +- interval on a date give a date in Trino; DuckDB gives a timestamp."""
    if (
        isinstance(node, exp.DateTrunc | exp.TimestampTrunc)  # sqlglot parses date_trunc as either
        and _is_date(node.this, date_columns)
        and _unit(node.args.get("unit")) in _DATE_UNITS
    ):
        return exp.cast(node.copy(), exp.DataType.Type.DATE)
    if isinstance(node, exp.DateAdd | exp.DateSub) and _is_date(node.this, date_columns):
        if _unit(node.args.get("unit")) in _DATE_UNITS:
            return exp.cast(node.copy(), exp.DataType.Type.DATE)
    if isinstance(node, exp.Add | exp.Sub):
        left, right = node.this, node.expression
        interval = (
            right if isinstance(right, exp.Interval) else left if isinstance(left, exp.Interval) else None
        )
        other = left if interval is right else right
        if (
            interval is not None
            and _is_date(other, date_columns)
            and _unit(interval.args.get("unit")) in _DATE_UNITS
        ):
            return exp.cast(node.copy(), exp.DataType.Type.DATE)
    return None


# Functions the engine registers on each connection: DuckDB's typeof() text -> Trino's type name, and a
# double as Java's Double.toString prints it.
TRINO_TYPE = "__trino_type"
JAVA_DOUBLE = "__java_double"

# Errors the rewritten SQL raises itself with DuckDB's error(): the text is already Athena's.
RAISED_PREFIX = "INVALID_FUNCTION_ARGUMENT: "


def _fail(message: exp.Expression) -> exp.Expression:
    return _call("error", exp.DPipe(this=exp.Literal.string(RAISED_PREFIX), expression=message))


def _text(*parts: exp.Expression | str) -> exp.Expression:
    nodes = [
        exp.Literal.string(p) if isinstance(p, str) else exp.cast(p, exp.DataType.Type.VARCHAR) for p in parts
    ]
    out = nodes[0]
    for node in nodes[1:]:
        out = exp.DPipe(this=out, expression=node)
    return out


def _subscript(node: exp.Bracket) -> exp.Expression | None:
    """array[i] fails past either end in Trino (functions/array.md); DuckDB would give NULL."""
    if node.args.get("safe") or len(node.expressions) != 1:
        return None  # element_at() is the NULL-returning form
    index = node.expressions[0]
    if isinstance(index, exp.Literal) and index.is_string:
        return None  # a map key
    number = index.this if isinstance(index, exp.Neg) else index
    if isinstance(number, exp.Literal):  # sqlglot stores literal subscripts 0-based (so [0] as -1)
        index = exp.Literal.number((-1 if number is not index else 1) * int(number.name) + 1)
    array = node.this
    length = _call("len", array.copy())
    return exp.Case(
        ifs=[
            exp.If(
                this=exp.EQ(this=index.copy(), expression=exp.Literal.number(0)),
                true=_fail(_text("SQL array indices start at 1")),
            ),
            exp.If(
                this=exp.LT(this=index.copy(), expression=exp.Literal.number(0)),
                true=_fail(_text("Array subscript is negative: ", index.copy())),
            ),
            exp.If(
                this=exp.GT(this=index.copy(), expression=length.copy()),
                true=_fail(
                    _text(
                        "Array subscript must be less than or equal to array length: ",
                        index.copy(),
                        " > ",
                        length,
                    )
                ),
            ),
        ],
        default=_call("list_extract", array.copy(), index.copy()),
    )


_INTEGER_DECIMALS = {
    exp.DataType.Type.TINYINT: 3,
    exp.DataType.Type.SMALLINT: 5,
    exp.DataType.Type.INT: 10,
    exp.DataType.Type.BIGINT: 19,
}


def exact_type(node: exp.Expression, exact_columns: dict[str, tuple[int, int]]) -> tuple[int, int] | None:
    """(precision, scale) of an exact numeric expression as Trino types it for decimal arithmetic
    (an integer is decimal(10,0), a bigint decimal(19,0)); None when it is not exact or not known here."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Neg):
        return exact_type(node.this, exact_columns)
    if isinstance(node, exp.Literal) and not node.is_string:
        text = node.name
        if "e" in text.lower():
            return None  # 1e0 is a double
        whole, _, fraction = text.partition(".")
        if not fraction and "." not in text:
            return (10, 0) if abs(int(whole)) <= 2**31 - 1 else (19, 0)
        digits = (whole.lstrip("0") + fraction) or "0"
        return max(len(digits), len(fraction), 1), len(fraction)
    if isinstance(node, exp.Column):
        return exact_columns.get(node.name.lower())
    if isinstance(node, exp.Count):
        return 19, 0
    if isinstance(node, exp.Sum | exp.Max | exp.Min):
        inner = exact_type(node.this, exact_columns)
        if inner is None or not isinstance(node, exp.Sum):
            return inner
        return (
            (19, 0) if inner[1] == 0 else (38, inner[1])
        )  # sum(integer) is bigint; sum(decimal) decimal(38,s)
    if isinstance(node, exp.Cast):
        kind = node.to.this
        if kind in _INTEGER_DECIMALS:
            return _INTEGER_DECIMALS[kind], 0
        if kind == exp.DataType.Type.DECIMAL:
            params = [int(p.name) for p in node.to.expressions] + [38, 0][len(node.to.expressions) :]
            return params[0], params[1]
        return None
    if isinstance(node, exp.Add | exp.Sub | exp.Mul):
        left, right = exact_type(node.this, exact_columns), exact_type(node.expression, exact_columns)
        if left is None or right is None:
            return None
        (xp, xs), (yp, ys) = left, right
        if isinstance(node, exp.Mul):
            return min(38, xp + yp), xs + ys
        return min(38, 1 + max(xs, ys) + max(xp - xs, yp - ys)), max(xs, ys)
    return None


# Trino functions that always answer a double (functions/math.md, functions/aggregate.md).
_DOUBLE_FUNCTIONS = (
    exp.Avg,
    exp.Sqrt,
    exp.Pow,
    exp.Ln,
    exp.Log,
    exp.Exp,
    exp.Stddev,
    exp.StddevSamp,
    exp.StddevPop,
)
_DOUBLE_FUNCTIONS += (exp.Variance, exp.VariancePop, exp.Rand)


def is_double(node: exp.Expression, double_columns: set[str]) -> bool:
    """Whether Trino types the expression as double (only the cases this module can see)."""
    while isinstance(node, exp.Paren | exp.Neg):
        node = node.this
    if isinstance(node, exp.Literal) and not node.is_string:
        return "e" in node.name.lower()
    if isinstance(node, exp.Cast):
        return node.to.this == exp.DataType.Type.DOUBLE
    if isinstance(node, exp.Column):
        return node.name.lower() in double_columns
    if isinstance(node, _DOUBLE_FUNCTIONS):
        return True
    if isinstance(node, exp.Add | exp.Sub | exp.Mul | exp.Div):
        return is_double(node.this, double_columns) or is_double(node.expression, double_columns)
    if isinstance(node, exp.Sum | exp.Max | exp.Min | exp.Abs | exp.Round):
        return is_double(node.this, double_columns)
    return False


def _double_division(node: exp.Div, double_columns: set[str]) -> exp.Expression | None:
    """A double divided by zero is Infinity, -Infinity or NaN in Trino (IEEE 754); DuckDB raises an error."""
    if not (is_double(node.this, double_columns) or is_double(node.expression, double_columns)):
        return None
    left = exp.cast(node.this.copy(), exp.DataType.Type.DOUBLE)
    right = exp.cast(node.expression.copy(), exp.DataType.Type.DOUBLE)

    def special(text: str) -> exp.Expression:
        return exp.cast(exp.Literal.string(text), exp.DataType.Type.DOUBLE)

    zero = exp.Literal.number(0)
    return exp.Case(
        ifs=[
            exp.If(
                this=exp.EQ(this=right.copy(), expression=zero.copy()),
                true=exp.Case(
                    ifs=[
                        exp.If(
                            this=exp.GT(this=left.copy(), expression=zero.copy()), true=special("Infinity")
                        ),
                        exp.If(
                            this=exp.LT(this=left.copy(), expression=zero.copy()), true=special("-Infinity")
                        ),
                    ],
                    default=special("NaN"),
                ),
            ),
        ],
        default=exp.Div(this=left, expression=right),
    )


def _decimal_division(node: exp.Div, exact_columns: dict[str, tuple[int, int]]) -> exp.Expression | None:
    """x / y of decimals is a decimal of scale max(xs, ys) in Trino (functions/decimal.md), rounded half up;
    DuckDB divides decimals as doubles. Integer / integer stays an integer division."""
    left, right = exact_type(node.this, exact_columns), exact_type(node.expression, exact_columns)
    if left is None or right is None or (left[1] == 0 and right[1] == 0):
        return None
    (xp, xs), (_yp, ys) = left, right
    precision, scale = min(38, xp + ys - xs + max(0, ys - xs)), max(xs, ys)
    quotient = exp.Div(
        this=exp.cast(node.this.copy(), exp.DataType.Type.DOUBLE),
        expression=exp.cast(node.expression.copy(), exp.DataType.Type.DOUBLE),
    )
    return exp.cast(
        _call("round", quotient, exp.Literal.number(scale)),
        exp.DataType.build(f"DECIMAL({precision}, {scale})"),
    )


def _rewrite(
    node: exp.Expression,
    date_columns: set[str],
    exact_columns: dict[str, tuple[int, int]] | None = None,
    double_columns: set[str] | None = None,
) -> exp.Expression | None:
    """The DuckDB expression with Trino's meaning for `node`, or None to keep it."""
    kept = _keep_date(node, date_columns)
    if kept is not None:
        return kept
    if isinstance(node, exp.Div):
        return _decimal_division(node, exact_columns or {}) or _double_division(node, double_columns or set())
    if (
        isinstance(node, exp.Cast)
        and node.to.this == exp.DataType.Type.VARCHAR
        and not node.to.expressions
        and is_double(node.this, double_columns or set())
    ):
        # Trino prints a double as Java does (1.0E7, 0.5), in CAST to varchar as in results.
        return _call(JAVA_DOUBLE, exp.cast(node.this.copy(), exp.DataType.Type.DOUBLE))
    if isinstance(node, exp.DateDiff) and node.args.get("unit") is not None:
        # Trino counts whole units elapsed (23:59:59 -> 00:00:01 is 0 days); DuckDB's date_diff counts the
        # boundaries crossed (1). DuckDB's date_sub is the former.
        unit = exp.Literal.string(_unit(node.args["unit"]).lower())
        return _call("date_sub", unit, node.expression.copy(), node.this.copy())
    if isinstance(node, exp.Bracket):
        return _subscript(node)
    if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.VARCHAR and node.to.expressions:
        # CAST(x AS varchar(n)) keeps the first n characters in Trino; DuckDB ignores the length.
        length = node.to.expressions[0]
        length = length.this if isinstance(length, exp.DataTypeParam) else length
        plain = exp.Cast(this=node.this.copy(), to=exp.DataType.build("VARCHAR"), safe=node.args.get("safe"))
        return _call("substr", plain, exp.Literal.number(1), length.copy())
    if isinstance(node, exp.Typeof):
        # Trino's type names (functions/conversion.md), not DuckDB's: a string literal is varchar(n), a zoned
        # timestamp is carried naive here, anything else goes through the engine's TRINO_TYPE function.
        value = node.this
        if isinstance(value, exp.Literal) and value.is_string:
            return exp.Literal.string(f"varchar({len(value.name)})")
        if zone_of(value):
            return exp.Literal.string("timestamp(3) with time zone")
        return _call(TRINO_TYPE, node.copy())
    if isinstance(node, exp.Substring) and not node.meta.get("trino"):
        # Trino's substr from position 0 is the empty string; DuckDB counts position 0 as before the first
        start = node.args.get("start")
        if start is None or (isinstance(start, exp.Literal) and int(start.name or 0) != 0):
            return None
        node.meta["trino"] = True
        return exp.Case(
            ifs=[
                exp.If(
                    this=exp.EQ(this=start.copy(), expression=exp.Literal.number(0)),
                    true=exp.Literal.string(""),
                )
            ],
            default=node.copy(),
        )
    if isinstance(node, exp.SplitPart) and not node.meta.get("trino"):
        # Trino: NULL past the last field, an error for an index below 1 (functions/string.md); DuckDB
        # answers '' for both.
        index = node.args["part_index"]
        fields = _call("len", _call("string_split", node.this.copy(), node.args["delimiter"].copy()))
        node.meta["trino"] = True
        return exp.Case(
            ifs=[
                exp.If(
                    this=exp.LT(this=index.copy(), expression=exp.Literal.number(1)),
                    true=_fail(_text("Index must be greater than zero")),
                ),
                exp.If(this=exp.GT(this=index.copy(), expression=fields), true=exp.Null()),
            ],
            default=node.copy(),
        )
    if isinstance(node, exp.UnixToTime) and not node.args.get("scale") and not node.args.get("format"):
        # from_unixtime(x) is timestamp(3) in UTC; from_unixtime(x, zone) is timestamp with time zone
        # (sqlglot would drop the zone).
        instant = _call("to_timestamp", node.this)
        zone = node.args.get("zone")
        if zone is None:
            return _call("timezone", exp.Literal.string("UTC"), instant)
        if isinstance(zone, exp.Literal):
            return _wall_clock(instant, zone.name)
        return None
    if isinstance(node, exp.AtTimeZone) and isinstance(node.args.get("zone"), exp.Literal):
        # Trino: the same instant seen in another zone (a naive timestamp is read in the session zone, UTC);
        # DuckDB would instead read a naive timestamp as local time of that zone.
        return _wall_clock(_instant(node.this), node.args["zone"].name)
    if isinstance(node, exp.CurrentTimestamp):
        return _wall_clock(exp.CurrentTimestamp(), "UTC")
    if isinstance(node, exp.TimeToUnix) and zone_of(node.this):
        return _call("epoch", _instant(node.this))
    if isinstance(node, exp.Extract):
        unit = node.this.name.upper()
        if unit in ("DOW", "DAY_OF_WEEK"):  # Monday = 1 ... Sunday = 7, not DuckDB's Sunday = 0
            return _call("isodow", node.expression)
        if unit in ("DOY", "DAY_OF_YEAR"):
            return _call("dayofyear", node.expression)
        if unit in ("YOW", "YEAR_OF_WEEK"):
            return _call("isoyear", node.expression)
    if isinstance(node, exp.ApproxDistinct):
        # On small sets Trino's HyperLogLog is exact (sparse mode); DuckDB's estimate is not.
        return exp.Count(this=exp.Distinct(expressions=[node.this]))
    if isinstance(node, exp.Anonymous) and node.name.lower() in _FUNCTIONS:
        return _FUNCTIONS[node.name.lower()](node, date_columns)
    if isinstance(node, exp.Anonymous) and node.name.lower() == "format_datetime":
        value, pattern = node.expressions
        if isinstance(pattern, exp.Literal):
            return _call("strftime", value, exp.Literal.string(joda_to_strftime(pattern.name)))
    if isinstance(node, exp.RegexpReplace):
        replacement = node.args.get("replacement")
        if isinstance(replacement, exp.Literal):
            # Trino (Java) names groups $1 in the replacement; DuckDB (RE2) uses \1.
            java = re.sub(r"(?<!\\)\$(\d)", r"\\\1", replacement.name).replace("\\$", "$")
            node.set("replacement", exp.Literal.string(java))
        elif replacement is None:
            node.set("replacement", exp.Literal.string(""))
        return None
    if isinstance(node, exp.DateTrunc | exp.TimestampTrunc) and zone_of(node.this):
        node.meta[ZONE] = zone_of(node.this)
    return None


def _with_timezone(node: exp.Anonymous, _dates) -> exp.Expression | None:
    # with_timezone(timestamp, zone): the same wall clock, now in `zone` (functions/datetime.md)
    value, zone = node.expressions
    return _zoned(value.copy(), zone.name) if isinstance(zone, exp.Literal) else None


def _to_iso8601(node: exp.Anonymous, date_columns: set[str]) -> exp.Expression | None:
    # to_iso8601: 2024-01-05 for a date, 2024-01-05T12:00:00.000 for a timestamp, with Z or -03:00 when zoned
    (value,) = node.expressions
    if _is_date(value, date_columns):
        return _call("strftime", value.copy(), exp.Literal.string("%Y-%m-%d"))
    text = _call("strftime", value.copy(), exp.Literal.string("%Y-%m-%dT%H:%M:%S.%g"))
    zone = zone_of(value)
    if not zone:
        return text
    if zone.upper() in ("UTC", "Z", "GMT"):
        return exp.DPipe(this=text, expression=exp.Literal.string("Z"))
    utc_wall = exp.cast(_instant(value.copy()), exp.DataType.Type.TIMESTAMP)
    minutes = _call("date_sub", exp.Literal.string("minute"), utc_wall, value.copy())
    offset = _call(
        "printf",
        exp.Literal.string("%s%02d:%02d"),
        exp.If(
            this=exp.LT(this=minutes.copy(), expression=exp.Literal.number(0)),
            true=exp.Literal.string("-"),
            false=exp.Literal.string("+"),
        ),
        exp.IntDiv(this=_call("abs", minutes.copy()), expression=exp.Literal.number(60)),
        exp.Mod(this=_call("abs", minutes.copy()), expression=exp.Literal.number(60)),
    )
    return exp.DPipe(this=text, expression=offset)


# Trino functions DuckDB lacks (or names differently), by name.
_FUNCTIONS = {
    "with_timezone": _with_timezone,
    "to_iso8601": _to_iso8601,
    "codepoint": lambda node, _dates: _call("unicode", *[e.copy() for e in node.expressions]),
}


class TypeMismatch(Exception):
    """Trino's analyzer refuses the query (TYPE_MISMATCH); `offset` is where, in the query text."""

    def __init__(self, offset: int, message: str):
        super().__init__(message)
        self.offset = offset
        self.message = message


_FAMILIES = {
    "tinyint": "number", "smallint": "number", "integer": "number", "bigint": "number", "real": "number",
    "double": "number", "decimal": "number", "varchar": "text", "char": "text", "date": "time",
    "timestamp": "time", "boolean": "boolean",
}  # fmt: skip
_OPERATORS = {exp.EQ: "=", exp.NEQ: "<>", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}


def _literal_type(node: exp.Expression) -> str | None:
    while isinstance(node, exp.Paren | exp.Neg):
        node = node.this
    if isinstance(node, exp.Literal):
        if node.is_string:
            return f"varchar({len(node.name)})"
        exact = exact_type(node, {})
        if exact is None:
            return "double"
        if exact[1]:
            return f"decimal({exact[0]},{exact[1]})"
        return "integer" if exact[0] == 10 else "bigint"
    if isinstance(node, exp.Boolean):
        return "boolean"
    if isinstance(node, exp.Add | exp.Sub | exp.Mul | exp.Mod):
        # Whole-number arithmetic keeps the wider operand's type (`2024-01-06` is integer 2017).
        operands = {_literal_type(node.this), _literal_type(node.expression)}
        if operands <= {"integer", "bigint"}:
            return "bigint" if "bigint" in operands else "integer"
        return None
    if isinstance(node, exp.Cast | exp.TsOrDsToDate) and isinstance(node.this, exp.Literal):
        to = node.to.this if isinstance(node, exp.Cast) else exp.DataType.Type.DATE
        return {exp.DataType.Type.DATE: "date", exp.DataType.Type.TIMESTAMP: "timestamp(3)"}.get(to)
    return None


def check_comparisons(tree: exp.Expression, column_types: dict[str, str]) -> None:
    """Trino has no implicit cast between text, numbers and dates: `user_id = '11'` or `context_date = DATE
    '2024-01-05'` (a varchar partition key) fail with TYPE_MISMATCH; DuckDB would cast and answer."""
    derived = {a.alias.lower() for a in tree.find_all(exp.Alias)}
    derived |= {c.name.lower() for t in tree.find_all(exp.TableAlias) for c in t.columns}

    def type_of(node: exp.Expression) -> str | None:
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.Column):
            name = node.name.lower()
            return None if name in derived else column_types.get(name)
        return _literal_type(node)

    for node in tree.find_all(*_OPERATORS):
        left, right = type_of(node.this), type_of(node.expression)
        if left is None or right is None:
            continue
        families = {_FAMILIES.get(t.split("(")[0]) for t in (left, right)}
        if None in families or len(families) == 1:
            continue
        starts = [i.meta["start"] for i in node.find_all(exp.Identifier) if i.meta and "start" in i.meta]
        raise TypeMismatch(
            min(starts) if starts else 0, f"Cannot apply operator: {left} {_OPERATORS[type(node)]} {right}"
        )


def to_duckdb(
    tree: exp.Expression,
    date_columns: set[str] | None = None,
    exact_columns: dict[str, tuple[int, int]] | None = None,
    double_columns: set[str] | None = None,
) -> exp.Expression:
    """Rewrite a parsed Trino statement in place (children before parents) so DuckDB answers as Trino.

    `date_columns` names the table columns of type date (e.g. a date-typed partition key); `exact_columns`
    gives the integer and decimal columns' (precision, scale) as Trino's decimal arithmetic sees them.
    """
    for node in reversed(list(tree.walk())):
        replacement = _rewrite(node, date_columns or set(), exact_columns, double_columns)
        if replacement is not None and replacement is not node:
            zone = zone_of(replacement)
            node.replace(replacement)
            if zone:
                replacement.meta[ZONE] = zone
    return tree


def output_zones(tree: exp.Expression) -> list[str | None]:
    """For each output column of the outermost SELECT, the zone of a timestamp with time zone (else None)."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return []
    if any(isinstance(p, exp.Star) or (isinstance(p, exp.Column) and p.is_star) for p in select.expressions):
        return []
    return [zone_of(p) for p in select.expressions]


# -- Partition pruning -----------------------------------------------------------------------------------
def literal_value(node: exp.Expression) -> str | None:
    """The text of a constant: 'x', DATE 'x', CAST('x' AS ...), 12; None for anything else."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Literal):
        return node.name
    if isinstance(node, exp.Cast | exp.TsOrDsToDate) and isinstance(node.this, exp.Literal):
        return node.this.name
    return None


_FLIP = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE, exp.EQ: exp.EQ}


def partition_filters(select: exp.Select, alias: str, keys: set[str]) -> list[tuple[str, str, list[str]]]:
    """Simple conditions on partition keys from the top-level AND of a SELECT's WHERE.

    Returns (key, operator, constants) with operator one of = < <= > >= in between. Only conditions that
    hold for every row the query keeps are returned, so reading fewer partitions never changes the answer.
    """
    where = select.args.get("where")
    if where is None:
        return []
    found = []

    def key_of(node: exp.Expression) -> str | None:
        if isinstance(node, exp.Column) and node.name.lower() in keys:
            if not node.table or node.table.lower() == alias.lower():
                return node.name.lower()
        return None

    for condition in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        while isinstance(condition, exp.Paren):
            condition = condition.this
        if type(condition) in _FLIP:
            op = type(condition)
            left, right = condition.this, condition.expression
            if key_of(right) and literal_value(left) is not None:
                left, right, op = right, left, _FLIP[op]
            key, value = key_of(left), literal_value(right)
            if key and value is not None:
                found.append(
                    (key, {exp.EQ: "=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}[op], [value])
                )
        elif isinstance(condition, exp.In) and not condition.args.get("query") and key_of(condition.this):
            values = [literal_value(v) for v in condition.expressions]
            if all(v is not None for v in values):
                found.append((key_of(condition.this), "in", values))
        elif isinstance(condition, exp.Between) and key_of(condition.this):
            low, high = literal_value(condition.args["low"]), literal_value(condition.args["high"])
            if low is not None and high is not None:
                found.append((key_of(condition.this), ">=", [low]))
                found.append((key_of(condition.this), "<=", [high]))
    return found


def keeps(value: str, op: str, constants: list[str], numeric: bool = False) -> bool:
    """Whether a partition value can satisfy the condition: numbers compare as numbers for integer keys,
    everything else as text (which orders ISO dates correctly)."""

    def key(text: str):
        if numeric:
            try:
                return float(text)
            except ValueError:
                return None
        return text

    left, rights = key(value), [key(c) for c in constants]
    if left is None or None in rights:
        return True  # not comparable here: keep the partition, DuckDB applies the condition anyway
    if op == "in":
        return left in rights
    right = rights[0]
    return {
        "=": left == right,
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
    }[op]
