"""Amazon Athena for the sandbox: the query API, with DuckDB answering Athena's (Trino's) SQL."""

from sandbox.athena.errors import AthenaError
from sandbox.athena.service import AthenaService

__all__ = ["AthenaError", "AthenaService"]
