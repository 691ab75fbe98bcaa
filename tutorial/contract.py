"""The tutorial's contract: the names the notebooks create and the order they run in, in one place.

The notebooks write these names themselves (they teach them; tests/test_contract.py checks they still equal these);
everything around them (the setup's catch-up, the bridge, the live view, the harness, the tests) reads them from
here, so a rename is one edit here plus the notebooks.

Every name starts with a prefix: `PREFIX` ("telegram") in an account of one's own, and `PREFIX-<IAM user name>` when
a class shares one account (`CONTA_AWS=compartilhada`, see tutorial/setup.py). The module's constants are the
default names; `names(prefix)` gives them for any prefix, and `active()` is the prefix the setup cell chose.
"""

from __future__ import annotations

from typing import NamedTuple

ORDER = ["01-bot-telegram", "02-ingestao-aws", "03-webhook", "04-etl", "05-analise", "06-limpeza"]
PREFIX = "telegram"

TABLE = "mensagens"
BUCKET_LAYERS = ("raw", "enriched", "athena")


class Names(NamedTuple):
    """Every name a notebook gives a resource, for one prefix."""

    prefix: str
    # Notebook 02: ingestion.
    ingestion_function: str
    ingestion_role: str
    api_name: str
    # Notebook 04: the daily ETL.
    etl_function: str
    etl_role: str
    schedule: str
    scheduler_role: str
    # Notebook 05: Athena.
    database: str
    workgroup: str

    @property
    def functions(self) -> list[str]:
        return [self.ingestion_function, self.etl_function]

    @property
    def roles(self) -> list[str]:
        return [self.ingestion_role, self.etl_role, self.scheduler_role]

    def bucket(self, account: str, region: str, layer: str) -> str:
        """A bucket of the pipeline: account and region make the name unique across AWS."""
        if layer not in BUCKET_LAYERS:
            raise ValueError(f"unknown bucket layer {layer!r}")
        return f"{self.prefix}-{account}-{region}-{layer}"


def names(prefix: str = PREFIX) -> Names:
    return Names(
        prefix=prefix,
        ingestion_function=f"{prefix}-ingestao",
        ingestion_role=f"{prefix}-ingestao-role",
        api_name=f"{prefix}-webhook",
        etl_function=f"{prefix}-etl",
        etl_role=f"{prefix}-etl-role",
        schedule=f"{prefix}-etl-diario",
        scheduler_role=f"{prefix}-etl-scheduler-role",
        # Athena's DDL takes letters, digits and "_" in a database name (the Athena guide's "Name databases,
        # tables, and columns"); a workgroup name may have hyphens ([a-zA-Z0-9._-]{1,128}, CreateWorkGroup).
        database=prefix.replace("-", "_"),
        workgroup=prefix,
    )


def student_prefix(user_name: str) -> str:
    """The prefix of a student's names in a shared account: the class policy allows `telegram-${aws:username}-*`."""
    return f"{PREFIX}-{user_name}"


_DEFAULT = names()
INGESTION_FUNCTION = _DEFAULT.ingestion_function
INGESTION_ROLE = _DEFAULT.ingestion_role
API_NAME = _DEFAULT.api_name
ETL_FUNCTION = _DEFAULT.etl_function
ETL_ROLE = _DEFAULT.etl_role
SCHEDULE = _DEFAULT.schedule
SCHEDULER_ROLE = _DEFAULT.scheduler_role
DATABASE = _DEFAULT.database
WORKGROUP = _DEFAULT.workgroup
# Notebook 06 removes all of these.
FUNCTIONS = _DEFAULT.functions
ROLES = _DEFAULT.roles

# The prefix the setup cell chose (tutorial.setup.configure); None until it ran in this process.
_active: str | None = None


def activate(prefix: str | None) -> None:
    global _active
    _active = prefix


def active() -> Names:
    """The names of the running notebook: the setup cell's prefix, or the default ones outside a notebook."""
    return names(_active or PREFIX)


# Notebook 03's setWebhook: the update types the bot asks Telegram for, and the header with the webhook's secret.
ALLOWED_UPDATES = ["message", "edited_message", "my_chat_member"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
# Raw and enriched objects live under this key prefix (`telegram/context_date=YYYY-MM-DD/...`).
KEY_PREFIX = f"{PREFIX}/"


def bucket(account: str, region: str, layer: str) -> str:
    """A bucket of the pipeline, with the default prefix."""
    return _DEFAULT.bucket(account, region, layer)


def log_group(function: str) -> str:
    """The CloudWatch Logs group Lambda writes a function's logs to."""
    return f"/aws/lambda/{function}"


class Resource(NamedTuple):
    kind: str  # "function" (Lambda), "webhook" (the bot's, on Telegram), "table" (Glue Data Catalog)
    name: str


# What the setup's catch-up looks for, by name as on a real account, to know that a notebook ran: a notebook
# whose resources are missing is run again before the one being opened. 01 and 06 create nothing to look for.
def creates(given: Names = _DEFAULT) -> dict[str, tuple[Resource, ...]]:
    return {
        "02-ingestao-aws": (Resource("function", given.ingestion_function),),
        "03-webhook": (Resource("webhook", "webhook"),),
        "04-etl": (Resource("function", given.etl_function),),
        "05-analise": (Resource("table", f"{given.database}.{TABLE}"),),
    }


CREATES = creates()
