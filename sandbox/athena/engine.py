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

from sandbox.athena import ddl
from sandbox.athena.catalog import Catalog
from sandbox.athena.errors import QueryFailed, position
from sandbox.athena.translate import keeps, output_zones, partition_filters, to_duckdb
from sandbox.athena.types import athena_type, render

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

    @property
    def is_select(self) -> bool:
        return self.statement_type == "DML"


class Cancelled(Exception):
    """The query was stopped (StopQueryExecution) while it ran."""


class Runner:
    """One statement's execution; `interrupt()` may be called from another thread."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
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
            keyword, rest = stmt.name.upper(), stmt.expression.name if stmt.expression else ""
            if keyword == "MSCK REPAIR":
                return self._ddl("DDL", "MSCK_REPAIR_TABLE", ddl.repair_table(self.catalog, rest, database))
            if keyword == "SHOW":
                kind = rest.split()[0].upper() if rest.split() else ""
                return self._ddl("UTILITY", f"SHOW_{kind}", ddl.show(self.catalog, rest, database))
            raise syntax_error(query)
        if isinstance(stmt, exp.Create):
            kind = (stmt.args.get("kind") or "").upper()
            if kind in ("DATABASE", "SCHEMA"):
                return self._ddl("DDL", "CREATE_DATABASE", ddl.create_database(self.catalog, stmt))
            if kind == "TABLE":
                return self._ddl("DDL", "CREATE_TABLE", ddl.create_table(self.catalog, stmt, database))
        if isinstance(stmt, exp.Drop):
            kind = (stmt.args.get("kind") or "").upper()
            if kind in ("DATABASE", "SCHEMA"):
                return self._ddl("DDL", "DROP_DATABASE", ddl.drop_database(self.catalog, stmt))
            if kind == "TABLE":
                return self._ddl("DDL", "DROP_TABLE", ddl.drop_table(self.catalog, stmt, database))
        if isinstance(stmt, exp.Alter):
            return self._ddl(
                "DDL", "ALTER_TABLE_ADD_PARTITION", ddl.add_partitions(self.catalog, stmt, database)
            )
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
        name_outputs(tree)
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
            f.name for arrow in relations.values() for f in arrow.schema if pa.types.is_date(f.type)
        }
        to_duckdb(tree, date_columns)
        zones = output_zones(tree)
        sql = tree.sql(dialect="duckdb")
        connection = lake_only_connection(relations)
        try:
            with self._lock:
                self._check()
                self._connection = connection
            try:
                relation = connection.sql(sql)
                rows = relation.fetchall()
            except duckdb.InterruptException as error:
                raise Cancelled from error
            except duckdb.Error as error:
                if self._cancelled:
                    raise Cancelled from error
                raise translate_error(query, error) from error
            names, types = relation.columns, [str(t) for t in relation.types]
        finally:
            with self._lock:
                self._connection = None
            connection.close()
        columns = []
        for i, (name, duck_type) in enumerate(zip(names, types, strict=True)):
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
            for row in rows
        ]
        return Outcome("DML", "SELECT", columns, rendered, scanned)

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


def name_outputs(tree: exp.Query) -> None:
    """Trino names unnamed result columns _col0, _col1, ... by position and lower-cases identifiers."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return
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
