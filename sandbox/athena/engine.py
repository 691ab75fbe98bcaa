"""Runs one Athena statement: DDL against Glue, SELECT with DuckDB over the tables' Parquet in S3."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from sandbox.athena import ddl, writes
from sandbox.athena.catalog import Catalog
from sandbox.athena.errors import QueryFailed, position
from sandbox.athena.translate import (
    JAVA_DOUBLE,
    RAISED_PREFIX,
    TRINO_TYPE,
    TypeMismatch,
    check_comparisons,
    keeps,
    output_zones,
    partition_filters,
    to_duckdb,
)
from sandbox.athena.types import (
    arrow_type,
    athena_type,
    java_double,
    parse_hive_type,
    render,
    trino_type_name,
)

DEFAULT_CATALOG = "awsdatacatalog"


@dataclass
class Column:
    name: str
    type: str
    precision: int = 0
    scale: int = 0


@dataclass
class Outcome:
    """What a finished statement produced; `rows` holds rendered text (None = NULL)."""

    statement_type: str  # DML | DDL | UTILITY
    substatement_type: str
    columns: list[Column] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    scanned_bytes: int = 0
    manifest: list[str] | None = None  # files a CTAS / INSERT / UNLOAD wrote (Athena's data manifest)

    @property
    def is_select(self) -> bool:
        """Whether the result is a table with a header row (a SELECT's rows, or a write's `rows` count)."""
        return self.statement_type == "DML" or self.substatement_type == "CREATE_TABLE_AS_SELECT"


@dataclass
class Computed:
    """A query's result before rendering: Arrow (for writes) or Python rows (for SELECT)."""

    names: list[str]
    duck_types: list[str]
    zones: list[str | None]
    unnamed: set[int]
    scanned_bytes: int
    rows: list[tuple] | None = None
    arrow: pa.Table | None = None


class Cancelled(Exception):
    """The query was stopped (StopQueryExecution) while it ran."""


class Runner:
    """One statement's execution; `interrupt()` may be called from another thread."""

    def __init__(self, catalog: Catalog, query_id: str = "", results_location: str = ""):
        self.catalog = catalog
        self.query_id = query_id
        self.results_location = results_location  # the query result location (a folder), for CTAS data
        self._lock = threading.Lock()
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._cancelled = False

    def interrupt(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._connection is not None:
                self._connection.interrupt()

    def _check(self) -> None:
        if self._cancelled:
            raise Cancelled

    # -- dispatch --------------------------------------------------------------------------------------
    def run(self, query: str, database: str | None, catalog_name: str | None = None) -> Outcome:
        catalog_name = (catalog_name or DEFAULT_CATALOG).lower()
        if catalog_name != DEFAULT_CATALOG:
            raise QueryFailed(f"CATALOG_NOT_FOUND: Catalog '{catalog_name}' does not exist", 1301)
        database = database.lower() if database else None
        stmt = parse(query)
        if isinstance(stmt, exp.Command):
            rest = stmt.expression
            keyword, rest = (
                stmt.name.upper(),
                rest.name if isinstance(rest, exp.Expression) else str(rest or ""),
            )
            if keyword == "MSCK REPAIR":
                return self._ddl("DDL", "MSCK_REPAIR_TABLE", ddl.repair_table(self.catalog, rest, database))
            if keyword == "ALTER" and (single := ddl.split_add_partitions(query)):
                # Hive's several-partition ADD: one statement with every partition, applied all or nothing
                combined = parse(single[0])
                combined.set("actions", [a for text in single for a in parse(text).args["actions"]])
                return self._ddl(
                    "DDL", "ALTER_TABLE_ADD_PARTITION", ddl.add_partitions(self.catalog, combined, database)
                )
            if keyword == "UNLOAD":
                return self._unload(query, database)
            if keyword == "SHOW":
                kind = rest.split()[0].upper() if rest.split() else ""
                return self._ddl("UTILITY", f"SHOW_{kind}", ddl.show(self.catalog, rest, database))
            raise syntax_error(query)
        if isinstance(stmt, exp.Create):
            kind = (stmt.args.get("kind") or "").upper()
            if kind in ("DATABASE", "SCHEMA"):
                return self._ddl("DDL", "CREATE_DATABASE", ddl.create_database(self.catalog, stmt))
            if kind == "TABLE" and isinstance(stmt.expression, exp.Query):
                return self._ctas(query, stmt, database)
            if kind == "TABLE":
                return self._ddl("DDL", "CREATE_TABLE", ddl.create_table(self.catalog, stmt, database))
        if isinstance(stmt, exp.Insert):
            return self._insert(query, stmt, database)
        if isinstance(stmt, exp.Drop):
            kind = (stmt.args.get("kind") or "").upper()
            if kind in ("DATABASE", "SCHEMA"):
                return self._ddl("DDL", "DROP_DATABASE", ddl.drop_database(self.catalog, stmt))
            if kind == "TABLE":
                return self._ddl("DDL", "DROP_TABLE", ddl.drop_table(self.catalog, stmt, database))
        if isinstance(stmt, exp.Alter):
            dropping = any(isinstance(a, exp.DropPartition) for a in stmt.args.get("actions", []))
            substatement = "ALTER_TABLE_DROP_PARTITION" if dropping else "ALTER_TABLE_ADD_PARTITION"
            return self._ddl("DDL", substatement, ddl.alter_partitions(self.catalog, stmt, database))
        if isinstance(stmt, exp.Describe):
            return self._ddl("UTILITY", "DESCRIBE_TABLE", ddl.describe(self.catalog, stmt, database))
        if isinstance(stmt, exp.Query):
            return self._select(query, stmt, database)
        raise QueryFailed(
            f"NOT_SUPPORTED: a sandbox não executa este tipo de comando ({stmt.key.upper()}); "
            "ela entende SELECT e o DDL de tabelas externas Parquet.",
            1201,
        )

    @staticmethod
    def _ddl(statement_type: str, substatement: str, result: ddl.Result) -> Outcome:
        name, lines = result
        columns = [Column(name, "string")] if name else ([Column("result", "string")] if lines else [])
        return Outcome(statement_type, substatement, columns, [[line] for line in lines])

    # -- SELECT ----------------------------------------------------------------------------------------
    def _select(self, query: str, tree: exp.Query, database: str | None) -> Outcome:
        computed = self._compute(query, tree, database)
        columns = []
        zones = computed.zones
        for i, (name, duck_type) in enumerate(zip(computed.names, computed.duck_types, strict=True)):
            zone = zones[i] if i < len(zones) else None
            type_name, precision, scale = athena_type(duck_type)
            if zone and type_name == "timestamp":
                type_name = "timestamp with time zone"
            columns.append(Column(name, type_name, precision, scale))
        rendered = [
            [
                render(v, c.type, zones[i] if i < len(zones) else None)
                for i, (v, c) in enumerate(zip(row, columns, strict=True))
            ]
            for row in computed.rows or []
        ]
        return Outcome("DML", "SELECT", columns, rendered, computed.scanned_bytes)

    def _compute(self, query: str, tree: exp.Query, database: str | None, arrow: bool = False) -> Computed:
        """Run a query with DuckDB over the tables' rows, which the sandbox reads from S3 itself."""
        unnamed = name_outputs(tree)
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        relations, scanned = {}, 0
        for index, table in enumerate(list(tree.find_all(exp.Table))):
            if isinstance(table.this, exp.Func):  # read_text(...), read_parquet(...): DuckDB's, not Athena's
                raise table_function_not_found(query, table.this)
            if not table.name or (not table.db and table.name.lower() in ctes):
                continue
            self._check()
            data = self._load(query, table, database)
            relation = f"__athena_t{index}"
            relations[relation] = data.table
            scanned += data.scanned_bytes
            alias = table.alias or table.name
            table.replace(
                exp.Table(
                    this=exp.to_identifier(relation), alias=exp.TableAlias(this=exp.to_identifier(alias))
                )
            )
        date_columns = {
            f.name
            for arrow_table in relations.values()
            for f in arrow_table.schema
            if pa.types.is_date(f.type)
        }
        double_columns = {
            f.name
            for arrow_table in relations.values()
            for f in arrow_table.schema
            if pa.types.is_floating(f.type)
        }
        try:
            check_comparisons(tree, column_types(relations.values()))
        except TypeMismatch as mismatch:
            raise QueryFailed(
                f"TYPE_MISMATCH: {position(query, mismatch.offset)}: {mismatch.message}"
            ) from None
        to_duckdb(tree, date_columns, exact_columns(relations.values()), double_columns)
        zones = output_zones(tree)
        sql = tree.sql(dialect="duckdb")
        connection = lake_only_connection(relations)
        try:
            with self._lock:
                self._check()
                self._connection = connection
            try:
                relation = connection.sql(sql)
                computed = Computed(
                    list(relation.columns), [str(t) for t in relation.types], zones, unnamed, scanned
                )
                if arrow:
                    fetch = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
                    computed.arrow = fetch()
                else:
                    computed.rows = relation.fetchall()
            except duckdb.InterruptException as error:
                raise Cancelled from error
            except duckdb.Error as error:
                if self._cancelled:
                    raise Cancelled from error
                raise translate_error(query, error) from error
        finally:
            with self._lock:
                self._connection = None
            connection.close()
        return computed

    # -- CTAS, INSERT INTO, UNLOAD ---------------------------------------------------------------------
    def _written(self, substatement: str, statement_type: str, rows: int, scanned: int, files: list[str]):
        # Trino answers a write with one `rows` column: how many rows it wrote.
        return Outcome(
            statement_type, substatement, [Column("rows", "bigint", 19)], [[str(rows)]], scanned, files
        )

    def _ctas(self, query: str, stmt: exp.Create, database: str | None) -> Outcome:
        target = stmt.this.this if isinstance(stmt.this, exp.Schema) else stmt.this
        db, name = ddl.table_names(target, database)
        if not self.catalog.database_exists(db):
            raise QueryFailed(f"SCHEMA_NOT_FOUND: line 1:1: Schema '{db}' does not exist", 1301)
        if self.catalog.get_table(db, name) is not None:
            if stmt.args.get("exists"):
                return self._written("CREATE_TABLE_AS_SELECT", "DDL", 0, 0, [])
            raise QueryFailed(
                f"TABLE_ALREADY_EXISTS: line 1:1: Destination table '{DEFAULT_CATALOG}.{db}.{name}' already exists",
                1301,
            )
        props = writes.ctas_properties(
            (stmt.args.get("properties") or exp.Properties(expressions=[])).expressions
        )
        fmt = str(props.get("format") or "PARQUET").upper()
        if fmt != "PARQUET":
            raise QueryFailed(
                f"NOT_SUPPORTED: a sandbox só grava CTAS em Parquet (format = 'PARQUET'), não {fmt}.", 1201
            )
        location = str(props.get("external_location") or "")
        if location:
            ddl.valid_location(location)
        else:  # Athena's default: a `tables/<query id>/` folder in the query result location
            location = f"{self.results_location.rstrip('/')}/tables/{self.query_id}/"
        if not writes.is_empty(self.catalog, location):
            raise QueryFailed(
                f"HIVE_PATH_ALREADY_EXISTS: Target directory for table '{db}.{name}' already exists: {location}",
                1104,
            )
        computed = self._compute(query, stmt.expression, database, arrow=True)
        table, columns = writes.result_columns(
            computed.arrow, computed.duck_types, computed.zones, computed.unnamed
        )
        keys = [k.lower() for k in props.get("partitioned_by") or []]
        names = [c["Name"] for c in columns]
        missing = [k for k in keys if k not in names]
        if missing:
            raise QueryFailed(
                f"INVALID_TABLE_PROPERTY: Partition columns {missing} not present in schema".replace("'", "")
            )
        if keys and names[-len(keys) :] != keys:
            raise QueryFailed(
                "HIVE_COLUMN_ORDER_MISMATCH: Partition keys must be the last columns in the table and in the same "
                f"order as the table properties: [{', '.join(keys)}]"
            )
        if props.get("with_no_data") == "true":
            table = table.slice(0, 0)
        written = writes.write(self.catalog, table, location, keys, self.query_id, writes.codec(props))
        ddl.register_ctas_table(self.catalog, db, name, columns, keys, location, props)
        if written.partitions:
            glue_table = self.catalog.get_table(db, name)
            ddl.create_partitions(self.catalog, db, glue_table, written.partitions)
        return self._written(
            "CREATE_TABLE_AS_SELECT", "DDL", written.rows, computed.scanned_bytes, written.files
        )

    def _insert(self, query: str, stmt: exp.Insert, database: str | None) -> Outcome:
        target = stmt.this
        listed = None
        if isinstance(target, exp.Schema):
            listed = [c.name.lower() for c in target.expressions]
            target = target.this
        db, name = ddl.table_names(target, database)
        where = position(query, _start(target))
        if not self.catalog.database_exists(db):
            raise QueryFailed(f"SCHEMA_NOT_FOUND: {where}: Schema '{db}' does not exist", 1301)
        glue_table = self.catalog.get_table(db, name)
        if glue_table is None:
            raise QueryFailed(
                f"TABLE_NOT_FOUND: {where}: Table '{DEFAULT_CATALOG}.{db}.{name}' does not exist", 1301
            )
        source = stmt.expression
        if not isinstance(source, exp.Query):
            source = exp.select("*").from_(
                exp.Subquery(this=source, alias=exp.TableAlias(this=exp.to_identifier("v")))
            )
        computed = self._compute(query, source, database, arrow=True)
        columns = glue_table["StorageDescriptor"].get("Columns", []) + glue_table.get("PartitionKeys", [])
        all_names = [c["Name"].lower() for c in columns]
        types = [c["Type"] for c in columns]
        arrow = _hugeint_to_bigint(computed.arrow, computed.duck_types)
        if listed is not None:  # columns not listed are NULL
            unknown = [c for c in listed if c not in all_names]
            if unknown:
                raise QueryFailed(
                    f"COLUMN_NOT_FOUND: {where}: Insert column name does not exist in target table: {unknown[0]}"
                )
            if len(listed) != arrow.num_columns:
                raise QueryFailed(
                    f"TYPE_MISMATCH: {where}: Insert query has mismatched column types: Table: "
                    f"[{', '.join(types)}], Query: [{', '.join(writes.hive_type(f.type) for f in arrow.schema)}]"
                )
            by_name = dict(zip(listed, arrow.columns, strict=True))
            arrow = pa.Table.from_arrays(
                [by_name.get(n, pa.nulls(arrow.num_rows)) for n in all_names], names=all_names
            )
        schema = pa.schema(
            [(n, arrow_type(parse_hive_type(t))) for n, t in zip(all_names, types, strict=True)]
        )
        arrow = writes.coerce(arrow, schema, types)
        keys = [k["Name"].lower() for k in glue_table.get("PartitionKeys", [])]
        location = glue_table["StorageDescriptor"]["Location"]
        written = writes.write(self.catalog, arrow, location, keys, self.query_id, writes.codec({}))
        projected = glue_table.get("Parameters", {}).get("projection.enabled", "").lower() == "true"
        if written.partitions and not projected:
            known = {tuple(p.values.values()) for p in self.catalog.glue_partitions(db, glue_table)}
            new = [p for p in written.partitions if tuple(p.values.values()) not in known]
            ddl.create_partitions(self.catalog, db, glue_table, new)
        return self._written("INSERT", "DML", written.rows, computed.scanned_bytes, written.files)

    def _unload(self, query: str, database: str | None) -> Outcome:
        inner, location, props = writes.parse_unload(query)
        ddl.valid_location(location)
        fmt = str(props.get("format") or "").upper()
        if fmt != "PARQUET":
            raise QueryFailed(
                f"NOT_SUPPORTED: a sandbox só executa UNLOAD com format = 'PARQUET', não {fmt or 'TEXTFILE'}.",
                1201,
            )
        if not writes.is_empty(self.catalog, location):
            # Athena's UNLOAD never overwrites: the destination folder must be empty.
            raise QueryFailed(
                f"HIVE_PATH_ALREADY_EXISTS: Target directory for UNLOAD already exists: {location}", 1104
            )
        tree = parse(inner)
        if not isinstance(tree, exp.Query):
            raise syntax_error(inner)
        computed = self._compute(inner, tree, database, arrow=True)
        table, columns = writes.result_columns(
            computed.arrow, computed.duck_types, computed.zones, computed.unnamed
        )
        keys = [k.lower() for k in props.get("partitioned_by") or []]
        names = [c["Name"] for c in columns]
        if keys and names[-len(keys) :] != keys:
            raise QueryFailed(
                "HIVE_COLUMN_ORDER_MISMATCH: Partition keys must be the last columns in the table and in the same "
                f"order as the table properties: [{', '.join(keys)}]"
            )
        written = writes.write(self.catalog, table, location, keys, self.query_id, writes.codec(props))
        return self._written("UNLOAD", "DML", written.rows, computed.scanned_bytes, written.files)

    def _load(self, query: str, table: exp.Table, database: str | None):
        where = position(query, _start(table))
        db = (table.db or database or "default").lower()
        catalog_name = (table.catalog or DEFAULT_CATALOG).lower()
        if catalog_name != DEFAULT_CATALOG:
            raise QueryFailed(f"CATALOG_NOT_FOUND: {where}: Catalog '{catalog_name}' does not exist", 1301)
        if not self.catalog.database_exists(db):
            raise QueryFailed(f"SCHEMA_NOT_FOUND: {where}: Schema '{db}' does not exist", 1301)
        glue_table = self.catalog.get_table(db, table.name.lower())
        if glue_table is None:
            raise QueryFailed(
                f"TABLE_NOT_FOUND: {where}: Table '{catalog_name}.{db}.{table.name.lower()}' does not exist",
                1301,
            )
        if glue_table.get("TableType") == "VIRTUAL_VIEW":
            raise QueryFailed(
                "NOT_SUPPORTED: a sandbox não executa views; consulte a tabela diretamente.", 1201
            )
        partitions = self.catalog.partitions(db, glue_table)
        if partitions:
            select = table.find_ancestor(exp.Select)
            keys = {k["Name"].lower(): k["Type"].lower() for k in glue_table["PartitionKeys"]}
            if select is not None and table.parent_select is select:
                numeric = {
                    k for k, t in keys.items() if t in ("int", "integer", "bigint", "smallint", "tinyint")
                }
                for key, op, constants in partition_filters(select, table.alias or table.name, set(keys)):
                    partitions = [
                        p for p in partitions if keeps(p.values[key], op, constants, key in numeric)
                    ]
        return self.catalog.read(glue_table, partitions)


_INTEGER_PRECISION = {pa.int8(): 3, pa.int16(): 5, pa.int32(): 10, pa.int64(): 19}


def exact_columns(tables) -> dict[str, tuple[int, int]]:
    """Integer and decimal columns of the query's tables: name -> (precision, scale) for decimal arithmetic."""
    found = {}
    for arrow_table in tables:
        for f in arrow_table.schema:
            if f.type in _INTEGER_PRECISION:
                found[f.name] = (_INTEGER_PRECISION[f.type], 0)
            elif pa.types.is_decimal(f.type):
                found[f.name] = (f.type.precision, f.type.scale)
    return found


_TRINO_SCALARS = {
    pa.int8(): "tinyint",
    pa.int16(): "smallint",
    pa.int32(): "integer",
    pa.int64(): "bigint",
    pa.float32(): "real",
    pa.float64(): "double",
    pa.string(): "varchar",
    pa.bool_(): "boolean",
    pa.date32(): "date",
}


def column_types(tables) -> dict[str, str]:
    """Trino's scalar type of each table column whose name has one type in every table of the query."""
    seen: dict[str, set[str]] = {}
    for arrow_table in tables:
        for f in arrow_table.schema:
            name = _TRINO_SCALARS.get(f.type) or (
                "timestamp(3)" if pa.types.is_timestamp(f.type) else "other"
            )
            seen.setdefault(f.name, set()).add(name)
    return {n: next(iter(t)) for n, t in seen.items() if len(t) == 1 and "other" not in t}


def _hugeint_to_bigint(table: pa.Table, duck_types: list[str]) -> pa.Table:
    # DuckDB sums integers into int128 (Arrow decimal(38,0)); Trino's sum(bigint) is a bigint.
    arrays = [
        c.cast(pa.int64()) if t == "HUGEINT" else c for c, t in zip(table.columns, duck_types, strict=True)
    ]
    return pa.Table.from_arrays(arrays, names=table.column_names)


def _start(node: exp.Expression) -> int:
    starts = [i.meta["start"] for i in node.find_all(exp.Identifier) if i.meta and "start" in i.meta]
    return min(starts) if starts else 0


_STATEMENT_STARTS = {
    "(", "SELECT", "WITH", "VALUES", "TABLE", "CREATE", "DROP", "ALTER", "MSCK", "SHOW", "DESCRIBE", "DESC",
    "EXPLAIN", "INSERT", "USE", "UNLOAD", "PREPARE", "EXECUTE", "DEALLOCATE", "DELETE", "UPDATE", "MERGE",
    "OPTIMIZE", "VACUUM",
}  # fmt: skip


def parse(query: str) -> exp.Expression:
    text = query.strip().rstrip(";").strip()
    if not text:
        raise QueryFailed("SYNTAX_ERROR: line 1:1: mismatched input '<EOF>'")
    first = re.match(r"\(|\w+", text)
    if first is None or first.group(0).upper() not in _STATEMENT_STARTS:
        raise syntax_error(query)  # Trino stops at the first word it does not expect
    try:
        statements = [s for s in sqlglot.parse(text, read="athena") if s is not None]
    except (ParseError, TokenError) as error:
        raise syntax_error(query, error) from error
    if len(statements) != 1:
        raise QueryFailed(
            "INVALID_INPUT: Only one sql statement is allowed. Got: " + str(len(statements)), 1001
        )
    return statements[0]


def syntax_error(query: str, error: Exception | None = None) -> QueryFailed:
    detail = (error.errors[0] if isinstance(error, ParseError) and error.errors else {}) if error else {}
    offset = 0
    token = ""
    if detail.get("line"):
        lines = query.split("\n")
        line, col = detail["line"], detail.get("col", 1)
        token = (detail.get("highlight") or "").strip()
        offset = sum(len(x) + 1 for x in lines[: line - 1]) + max(col - len(token), 0)
    else:
        stripped = query.lstrip()
        offset = len(query) - len(stripped)
        token = stripped.split(None, 1)[0] if stripped else "<EOF>"
    return QueryFailed(
        f"SYNTAX_ERROR: {position(query, offset)}: mismatched input '{token or '<EOF>'}'", 1001
    )


def name_outputs(tree: exp.Query) -> set[int]:
    """Trino names unnamed result columns _col0, _col1, ... by position and lower-cases identifiers.

    Returns the positions it had to name (a CTAS must name every column)."""
    unnamed: set[int] = set()
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return unnamed
    for i, projection in enumerate(select.expressions):
        if isinstance(projection, exp.Alias):
            if not projection.args["alias"].quoted:
                projection.set("alias", exp.to_identifier(projection.alias.lower()))
        elif isinstance(projection, exp.Column):
            # Alias only when the case differs: `SELECT x AS x` makes DuckDB misreport unknown columns.
            if not projection.is_star and projection.name != projection.name.lower():
                projection.replace(exp.alias_(projection.copy(), projection.name.lower()))
        elif not isinstance(projection, exp.Star):
            projection.replace(exp.alias_(projection.copy(), f"_col{i}"))
            unnamed.add(i)
    return unnamed


# The query sees only the Arrow tables the catalog registered: no files, no network, no extensions to fetch
# or load, and no query can turn any of it back on (the configuration is locked once set up).
_LOCKED_DOWN = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def lake_only_connection(relations: dict) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection holding `relations` (name -> Arrow table) and nothing else it could reach."""
    connection = duckdb.connect(config=dict(_LOCKED_DOWN))
    try:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute("SET integer_division = true")  # 5 / 2 = 2, as in Trino
        connection.create_function(TRINO_TYPE, trino_type_name, ["VARCHAR"], "VARCHAR")
        connection.create_function(JAVA_DOUBLE, java_double, ["DOUBLE"], "VARCHAR")
        for name, arrow in relations.items():
            connection.register(name, arrow)  # in-memory Arrow: allowed with external access off
        connection.execute("SET lock_configuration = true")
    except BaseException:
        connection.close()
        raise
    return connection


def table_function_not_found(query: str, function: exp.Func) -> QueryFailed:
    """A function in FROM (DuckDB's read_text, read_csv, ...): Athena knows none of them."""
    calls = [f for f in function.find_all(exp.Anonymous) if f.name.upper() != "TABLE"]
    name = (calls[0].name if calls else function.sql_name()).lower()
    return QueryFailed(
        f"FUNCTION_NOT_FOUND: {position(query, _find(query, name))}: Function '{name}' not registered"
    )


def _find(query: str, name: str) -> int:
    match = re.search(rf'(?<![\w"]){re.escape(name)}(?![\w"])|"{re.escape(name)}"', query, re.IGNORECASE)
    return match.start() if match else 0


def translate_error(query: str, error: duckdb.Error) -> QueryFailed:
    """DuckDB's error as Athena (Trino) words the same mistake."""
    text = str(error)
    if RAISED_PREFIX in text:  # raised by the rewritten SQL itself, already in Athena's words
        return QueryFailed(RAISED_PREFIX + text.split(RAISED_PREFIX, 1)[1].split("\n")[0])
    if m := re.search(r'Referenced column "([^"]+)" not found|Column "([^"]+)" referenced that exists', text):
        name = m.group(1) or m.group(2)
        return QueryFailed(
            f"COLUMN_NOT_FOUND: {position(query, _find(query, name))}: Column '{name}' cannot be resolved or "
            "requester is not authorized to access requested resources",
            1301,
        )
    if m := re.search(r'Ambiguous reference to column name "([^"]+)"', text):
        name = m.group(1)
        return QueryFailed(
            f"COLUMN_AMBIGUOUS: {position(query, _find(query, name))}: Column '{name}' is ambiguous"
        )
    if m := re.search(r"Function with name (\w+) does not exist", text):
        name = m.group(1)
        return QueryFailed(
            f"FUNCTION_NOT_FOUND: {position(query, _find(query, name))}: Function '{name}' not registered"
        )
    if m := re.search(r'Function "(\w+)" is a table function but it was used as a scalar function', text):
        name = m.group(1)
        return QueryFailed(
            f"FUNCTION_NOT_FOUND: {position(query, _find(query, name))}: Function '{name}' not registered"
        )
    if isinstance(error, duckdb.PermissionException):  # the lockdown caught what got past the checks above
        return QueryFailed(
            "PERMISSION_DENIED: Access Denied: a consulta só pode ler as tabelas do catálogo", 1301
        )
    if m := re.search(r'column "([^"]+)" must appear in the GROUP BY clause', text):
        name = m.group(1)
        return QueryFailed(
            f"EXPRESSION_NOT_AGGREGATE: {position(query, _find(query, name))}: '{name}' must be an aggregate "
            "expression or appear in GROUP BY clause"
        )
    if "Division by zero" in text:
        return QueryFailed("DIVISION_BY_ZERO: Division by zero")
    if m := re.search(
        r"Overflow in (addition|subtraction|multiplication) of (INT\d+) \((.+?) [-+*] (.+?)\)", text
    ):
        kind, name, left, right = m.groups()
        type_name = {"INT8": "tinyint", "INT16": "smallint", "INT32": "integer", "INT64": "bigint"}[name]
        symbol = {"addition": "+", "subtraction": "-", "multiplication": "*"}[kind]
        return QueryFailed(
            f"NUMERIC_VALUE_OUT_OF_RANGE: {type_name} {kind} overflow: {left} {symbol} {right}"
        )
    if isinstance(error, duckdb.OutOfRangeException):
        return QueryFailed(
            "NUMERIC_VALUE_OUT_OF_RANGE: " + text.split("\n")[0].removeprefix("Out of Range Error: ")
        )
    if m := re.search(r"Could not convert string '([^']*)' to (\w+)", text):
        target = {"INT32": "INT", "INT64": "BIGINT", "DOUBLE": "DOUBLE", "DATE": "DATE"}.get(
            m.group(2), m.group(2)
        )
        return QueryFailed(f"INVALID_CAST_ARGUMENT: Cannot cast '{m.group(1)}' to {target}", 1106)
    if isinstance(error, duckdb.BinderException):
        return QueryFailed("TYPE_MISMATCH: line 1:1: " + text.split("\n")[0].removeprefix("Binder Error: "))
    if isinstance(error, duckdb.ParserException):
        return QueryFailed(
            "SYNTAX_ERROR: line 1:1: " + text.split("\n")[0].removeprefix("Parser Error: "), 1001
        )
    return QueryFailed("GENERIC_INTERNAL_ERROR: " + text.split("\n")[0], 1200, category=1)
