"""Athena DDL and utility statements, applied to the Glue Data Catalog.

Each function takes the parsed statement and returns (column name, rows) for the `.txt` result; failures
raise QueryFailed with Athena's (Hive's) wording.
"""

from __future__ import annotations

import re

from sqlglot import exp

from sandbox.athena.catalog import Catalog, Partition, split_s3_uri
from sandbox.athena.errors import QueryFailed
from sandbox.athena.types import hive_type_name

_DDL_TASK = "FAILED: Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "
PARQUET_FORMATS = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
}
Result = tuple[str | None, list[str]]


def _no_database(name: str) -> QueryFailed:
    return QueryFailed(f"FAILED: SemanticException [Error 10072]: Database does not exist: {name}", 1301)


def table_names(table: exp.Table, database: str | None) -> tuple[str, str]:
    db = (table.db or database or "default").lower()
    return db, table.name.lower()


def _table_or_fail(catalog: Catalog, db: str, name: str) -> dict:
    if not catalog.database_exists(db):
        raise _no_database(db)
    table = catalog.get_table(db, name)
    if table is None:
        raise QueryFailed(f"FAILED: SemanticException [Error 10001]: Table not found {db}.{name}", 1301)
    return table


def create_database(catalog: Catalog, stmt: exp.Create) -> Result:
    name = stmt.this.name.lower()
    if catalog.database_exists(name):
        if stmt.args.get("exists"):
            return None, []
        raise QueryFailed(_DDL_TASK + f"Database {name} already exists", 1301)
    database: dict = {"Name": name}
    for prop in (stmt.args.get("properties") or exp.Properties(expressions=[])).expressions:
        if isinstance(prop, exp.LocationProperty):
            database["LocationUri"] = prop.this.name
        elif isinstance(prop, exp.SchemaCommentProperty):
            database["Description"] = prop.this.name
    catalog.glue.create_database(DatabaseInput=database)
    return None, []


def drop_database(catalog: Catalog, stmt: exp.Drop) -> Result:
    name = stmt.this.name.lower() if stmt.this else stmt.args["tables"][0].name.lower()
    if not catalog.database_exists(name):
        if stmt.args.get("exists"):
            return None, []
        raise _no_database(name)
    tables = catalog.list_tables(name)
    if tables and not stmt.args.get("cascade"):
        raise QueryFailed(
            _DDL_TASK
            + f"InvalidOperationException(message:Database {name} is not empty. One or more tables exist.)",
            1301,
        )
    for table in tables:
        catalog.glue.delete_table(DatabaseName=name, Name=table)
    catalog.glue.delete_database(Name=name)
    return None, []


def create_table(catalog: Catalog, stmt: exp.Create, database: str | None) -> Result:
    if stmt.expression is not None:
        raise QueryFailed(
            "NOT_SUPPORTED: a sandbox não executa CREATE TABLE AS SELECT; crie a tabela com "
            "CREATE EXTERNAL TABLE sobre arquivos Parquet no S3.",
            1201,
        )
    schema = stmt.this
    db, name = table_names(schema.this, database)
    props = (stmt.args.get("properties") or exp.Properties(expressions=[])).expressions
    if not any(isinstance(p, exp.ExternalProperty) for p in props):
        raise QueryFailed(
            "FAILED: SemanticException Only external table creation is supported. "
            "Use CREATE EXTERNAL TABLE ... LOCATION 's3://...'.",
            1301,
        )
    if not catalog.database_exists(db):
        raise _no_database(db)
    if catalog.get_table(db, name) is not None:
        if stmt.args.get("exists"):
            return None, []
        raise QueryFailed(_DDL_TASK + f"AlreadyExistsException(message:Table {name} already exists)", 1301)
    columns = [_column(c) for c in schema.expressions if isinstance(c, exp.ColumnDef)]
    storage: dict = {
        "Columns": columns,
        "InputFormat": PARQUET_FORMATS["InputFormat"],
        "OutputFormat": PARQUET_FORMATS["OutputFormat"],
        "SerdeInfo": {"SerializationLibrary": PARQUET_FORMATS["SerializationLibrary"], "Parameters": {}},
    }
    table: dict = {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "PartitionKeys": [],
        "Parameters": {"EXTERNAL": "TRUE"},
    }
    for prop in props:
        if isinstance(prop, exp.PartitionedByProperty):
            table["PartitionKeys"] = [_column(c) for c in prop.this.expressions]
        elif isinstance(prop, exp.LocationProperty):
            location = prop.this.name
            split_s3_uri(location)  # validates
            storage["Location"] = location
        elif isinstance(prop, exp.RowFormatSerdeProperty):
            storage["SerdeInfo"]["SerializationLibrary"] = prop.this.name
            serde_props = prop.args.get("serde_properties")
            if serde_props:
                storage["SerdeInfo"]["Parameters"] = {
                    p.name: p.text("value") for p in serde_props.expressions
                }
        elif isinstance(prop, exp.FileFormatProperty):
            fmt = prop.this
            if isinstance(fmt, exp.InputOutputFormat):
                storage["InputFormat"] = fmt.args["input_format"].name
                storage["OutputFormat"] = fmt.args["output_format"].name
            elif fmt.name.upper() != "PARQUET":
                raise QueryFailed(
                    f"NOT_SUPPORTED: a sandbox só lê tabelas Parquet (STORED AS PARQUET), não {fmt.name}.",
                    1201,
                )
        elif type(prop) is exp.Property:  # TBLPROPERTIES; subclasses are other clauses
            table["Parameters"][prop.name] = prop.text("value")
        elif isinstance(prop, exp.SchemaCommentProperty):
            table["Description"] = prop.this.name
    if "parquet" not in storage["SerdeInfo"]["SerializationLibrary"].lower():
        raise QueryFailed("NOT_SUPPORTED: a sandbox só lê tabelas Parquet (ParquetHiveSerDe).", 1201)
    if "Location" not in storage:
        raise QueryFailed(
            "FAILED: SemanticException: LOCATION is required for external tables "
            "(ex.: LOCATION 's3://bucket/prefixo/').",
            1301,
        )
    table["StorageDescriptor"] = storage
    catalog.glue.create_table(DatabaseName=db, TableInput=table)
    return None, []


def _column(column: exp.ColumnDef) -> dict:
    out = {"Name": column.name.lower(), "Type": hive_type_name(column.args["kind"])}
    for constraint in column.args.get("constraints") or []:
        if isinstance(constraint.kind, exp.CommentColumnConstraint):
            out["Comment"] = constraint.kind.this.name
    return out


def valid_location(location: str) -> None:
    try:
        split_s3_uri(location)
    except ValueError as error:
        raise QueryFailed(
            f"INVALID_TABLE_PROPERTY: External location must be a directory: {location}", 1301
        ) from error


def register_ctas_table(
    catalog: Catalog, db: str, name: str, columns: list[dict], keys: list[str], location: str, props: dict
) -> None:
    """The Glue entry a CTAS leaves: an external Parquet table at the location it wrote, keys last."""
    storage: dict = {
        "Columns": [c for c in columns if c["Name"] not in keys],
        "Location": location,
        "InputFormat": PARQUET_FORMATS["InputFormat"],
        "OutputFormat": PARQUET_FORMATS["OutputFormat"],
        "Compressed": False,
        "SerdeInfo": {
            "SerializationLibrary": PARQUET_FORMATS["SerializationLibrary"],
            "Parameters": {"serialization.format": "1"},
        },
    }
    bucketed = props.get("bucketed_by")
    if bucketed:
        storage["BucketColumns"] = [b.lower() for b in bucketed]
        storage["NumberOfBuckets"] = int(props.get("bucket_count") or 1)
    catalog.glue.create_table(
        DatabaseName=db,
        TableInput={
            "Name": name,
            "TableType": "EXTERNAL_TABLE",
            "PartitionKeys": [c for k in keys for c in columns if c["Name"] == k],
            "Parameters": {"EXTERNAL": "TRUE", "has_encrypted_data": "false"},
            "StorageDescriptor": storage,
        },
    )


def drop_table(catalog: Catalog, stmt: exp.Drop, database: str | None) -> Result:
    db, name = table_names(stmt.this if stmt.this else stmt.args["tables"][0], database)
    table = catalog.get_table(db, name) if catalog.database_exists(db) else None
    if table is not None:
        if table.get("PartitionKeys"):
            # A partitioned table's partitions go first, one by one, as AWS's Glue client for Hive drops them
            # (glue:GetPartitions, then glue:GetPartition and glue:DeletePartition each: the DROP TABLE example
            # of "Configure access to databases and tables in the AWS Glue Data Catalog").
            for partition in catalog.glue_partitions(db, table):
                values = list(partition.values.values())
                catalog.glue.get_partition(DatabaseName=db, TableName=name, PartitionValues=values)
                catalog.glue.delete_partition(DatabaseName=db, TableName=name, PartitionValues=values)
        catalog.glue.delete_table(DatabaseName=db, Name=name)
    elif not stmt.args.get("exists"):
        _table_or_fail(catalog, db, name)
    return None, []


def split_add_partitions(text: str) -> list[str] | None:
    """`ALTER TABLE t ADD [IF NOT EXISTS] PARTITION (...) [LOCATION '...'] PARTITION (...) ...` (Hive's form with
    several partitions and no commas, which sqlglot cannot parse) as one statement per partition."""
    match = re.match(r"(?is)^\s*ALTER\s+TABLE\s+(\S+)\s+ADD\s+(IF\s+NOT\s+EXISTS\s+)?(PARTITION\b.*)$", text)
    if not match:
        return None
    specs = re.findall(r"(?is)PARTITION\s*\([^)]*\)(?:\s*LOCATION\s*'[^']*')?", match.group(3))
    if len(specs) < 2:
        return None
    return [f"ALTER TABLE {match.group(1)} ADD {match.group(2) or ''}{spec}" for spec in specs]


def alter_partitions(catalog: Catalog, stmt: exp.Alter, database: str | None) -> Result:
    """ALTER TABLE ... ADD PARTITION / DROP PARTITION (Glue only: Athena never deletes the data)."""
    actions = stmt.args.get("actions", [])
    if actions and all(isinstance(a, exp.DropPartition) for a in actions):
        return drop_partitions(catalog, stmt, database)
    return add_partitions(catalog, stmt, database)


def drop_partitions(catalog: Catalog, stmt: exp.Alter, database: str | None) -> Result:
    db, name = table_names(stmt.this, database)
    table = _table_or_fail(catalog, db, name)
    keys = [k["Name"] for k in table.get("PartitionKeys", [])]
    existing = {tuple(p.values.values()) for p in catalog.glue_partitions(db, table)}
    doomed = []
    for action in stmt.args["actions"]:
        for partition in action.expressions:
            spec = {eq.this.name.lower(): eq.expression.name for eq in partition.expressions}
            if set(spec) != set(keys):
                raise QueryFailed(
                    f"FAILED: SemanticException [Error 10006]: Partition not found {spec} "
                    f"(a tabela {name} é particionada por {', '.join(keys) or 'nenhuma coluna'})",
                    1301,
                )
            values = tuple(spec[k] for k in keys)
            if values not in existing:
                if action.args.get("exists"):
                    continue
                described = ", ".join(f"{k} = '{v}'" for k, v in zip(keys, values, strict=True))
                raise QueryFailed(
                    f"FAILED: SemanticException [Error 10006]: Partition not found ({described})", 1301
                )
            doomed.append({"Values": list(values)})
    for start in range(0, len(doomed), 25):  # Glue's BatchDeletePartition takes up to 25
        catalog.glue.batch_delete_partition(
            DatabaseName=db, TableName=table["Name"], PartitionsToDelete=doomed[start : start + 25]
        )
    return None, []


def add_partitions(catalog: Catalog, stmt: exp.Alter, database: str | None) -> Result:
    db, name = table_names(stmt.this, database)
    table = _table_or_fail(catalog, db, name)
    keys = [k["Name"] for k in table.get("PartitionKeys", [])]
    existing = {tuple(p.values.values()) for p in catalog.glue_partitions(db, table)}
    new: list[Partition] = []
    for action in stmt.args.get("actions", []):
        if not isinstance(action, exp.AddPartition):
            raise QueryFailed(
                "NOT_SUPPORTED: a sandbox executa ALTER TABLE ... ADD PARTITION e DROP PARTITION, não outros "
                "ALTER TABLE.",
                1201,
            )
        spec = {eq.this.name.lower(): eq.expression.name for eq in action.this.expressions}
        if set(spec) != set(keys):
            raise QueryFailed(
                f"FAILED: SemanticException [Error 10006]: Partition not found {spec} "
                f"(a tabela {name} é particionada por {', '.join(keys) or 'nenhuma coluna'})",
                1301,
            )
        values = {k: spec[k] for k in keys}
        location = action.args.get("location")
        default = (
            table["StorageDescriptor"]["Location"].rstrip("/")
            + "/"
            + "/".join(f"{k}={v}" for k, v in values.items())
        )
        partition = Partition(values, location.this.name if location else default + "/")
        if tuple(values.values()) in existing:
            if action.args.get("exists"):
                continue
            raise QueryFailed(
                _DDL_TASK + f"AlreadyExistsException(message:Partition already exists: {values})", 1301
            )
        new.append(partition)
    create_partitions(catalog, db, table, new)
    return None, []


def create_partitions(catalog: Catalog, db: str, table: dict, partitions: list[Partition]) -> None:
    storage = table["StorageDescriptor"]
    for start in range(0, len(partitions), 100):  # Glue's BatchCreatePartition takes up to 100
        inputs = [
            {
                "Values": list(p.values.values()),
                "StorageDescriptor": {
                    **{k: v for k, v in storage.items() if k != "Location"},
                    "Location": p.location,
                },
            }
            for p in partitions[start : start + 100]
        ]
        answer = catalog.glue.batch_create_partition(
            DatabaseName=db, TableName=table["Name"], PartitionInputList=inputs
        )
        if answer.get("Errors"):
            raise QueryFailed(_DDL_TASK + str(answer["Errors"][0]["ErrorDetail"]), 1301)


def repair_table(catalog: Catalog, text: str, database: str | None) -> Result:
    """MSCK REPAIR TABLE: register every `k1=v1/k2=v2/` prefix under LOCATION that Glue does not know."""
    match = re.fullmatch(r"(?is)\s*TABLE\s+([`\"\w.]+)\s*", text)
    if not match:
        raise QueryFailed(
            f"SYNTAX_ERROR: line 1:13: mismatched input '{text.split()[0] if text.split() else ''}'"
        )
    db, name = table_names(exp.to_table(match.group(1).replace("`", "").replace('"', "")), database)
    table = _table_or_fail(catalog, db, name)
    keys = [k["Name"] for k in table.get("PartitionKeys", [])]
    if not keys:
        return None, []
    location = table["StorageDescriptor"]["Location"].rstrip("/") + "/"
    pattern = re.compile(
        re.escape(location) + "".join(rf"{re.escape(k)}=([^/]+)/" for k in keys), re.IGNORECASE
    )
    known = {tuple(p.values.values()) for p in catalog.glue_partitions(db, table)}
    found: dict[tuple, Partition] = {}
    for file in catalog.list_files(location):
        m = pattern.match(file.uri)
        if m and m.groups() not in known:
            found.setdefault(m.groups(), Partition(dict(zip(keys, m.groups(), strict=True)), m.group(0)))
    new = sorted(found.values(), key=lambda p: p.location)
    create_partitions(catalog, db, table, new)
    specs = ["/".join(f"{k}={v}" for k, v in p.values.items()) for p in new]
    if not specs:
        return None, []
    return None, [
        "Partitions not in metastore:\t" + "\t".join(f"{name}:{s}" for s in specs),
        *(f"Repair: Added partition to metastore {name}:{s}" for s in specs),
    ]


def show(catalog: Catalog, text: str, database: str | None) -> Result:
    words = text.split()
    head = words[0].upper() if words else ""
    if head in ("DATABASES", "SCHEMAS"):
        pattern = words[-1].strip("'") if len(words) > 1 and words[-1].startswith("'") else None
        names = [n for n in catalog.list_databases() if _like(n, pattern)]
        return "database_name", names
    if head == "TABLES":
        db = database or "default"
        if len(words) > 2 and words[1].upper() in ("IN", "FROM"):
            db = words[2].strip('`"').lower()
        pattern = words[-1].strip("'") if words[-1].startswith("'") else None
        if not catalog.database_exists(db):
            raise _no_database(db)
        return "tab_name", [n for n in catalog.list_tables(db) if _like(n, pattern)]
    if head == "PARTITIONS" and len(words) == 2:
        db, name = table_names(exp.to_table(words[1].replace("`", "").replace('"', "")), database)
        table = _table_or_fail(catalog, db, name)
        if not table.get("PartitionKeys"):
            raise QueryFailed(
                f"FAILED: SemanticException [Error 10241]: Table {name} is not a partitioned table", 1301
            )
        rows = ["/".join(f"{k}={v}" for k, v in p.values.items()) for p in catalog.glue_partitions(db, table)]
        return "partition", sorted(rows)
    if head == "CREATE" and len(words) == 3 and words[1].upper() == "TABLE":
        db, name = table_names(exp.to_table(words[2].replace("`", "").replace('"', "")), database)
        return "createtab_stmt", create_statement(_table_or_fail(catalog, db, name))
    if head == "COLUMNS" and len(words) >= 3:
        db, name = table_names(exp.to_table(words[2].replace("`", "")), database)
        table = _table_or_fail(catalog, db, name)
        cols = table["StorageDescriptor"].get("Columns", []) + table.get("PartitionKeys", [])
        return "field", [c["Name"] for c in cols]
    raise QueryFailed(f"SYNTAX_ERROR: line 1:6: mismatched input '{words[0] if words else '<EOF>'}'")


def create_statement(table: dict) -> list[str]:
    """SHOW CREATE TABLE: the Hive DDL Athena prints, one line per row; it recreates the same table."""

    def column(c: dict, last: bool) -> str:
        comment = f" COMMENT '{c['Comment']}'" if c.get("Comment") else ""
        return f"  `{c['Name']}` {c['Type']}{comment}" + (")" if last else ", ")

    storage = table["StorageDescriptor"]
    columns = storage.get("Columns", [])
    kind = "EXTERNAL TABLE" if table.get("TableType") == "EXTERNAL_TABLE" else "TABLE"
    lines = [f"CREATE {kind} `{table['Name']}`("]
    lines += [column(c, i == len(columns) - 1) for i, c in enumerate(columns)]
    if table.get("Description"):
        lines.append(f"COMMENT '{table['Description']}'")
    keys = table.get("PartitionKeys", [])
    if keys:
        lines.append("PARTITIONED BY ( ")
        lines += [column(k, i == len(keys) - 1) for i, k in enumerate(keys)]
    serde = storage.get("SerdeInfo", {})
    lines += ["ROW FORMAT SERDE ", f"  '{serde.get('SerializationLibrary', '')}' "]
    if serde.get("Parameters") and set(serde["Parameters"]) != {"serialization.format"}:
        pairs = [f"  '{k}'='{v}'" for k, v in serde["Parameters"].items()]
        lines += ["WITH SERDEPROPERTIES ( ", *[p + ", " for p in pairs[:-1]], pairs[-1] + ") "]
    lines += ["STORED AS INPUTFORMAT ", f"  '{storage.get('InputFormat', '')}' "]
    lines += [
        "OUTPUTFORMAT ",
        f"  '{storage.get('OutputFormat', '')}'",
        "LOCATION",
        f"  '{storage.get('Location', '')}'",
    ]
    params = {k: v for k, v in table.get("Parameters", {}).items() if k != "EXTERNAL"}
    if params:
        pairs = [f"  '{k}'='{v}'" for k, v in sorted(params.items())]
        lines += ["TBLPROPERTIES (", *[p + ", " for p in pairs[:-1]], pairs[-1] + ")"]
    return lines


def _like(name: str, pattern: str | None) -> bool:
    # Hive's SHOW ... 'pattern': * is any text, | separates alternatives.
    if not pattern:
        return True
    return any(re.fullmatch(p.replace("*", ".*"), name, re.IGNORECASE) for p in pattern.split("|"))


def describe(catalog: Catalog, stmt: exp.Describe, database: str | None) -> Result:
    db, name = table_names(stmt.this, database)
    table = _table_or_fail(catalog, db, name)

    def line(column: dict) -> str:
        return f"{column['Name']:<20}\t{column['Type']:<20}\t{column.get('Comment', ''):<20}"

    rows = [line(c) for c in table["StorageDescriptor"].get("Columns", [])]
    keys = table.get("PartitionKeys", [])
    rows += [line(k) for k in keys]
    if keys:
        rows += [
            "\t \t ",
            "# Partition Information\t \t ",
            f"{'# col_name':<20}\t{'data_type':<20}\t{'comment':<20}",
        ]
        rows += ["\t \t "] + [line(k) for k in keys]
    return None, rows
