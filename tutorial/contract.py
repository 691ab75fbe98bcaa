"""The tutorial's contract: the names the notebooks create and the order they run in, in one place.

The notebooks write these names themselves (they teach them; tests/test_contract.py checks they still equal these);
everything around them (the setup's catch-up, the bridge, the live view, the harness, the tests) reads them from
here, so a rename is one edit here plus the notebooks.
"""

from __future__ import annotations

from typing import NamedTuple

ORDER = ["01-bot-telegram", "02-ingestao-aws", "03-webhook", "04-etl", "05-analise", "06-limpeza"]
PREFIX = "telegram"

# Notebook 02: ingestion.
INGESTION_FUNCTION = f"{PREFIX}-ingestao"
INGESTION_ROLE = f"{PREFIX}-ingestao-role"
API_NAME = f"{PREFIX}-webhook"
# Notebook 04: the daily ETL.
ETL_FUNCTION = f"{PREFIX}-etl"
ETL_ROLE = f"{PREFIX}-etl-role"
SCHEDULE = f"{PREFIX}-etl-diario"
SCHEDULER_ROLE = f"{PREFIX}-etl-scheduler-role"
# Notebook 05: Athena.
DATABASE = WORKGROUP = PREFIX
TABLE = "mensagens"
# Notebook 06 removes all of these.
FUNCTIONS = [INGESTION_FUNCTION, ETL_FUNCTION]
ROLES = [INGESTION_ROLE, ETL_ROLE, SCHEDULER_ROLE]
BUCKET_LAYERS = ("raw", "enriched", "athena")

# Notebook 03's setWebhook: the update types the bot asks Telegram for, and the header with the webhook's secret.
ALLOWED_UPDATES = ["message", "edited_message", "my_chat_member"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
# Raw and enriched objects live under this key prefix (`telegram/context_date=YYYY-MM-DD/...`).
KEY_PREFIX = f"{PREFIX}/"


def bucket(account: str, region: str, layer: str) -> str:
    """A bucket of the pipeline: account and region make the name unique across AWS."""
    if layer not in BUCKET_LAYERS:
        raise ValueError(f"unknown bucket layer {layer!r}")
    return f"{PREFIX}-{account}-{region}-{layer}"


def log_group(function: str) -> str:
    """The CloudWatch Logs group Lambda writes a function's logs to."""
    return f"/aws/lambda/{function}"


class Resource(NamedTuple):
    kind: str  # "function" (Lambda), "webhook" (the bot's, on Telegram), "table" (Glue Data Catalog)
    name: str


# What the setup's catch-up looks for, by name as on a real account, to know that a notebook ran: a notebook
# whose resources are missing is run again before the one being opened. 01 and 06 create nothing to look for.
CREATES: dict[str, tuple[Resource, ...]] = {
    "02-ingestao-aws": (Resource("function", INGESTION_FUNCTION),),
    "03-webhook": (Resource("webhook", "webhook"),),
    "04-etl": (Resource("function", ETL_FUNCTION),),
    "05-analise": (Resource("table", f"{DATABASE}.{TABLE}"),),
}
