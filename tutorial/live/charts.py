"""Two of notebook 05's charts, queried on Athena and drawn server-side (matplotlib PNG: nothing to download)."""

from __future__ import annotations

import io
import time

import boto3

from tutorial.contract import DATABASE, WORKGROUP

# Notebook 05's queries, as the learner runs them.
QUERIES = {
    "por_dia": """
SELECT context_date, count(*) AS mensagens
FROM mensagens
GROUP BY context_date
ORDER BY context_date
""",
    "por_tipo": """
SELECT message_type AS tipo, count(*) AS mensagens
FROM mensagens
GROUP BY message_type
ORDER BY mensagens DESC, tipo
""",
}
TYPE_NAMES = {
    "text": "texto",
    "photo": "foto",
    "sticker": "figurinha",
    "voice": "áudio",
    "document": "documento",
    "video": "vídeo",
    "poll": "enquete",
    "location": "localização",
    "other": "outro",
}


class ChartError(RuntimeError):
    """Athena could not answer (the table is missing before notebook 05, a failed query); pt-BR message."""


def query(athena, sql: str) -> list[list[str]]:
    """Rows (strings) of a SELECT, without the header row, as notebook 05's `query` reads them."""
    try:
        execution_id = athena.start_query_execution(
            QueryString=sql, WorkGroup=WORKGROUP, QueryExecutionContext={"Database": DATABASE}
        )["QueryExecutionId"]
    except athena.exceptions.InvalidRequestException as error:
        raise ChartError(f"O Athena recusou a consulta: {error}") from None
    deadline = time.monotonic() + 60
    while True:
        execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
        state = execution["Status"]["State"]
        if state in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        if time.monotonic() > deadline:
            raise ChartError("O Athena não respondeu em 60 s.")
        time.sleep(0.3)
    if state != "SUCCEEDED":
        reason = execution["Status"].get("StateChangeReason", "")
        if "mensagens" in reason and ("not exist" in reason or "not found" in reason):
            raise ChartError("A tabela mensagens ainda não existe: rode o notebook 05.")
        raise ChartError(f"Consulta {state}: {reason}")
    rows = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id):
        rows += [[cell.get("VarCharValue") for cell in row["Data"]] for row in page["ResultSet"]["Rows"]]
    return rows[1:]


# The page shows each chart 400 CSS px wide at 1280x720 (540 px at 1920x1080): drawn 5.2 x 2.6 in, its 14 pt
# labels are 14 * DPI / 72 px in the PNG and about 15 px on the page, legible from the back of a room.
FIGSIZE = (5.2, 2.6)
DPI = 150
LABEL_PT = 14


def render(name: str, rows: list[list[str]]) -> bytes:
    """A PNG sized and lettered for a projector."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGSIZE, dpi=DPI)
    ax = figure.subplots()
    labels = [row[0] for row in rows]
    values = [int(row[1]) for row in rows]
    if name == "por_dia":
        labels = [label[8:10] + "/" + label[5:7] for label in labels]  # 2026-11-30 -> 30/11
        ax.bar(labels, values, color="#1f5fbf")
        ax.set_title("Mensagens por dia", fontsize=LABEL_PT + 2, weight="bold")
    else:
        labels = [TYPE_NAMES.get(label, label) for label in labels]
        ax.bar(labels, values, color="#c2570c")
        ax.set_title("Mensagens por tipo", fontsize=LABEL_PT + 2, weight="bold")
    ax.tick_params(labelsize=LABEL_PT)
    ax.tick_params(axis="x", labelrotation=30)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if not rows:
        ax.text(0.5, 0.5, "sem dados ainda", ha="center", va="center", fontsize=16, transform=ax.transAxes)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


class Charts:
    """The latest PNG of each chart; `refresh()` queries Athena again (run off the poller's thread)."""

    def __init__(self, endpoint_url: str | None = None, region: str | None = None) -> None:
        self.region = region
        self.connect(endpoint_url)
        self.images: dict[str, bytes] = {}
        self.error = ""
        self.refreshed = ""

    def connect(self, endpoint_url: str | None) -> None:
        self.athena = boto3.session.Session(region_name=self.region).client(
            "athena", endpoint_url=endpoint_url
        )

    def refresh(self) -> None:
        try:
            images = {name: render(name, query(self.athena, sql)) for name, sql in QUERIES.items()}
        except ChartError as error:
            self.error = str(error)
            return
        self.images, self.error = images, ""
        self.refreshed = time.strftime("%H:%M:%S")
