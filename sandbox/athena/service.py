"""The Athena query API (StartQueryExecution & co.) over the Athena engine of the sandbox.

The sandbox server routes `X-Amz-Target: AmazonAthena.<Action>` requests for query actions here; params and
results are the JSON API's (timestamps as epoch seconds, as on the wire). Workgroups live in moto and are
read with boto3, so `create_work_group` through the sandbox works as on AWS.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from sandbox import config
from sandbox.athena.catalog import Catalog, Rights, split_s3_uri
from sandbox.athena.engine import Cancelled, Outcome, Runner
from sandbox.athena.errors import AthenaError, QueryFailed
from sandbox.athena.types import to_csv

logger = logging.getLogger(__name__)

ENGINE_VERSION = {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"}
NO_OUTPUT_LOCATION = (
    "No output location provided. An output location is required either through the Workgroup result "
    "configuration setting or as an API input."
)
# Athena's own words when a CTAS names its location in a workgroup that enforces one (workgroups-troubleshooting).
ENFORCED_CTAS_LOCATION = (
    "The Create Table As Select query failed because it was submitted with an 'external_location' property to an "
    "Athena Workgroup that enforces a centralized output location for all queries. Please remove the "
    "'external_location' property and resubmit the query."
)
_CTAS_WITH_LOCATION = re.compile(r"(?is)^\s*CREATE\s+TABLE\b.*\bexternal_location\s*=.*\bAS\b")
_TXT_RESULTS = ("CREATE", "DROP", "ALTER", "MSCK", "SHOW", "DESCRIBE", "DESC")
_TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


@dataclass
class Execution:
    id: str
    query: str
    workgroup: str
    context: dict
    output_location: str  # the result file, s3://.../{id}.csv or .txt
    token: str | None
    submitted: float
    state: str = "QUEUED"
    started: float | None = None
    completed: float | None = None
    failure: QueryFailed | None = None
    # The caller's rights, with which Athena calls Glue and S3 for the query (None: the sandbox's own).
    rights: Rights | None = None
    outcome: Outcome | None = None
    runner: Runner | None = None
    manifest_location: str | None = None  # s3://.../{id}-manifest.csv, for CTAS / INSERT / UNLOAD
    parameters: list[str] | None = None  # ExecutionParameters, one SQL literal per `?`
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def statement_type(self) -> str:
        if self.outcome is not None:
            return self.outcome.statement_type
        head = self.query.lstrip(" (\n\t").split(None, 1)[0].upper() if self.query.strip() else ""
        return (
            "DML"
            if head not in _TXT_RESULTS
            else ("UTILITY" if head in ("SHOW", "DESCRIBE", "DESC") else "DDL")
        )


def bind_parameters(query: str, values: list[str]) -> str:
    """The query with each `?` (outside literals, quoted names and comments) replaced by its value, in order.

    Athena's ExecutionParameters are SQL literals applied to the query's `?` in order (strings come quoted,
    as PyAthena's qmark style sends them); a count that does not match fails as Trino does.
    """
    pieces, count, i = [], 0, 0
    closers = {"'": "'", '"': '"', "--": "\n", "/*": "*/"}
    while i < len(query):
        opener = next((o for o in closers if query.startswith(o, i)), None)
        if opener is not None:
            end = query.find(closers[opener], i + len(opener))
            end = len(query) if end < 0 else end + len(closers[opener])
            pieces.append(query[i:end])
            i = end
        elif query[i] == "?":
            pieces.append(values[count] if count < len(values) else "?")
            count += 1
            i += 1
        else:
            pieces.append(query[i])
            i += 1
    if count != len(values):
        raise QueryFailed(
            f"INVALID_PARAMETER_USAGE: line 1:1: Incorrect number of parameters: expected {count} but found "
            f"{len(values)}"
        )
    return "".join(pieces)


def _required(params: dict, name: str):
    value = params.get(name)
    if value in (None, "", []):
        raise AthenaError("InvalidRequestException", f"{name} is required.")
    return value


def _encode_token(execution_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([execution_id, offset]).encode()).decode()


def _decode_token(token: str | None, execution_id: str | None = None) -> int:
    if not token:
        return 0
    try:
        owner, offset = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError, binascii.Error) as error:
        raise AthenaError("InvalidRequestException", "The NextToken provided is invalid.") from error
    if execution_id is not None and owner != execution_id:
        raise AthenaError("InvalidRequestException", "The NextToken provided is invalid.")
    return int(offset)


class AthenaService:
    def __init__(self, endpoint_url: str, region: str, seed: int = config.DEFAULT_SEED):
        self.catalog = Catalog(endpoint_url, region)
        self._seed = seed
        self._lock = threading.Lock()
        self._executions: dict[str, Execution] = {}
        self._tokens: dict[str, str] = {}
        self._random = random.Random(seed)

    def reset(self) -> None:
        """Forget every query execution (running ones are cancelled first)."""
        with self._lock:
            running = [e for e in self._executions.values() if e.state not in _TERMINAL]
            for execution in running:
                execution.state, execution.completed = "CANCELLED", time.time()
            self._executions, self._tokens = {}, {}
            self._random = random.Random(self._seed)
        for execution in running:
            execution.runner.interrupt()

    def handle(self, action: str, params: dict, rights: Rights | None = None) -> dict:
        """Serve one API action for a caller: `rights(service, operation, params, purpose, output_url)` says why
        they may not make a Glue or S3 call Athena makes on their behalf (None: they may). A query whose call is
        denied ends FAILED; GetQueryResults without s3:GetObject on the result file is refused, as on AWS."""
        if action == "StartQueryExecution":
            return self._start(params or {}, rights)
        if action == "GetQueryResults":
            return self._results(params or {}, rights)
        method = {
            "StartQueryExecution": self._start,
            "GetQueryExecution": self._get,
            "GetQueryResults": self._results,
            "StopQueryExecution": self._stop,
            "ListQueryExecutions": self._list,
            "BatchGetQueryExecution": self._batch_get,
        }.get(action)
        if method is None:
            raise AthenaError("InvalidRequestException", f"A sandbox não implementa a ação Athena {action}.")
        return method(params or {})

    # -- StartQueryExecution ---------------------------------------------------------------------------
    def _start(self, params: dict, rights: Rights | None = None) -> dict:
        query = _required(params, "QueryString")
        if len(query) > 262144:
            raise AthenaError("InvalidRequestException", "Query string is too long (max 262144 characters).")
        token = params.get("ClientRequestToken")
        with self._lock:
            if token and token in self._tokens:
                return {"QueryExecutionId": self._tokens[token]}
        workgroup_name = params.get("WorkGroup") or "primary"
        workgroup = self._workgroup(workgroup_name)
        configuration = workgroup.get("Configuration", {})
        wg_location = configuration.get("ResultConfiguration", {}).get("OutputLocation")
        asked = (params.get("ResultConfiguration") or {}).get("OutputLocation")
        location = (
            wg_location if configuration.get("EnforceWorkGroupConfiguration") and wg_location else asked
        )
        location = location or wg_location
        enforced = bool(configuration.get("EnforceWorkGroupConfiguration") and wg_location)
        if enforced and _CTAS_WITH_LOCATION.match(query):
            raise AthenaError("InvalidRequestException", ENFORCED_CTAS_LOCATION)
        if not location:
            raise AthenaError("InvalidRequestException", NO_OUTPUT_LOCATION)
        try:
            split_s3_uri(location)
        except ValueError as error:
            raise AthenaError(
                "InvalidRequestException", f"outputLocation is not a valid S3 path: {location}"
            ) from error
        with self._lock:
            execution_id = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
            execution = Execution(
                id=execution_id,
                query=query,
                workgroup=workgroup_name,
                context={k: v for k, v in (params.get("QueryExecutionContext") or {}).items() if v},
                output_location="",
                token=token,
                submitted=time.time(),
                parameters=params.get("ExecutionParameters") or None,
                rights=rights,
            )
            suffix = "csv" if execution.statement_type == "DML" else "txt"
            execution.output_location = f"{location.rstrip('/')}/{execution_id}.{suffix}"
            execution.runner = Runner(self.catalog, execution_id, location)
            self._executions[execution_id] = execution
            if token:
                self._tokens[token] = execution_id
        threading.Thread(
            target=self._execute, args=(execution,), name=f"athena-{execution_id[:8]}", daemon=True
        ).start()
        return {"QueryExecutionId": execution_id}

    def _workgroup(self, name: str) -> dict:
        try:
            answer = self.catalog.athena.get_work_group(WorkGroup=name)
        except ClientError as error:
            raise AthenaError("InvalidRequestException", f"WorkGroup {name} is not found.") from error
        workgroup = answer.get("WorkGroup")
        if not workgroup:  # moto answers an empty body for an unknown workgroup
            raise AthenaError("InvalidRequestException", f"WorkGroup {name} is not found.")
        if workgroup.get("State") == "DISABLED":
            raise AthenaError("InvalidRequestException", f"WorkGroup {name} is disabled.")
        return workgroup

    def _execute(self, execution: Execution) -> None:
        with self._lock:
            if execution.state != "QUEUED":
                return
            execution.state, execution.started = "RUNNING", time.time()
        acting = self.catalog.acting_for
        output = execution.output_location
        try:
            # In Athena's order: the result location is checked, the statement runs (its Glue and S3 calls),
            # then the result is written; each with the caller's rights.
            with acting(execution.rights, "results", output):
                self._check_output_bucket(output)
            with acting(execution.rights, "query", output):
                outcome = execution.runner.run(
                    bind_parameters(execution.query, execution.parameters or []),
                    execution.context.get("Database"),
                    execution.context.get("Catalog"),
                )
            with acting(execution.rights, "results", output):
                self._write_result(execution, outcome)
            final, failure = "SUCCEEDED", None
        except Cancelled:
            final, failure, outcome = "CANCELLED", None, None
        except QueryFailed as error:
            final, failure, outcome = "FAILED", error, None
        except Exception as error:  # a bug of the sandbox: fail the query loudly, never hang it
            logger.exception("a consulta %s do Athena falhou dentro do sandbox", execution.id)
            final, outcome = "FAILED", None
            failure = QueryFailed(
                f"GENERIC_INTERNAL_ERROR: {type(error).__name__}: {error}", 1200, category=1
            )
        with self._lock:
            if execution.state == "RUNNING":
                execution.state, execution.failure, execution.outcome = final, failure, outcome
                execution.completed = time.time()
        execution.done.set()

    def _check_output_bucket(self, output: str) -> None:
        bucket, _key = split_s3_uri(output)
        try:
            # Athena asks for the bucket's Region (s3:GetBucketLocation, in every policy AWS documents for the
            # query result location).
            self.catalog.s3.get_bucket_location(Bucket=bucket)
        except ClientError as error:
            raise QueryFailed(f"Unable to verify/create output bucket {bucket}", 1000, category=2) from error

    def _write_result(self, execution: Execution, outcome: Outcome) -> None:
        bucket, key = split_s3_uri(execution.output_location)
        if outcome.manifest is not None:
            # Athena's data manifest: one line per file the statement wrote, beside the result file.
            manifest_key = key.rsplit(".", 1)[0] + "-manifest.csv"
            body = "".join(f"{uri}\n" for uri in outcome.manifest).encode()
            self.catalog.s3.put_object(Bucket=bucket, Key=manifest_key, Body=body, ContentType="text/csv")
            execution.manifest_location = f"s3://{bucket}/{manifest_key}"
        if outcome.is_select:
            header = [c.name for c in outcome.columns]
            body = to_csv(header, outcome.rows)
            metadata = {"ColumnInfo": [self._column_info(c) for c in outcome.columns]}
            self.catalog.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/csv")
            self.catalog.s3.put_object(
                Bucket=bucket, Key=key + ".metadata", Body=json.dumps(metadata).encode()
            )
        else:
            body = "".join(row[0] + "\n" for row in outcome.rows).encode()
            self.catalog.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/plain")

    # -- describing executions -------------------------------------------------------------------------
    def _find(self, params: dict) -> Execution:
        execution_id = _required(params, "QueryExecutionId")
        execution = self._executions.get(execution_id)
        if execution is None:
            raise AthenaError("InvalidRequestException", f"QueryExecution {execution_id} was not found")
        return execution

    def _describe(self, execution: Execution) -> dict:
        status: dict = {"State": execution.state, "SubmissionDateTime": execution.submitted}
        if execution.completed is not None:
            status["CompletionDateTime"] = execution.completed
        if execution.failure is not None:
            status["StateChangeReason"] = execution.failure.reason
            status["AthenaError"] = {
                "ErrorCategory": execution.failure.category,
                "ErrorType": execution.failure.error_type,
                "Retryable": False,
                "ErrorMessage": execution.failure.reason,
            }
        end = execution.completed or time.time()
        started = execution.started or end
        statistics = {
            "EngineExecutionTimeInMillis": int((end - started) * 1000) if execution.started else 0,
            "DataScannedInBytes": execution.outcome.scanned_bytes if execution.outcome else 0,
            "TotalExecutionTimeInMillis": int((end - execution.submitted) * 1000),
            "QueryQueueTimeInMillis": int((started - execution.submitted) * 1000),
            "ServicePreProcessingTimeInMillis": 0,
            "QueryPlanningTimeInMillis": 0,
            "ServiceProcessingTimeInMillis": 0,
            "ResultReuseInformation": {"ReusedPreviousResult": False},
        }
        if execution.manifest_location and execution.state == "SUCCEEDED":
            statistics["DataManifestLocation"] = execution.manifest_location
        described = {
            "QueryExecutionId": execution.id,
            "Query": execution.query,
            "StatementType": execution.statement_type,
            "ResultConfiguration": {"OutputLocation": execution.output_location},
            "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
            "QueryExecutionContext": dict(execution.context),
            "Status": status,
            "Statistics": statistics,
            "WorkGroup": execution.workgroup,
            "EngineVersion": dict(ENGINE_VERSION),
        }
        if execution.parameters:
            described["ExecutionParameters"] = list(execution.parameters)
        if execution.outcome is not None:
            described["SubstatementType"] = execution.outcome.substatement_type
        return described

    def _get(self, params: dict) -> dict:
        with self._lock:
            return {"QueryExecution": self._describe(self._find(params))}

    def _batch_get(self, params: dict) -> dict:
        ids = _required(params, "QueryExecutionIds")
        if len(ids) > 50:
            raise AthenaError("InvalidRequestException", "QueryExecutionIds can contain at most 50 ids.")
        found, missing = [], []
        with self._lock:
            for execution_id in ids:
                execution = self._executions.get(execution_id)
                if execution is None:
                    missing.append(
                        {
                            "QueryExecutionId": execution_id,
                            "ErrorCode": "INVALID_INPUT",
                            "ErrorMessage": f"QueryExecution {execution_id} was not found",
                        }
                    )
                else:
                    found.append(self._describe(execution))
        return {"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing}

    def _list(self, params: dict) -> dict:
        workgroup = params.get("WorkGroup") or "primary"
        self._workgroup(workgroup)
        limit = int(params.get("MaxResults") or 50)
        if not 0 < limit <= 50:
            raise AthenaError("InvalidRequestException", "MaxResults must be between 0 and 50.")
        offset = _decode_token(params.get("NextToken"))
        with self._lock:
            newest_first = sorted(
                (e for e in self._executions.values() if e.workgroup == workgroup),
                key=lambda e: e.submitted,
                reverse=True,
            )
        page = newest_first[offset : offset + limit]
        answer: dict = {"QueryExecutionIds": [e.id for e in page]}
        if offset + limit < len(newest_first):
            answer["NextToken"] = _encode_token("list:" + workgroup, offset + limit)
        return answer

    def _stop(self, params: dict) -> dict:
        with self._lock:
            execution = self._find(params)
            if execution.state in _TERMINAL:
                return {}
            execution.state, execution.completed = "CANCELLED", time.time()
        execution.runner.interrupt()
        return {}

    # -- GetQueryResults -------------------------------------------------------------------------------
    @staticmethod
    def _column_info(column) -> dict:
        return {
            "CatalogName": "hive",
            "SchemaName": "",
            "TableName": "",
            "Name": column.name,
            "Label": column.name,
            "Type": column.type,
            "Precision": column.precision,
            "Scale": column.scale,
            "Nullable": "UNKNOWN",
            "CaseSensitive": column.type in ("varchar", "string"),
        }

    def _results(self, params: dict, rights: Rights | None = None) -> dict:
        with self._lock:
            execution = self._find(params)
            state, failure, outcome = execution.state, execution.failure, execution.outcome
        if state in ("QUEUED", "RUNNING"):
            raise AthenaError(
                "InvalidRequestException", f"Query has not yet finished. Current state: {state}"
            )
        if state == "FAILED":
            raise AthenaError("InvalidRequestException", failure.reason if failure else "Query failed")
        if state == "CANCELLED":
            raise AthenaError(
                "InvalidRequestException", "Query did not finish successfully. Final query state: CANCELLED"
            )
        limit = int(params.get("MaxResults") or 1000)
        if not 0 < limit <= 1000:
            raise AthenaError(
                "InvalidRequestException",
                f"1 validation error detected: Value '{limit}' at 'maxResults' failed to satisfy constraint: "
                "Member must have value less than or equal to 1000",
            )
        if rights is not None:
            # GetQueryResults reads the result file with the caller's rights (its API reference: the caller
            # "must have permissions to the Amazon S3 GetObject action for the Athena query results location").
            bucket, key = split_s3_uri(execution.output_location)
            denied = rights(
                "s3", "GetObject", {"Bucket": bucket, "Key": key}, "fetch", execution.output_location
            )
            if denied is not None:
                raise AthenaError("InvalidRequestException", denied)
        rows = outcome.rows
        if outcome.is_select:  # the header is the first row of the first page, as on Athena
            rows = [[c.name for c in outcome.columns], *rows]
        offset = _decode_token(params.get("NextToken"), execution.id)
        page = rows[offset : offset + limit]
        answer: dict = {
            "UpdateCount": 0,
            "ResultSet": {
                "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in page],
                "ResultSetMetadata": {"ColumnInfo": [self._column_info(c) for c in outcome.columns]},
            },
        }
        if offset + limit < len(rows):
            answer["NextToken"] = _encode_token(execution.id, offset + limit)
        return answer
