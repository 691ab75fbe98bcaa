"""The classroom live view, as a teacher uses it: a real browser on the page while the class writes.

One deployed stack for the module (notebooks 02-05 run by the tutorial itself), one live view on a free port.
Messages the class posts appear with every stage of their journey and the S3 key the function wrote; an S3
outage started from the page shows Telegram's retries and then the recovery, with nothing lost; the ETL button
adds a run and refreshes notebook 05's charts. The page's server refuses what another web page could send.
The page fits a 1280x720 and a 1920x1080 projector and a phone. Last, the module's sandbox is stopped and started
again under the page, which rebuilds the pipeline and sends the class's messages again, none lost.
Screenshots go to build/screenshots/aula-*.png; the refresh latency (post -> row on screen) and the time the page
takes to come back after a restart are printed.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

import pytest
import requests
from botocore.exceptions import ClientError
from playwright.sync_api import expect

import sandbox
from tests.browser import browser_page, chromium, screenshot
from tutorial.contract import INGESTION_FUNCTION, log_group
from tutorial.harness import ROOT, deployed_stack, own_sandbox_environment
from tutorial.live.__main__ import build_parser, empty_history, redeploy
from tutorial.live.charts import DPI, LABEL_PT
from tutorial.live.observer import RAW_LISTING_S, Observer, describe, parse_log_line
from tutorial.live.server import TOKEN_HEADER, LiveView
from tutorial.setup import MIN_STORED

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack():
    with deployed_stack(upto="06") as deployed:  # 02-05: webhook set, ETL run once, Athena's table created
        yield deployed


@pytest.fixture(scope="module")
def view(stack):
    # As `make aula` opens it: following the sandbox through a restart, and rebuilding the pipeline after one.
    live = LiveView(
        stack.telegram_api,
        stack.token,
        stack.endpoint_url,
        stack.region,
        port=0,
        locate=sandbox.env,
        redeploy=redeploy,
        python=".venv/bin/python",
    ).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as shared:
        yield shared


@pytest.fixture
def page(view, browser):
    with browser_page(1600, 1000, browser) as opened:
        errors = []
        opened.on("pageerror", lambda error: errors.append(str(error)))
        opened.goto(view.url)
        opened.wait_for_selector("#conexao.ok")
        yield opened
        assert errors == [], f"erros de JavaScript na página: {errors}"


def row(page, text: str):
    """The row of the message whose own text has `text` (a reply also quotes the message it answers)."""
    return page.locator("#linhas tr", has=page.locator(".texto", has_text=text))


def test_each_post_shows_every_stage_with_the_key_written(stack, view, page):
    # Notebook 03 showed two refused requests before the class: counted, but no rows before anyone does anything.
    assert int(page.inner_text("#c-recusados")) >= 2
    assert page.locator("#linhas .etapa-lambda", has_text="recusada").count() == 0
    writer = stack.participants()[1]["id"]
    latencies = []
    for number in range(5):
        text = f"mensagem ao vivo {number}"
        started = time.monotonic()
        update_id = stack.post(writer, text)
        row(page, text).wait_for(timeout=10_000)
        latencies.append(time.monotonic() - started)
    stored = row(page, "mensagem ao vivo 4").locator(".etapa-s3", has_text=".json")
    stored.wait_for(timeout=10_000)
    line = row(page, "mensagem ao vivo 4")
    key = next(k for k in stack.raw_keys() if k.endswith(f"/{update_id}.json"))
    assert line.get_attribute("data-update-id") == str(update_id)
    # The object can be listed a moment before Telegram gets the webhook's 200 and empties its queue: the page
    # shows "na fila" until its next read of the queue, as it should.
    line.locator(".etapa-telegram", has_text="entregue").wait_for(timeout=10_000)
    assert line.locator(".etapa-telegram").inner_text() == "entregue"
    assert "recebida" in line.locator(".etapa-gateway").inner_text()
    lambda_cell = line.locator(".etapa-lambda").inner_text()
    assert lambda_cell.startswith("gravado · ") and lambda_cell.endswith(" ms")
    # The partition's date and the file on the projector ("context_date=" heads the column), the key in full in
    # the tooltip.
    assert line.locator(".s3key").get_attribute("title") == key
    day = key.split("context_date=")[1].split("/")[0]
    assert line.locator(".etapa-s3").inner_text().split() == ["✓", f"{day}/", f"{update_id}.json"]
    screenshot(page, "aula-jornada")
    print(
        f"\nlatência post -> linha na tela: mediana {statistics.median(latencies):.2f} s, "
        f"máxima {max(latencies):.2f} s ({len(latencies)} posts)"
    )
    assert max(latencies) < 5


def test_an_outage_shows_retries_then_recovery_with_nothing_lost(stack, view, page):
    before = len(stack.raw_keys())
    page.fill("#segundos", "6")  # longer than the function retrying S3 itself
    page.click("#queda")
    page.wait_for_selector("#avisos .queda")
    page.fill("#texto", "escrita durante a queda do S3")
    page.click("button[data-publicar=texto]")
    line = row(page, "escrita durante a queda do S3")
    line.locator(".etapa-telegram", has_text="falha").wait_for(timeout=10_000)
    expect(page.locator("#c-ultimo-erro")).to_contain_text("último erro do Telegram")
    # The page's own S3 reads fail too: said in plain Portuguese, without the client's exception names.
    assert "Error" not in page.inner_text("#avisos")
    # Seen while S3 is still down: the page keeps reading the other services when its own S3 reads fail.
    assert page.locator("#avisos .queda").count() == 1
    assert line.locator(".etapa-lambda").inner_text().startswith("erro no S3")
    screenshot(page, "aula-queda")
    line.locator(".etapa-lambda", has_text="gravado").wait_for(timeout=30_000)
    page.wait_for_selector("#avisos .queda", state="detached")
    assert "tentativa" in line.locator(".etapa-telegram").inner_text()  # "entregue na Nª tentativa"
    # getWebhookInfo keeps reporting the outage's error; the page drops it once a later delivery got through.
    expect(page.locator("#c-ultimo-erro")).to_have_text("", timeout=10_000)
    assert "S3" not in page.inner_text("#avisos") and "Error" not in page.inner_text("#avisos")
    screenshot(page, "aula-recuperado")
    stack.wait_until_delivered(timeout=30)
    ids = stack.raw_update_ids()
    assert len(ids) == before + 1 == len(set(ids))  # stored once, none lost or duplicated
    assert int(line.get_attribute("data-update-id")) in ids


def test_a_request_without_the_secret_is_refused_and_shown(view, page):
    page.click("#sem-segredo")
    page.wait_for_selector("#resposta:has-text('respondeu 401')")
    page.locator("#linhas tr .etapa-lambda", has_text="recusada (401)").first.wait_for(timeout=10_000)


def test_a_signed_request_that_is_not_an_update_is_shown_in_quarantine(stack, view, page):
    kept = int(page.inner_text("#c-quarentena"))
    assert stack.send(b"Bom dia, turma!").status_code == 200  # the secret is right; the body is not JSON

    row = page.locator("#linhas tr", has_text="guardada em quarentena").first
    row.wait_for(timeout=15_000)
    assert "JSON" in row.inner_text()  # the reason the function logged, in Portuguese
    expect(page.locator("#c-quarentena")).to_have_text(str(kept + 1), timeout=10_000)


def test_running_the_etl_adds_a_run_and_refreshes_the_charts(stack, view, page):
    # Locators only: the page's CSP forbids eval, which Playwright's string predicates need.
    chart = page.locator("#imagens img[data-chart=por_dia]")
    chart.wait_for()
    first_src = chart.get_attribute("src")
    runs = int(page.inner_text("#c-etl"))
    page.click("#etl")
    page.wait_for_selector("#resposta:has-text('linhas em')", timeout=60_000)
    rows_written = page.inner_text("#resposta").split()[1]  # "ETL: 240 linhas em 8 dia(s), 0 pulada(s)"
    expect(page.locator("#c-etl")).to_have_text(str(runs + 1), timeout=15_000)
    expect(page.locator("#etl-runs tr").first.locator("td").nth(2)).to_have_text(rows_written)
    # A wait, not a speed goal: the refresh queries Athena and redraws, slow on a loaded 2-core machine.
    expect(chart).not_to_have_attribute("src", first_src, timeout=90_000)
    for name in ("por_dia", "por_tipo"):
        image = page.locator(f"#imagens img[data-chart={name}]")
        expect(image).to_be_visible()
        page.wait_for_load_state("load")
        box = image.bounding_box()
        assert box is not None and box["height"] > 150, f"o gráfico {name} não foi desenhado: {box}"
        png = requests.get(f"{view.url.rstrip('/')}{image.get_attribute('src')}", timeout=10)
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert page.inner_text("#graficos-erro") == ""
    screenshot(page, "aula-graficos", full_page=True)


def test_the_teacher_posts_a_photo_then_edits_and_replies(stack, view, page):
    page.fill("#texto", "quadro da aula")
    page.click("button[data-publicar=foto]")
    row(page, "[foto] quadro da aula").locator(".etapa-s3", has_text=".json").wait_for(timeout=10_000)
    page.fill("#texto", "quadro corrigido")
    page.click("button[data-publicar=edicao]")
    edited = row(page, "[foto] quadro corrigido")
    edited.locator(".etapa-s3", has_text=".json").wait_for(timeout=10_000)
    assert "edição" in edited.locator(".quem").inner_text()
    page.fill("#texto", "entendi o quadro")
    page.click("button[data-publicar=resposta]")
    reply = row(page, "entendi o quadro")
    reply.locator(".etapa-s3", has_text=".json").wait_for(timeout=10_000)
    assert reply.locator(".quem").inner_text().endswith(" · resposta")
    assert reply.locator(".resposta-a").inner_text().startswith("↩ em resposta a ")
    assert "quadro" in reply.locator(".resposta-a").inner_text()  # the message it answers, quoted
    stored = set(stack.raw_update_ids())
    for text in ("[foto] quadro da aula", "[foto] quadro corrigido", "entendi o quadro"):
        assert int(row(page, text).get_attribute("data-update-id")) in stored


def test_an_update_the_bridge_delivers_appears_like_the_class_messages(stack, view, page):
    """The bridge hands each real update to the sandbox's webhook delivery (`webhook/deliver`); the page sees it
    the same way: in the function's logs and in the raw bucket."""
    update = {
        "update_id": 990_000_001,
        "message": {
            "message_id": 4242,
            "from": {"id": 5_550_001, "is_bot": False, "first_name": "Marta", "last_name": "Real"},
            "chat": {"id": stack.group_id, "title": "Turma", "type": "group"},
            "date": 1_742_223_600,
            "text": "vim pelo Telegram de verdade",
        },
    }
    assert stack.control("POST", "webhook/deliver", {"update": update})["delivered"]
    line = row(page, "vim pelo Telegram de verdade")
    line.locator(".etapa-s3", has_text="990000001.json").wait_for(timeout=10_000)
    assert line.locator(".quem").inner_text() == "Marta Real · mensagem"


def test_the_migration_to_a_supergroup_keeps_the_messages_flowing(stack, view, page):
    page.click("#migrar")
    page.wait_for_selector("#resposta:has-text('Supergrupo criado')")
    notice = row(page, "transformou o grupo em supergrupo")  # Telegram's service message, said in Portuguese
    notice.locator(".etapa-s3", has_text=".json").wait_for(timeout=10_000)
    assert notice.locator(".quem").inner_text() == "Telegram · aviso do Telegram"
    started = row(page, "o supergrupo começou")  # sent "from" GroupAnonymousBot, whose name is "Group"
    started.locator(".etapa-s3", has_text=".json").wait_for(timeout=10_000)
    assert "Group" not in started.inner_text()
    update_id = stack.post(stack.participants()[2]["id"], "primeira no supergrupo")
    line = row(page, "primeira no supergrupo")
    line.locator(".etapa-s3", has_text=f"{update_id}.json").wait_for(timeout=10_000)


# ---- the page on a projector, and on a phone ----------------------------------------------------------------
# Readable from the back of a room: table text at least 20 px tall on screen, chart labels at least 14 px.
MIN_LINE_PX = 20
MIN_CHART_LABEL_PX = 14


def row_boxes(rows) -> list[dict]:
    """Every row's bounding box, read again when the page redrew the table between two reads."""
    for _ in range(20):
        boxes = [rows.nth(index).bounding_box() for index in range(rows.count())]
        if None not in boxes:
            return boxes
        time.sleep(0.2)
    raise AssertionError("a tabela não parou de ser redesenhada")


@pytest.mark.parametrize("width, height", [(1280, 720), (1920, 1080)], ids=["1280x720", "1920x1080"])
def test_the_page_fits_a_projector(stack, view, browser, width, height):
    """What a demo needs on the first screen, without scrolling: the counters, enough messages to follow the
    class, the answer to the teacher's click and the top of the charts, all large enough to read."""
    with browser_page(width, height, browser) as page:
        page.goto(view.url)
        page.wait_for_selector("#conexao.ok")
        page.locator("#imagens img[data-chart=por_dia]").wait_for()
        page.wait_for_load_state("load")
        text = f"projetada em {width}x{height}"
        page.fill("#texto", text)
        page.click("button[data-publicar=texto]")
        expect(page.locator("#resposta")).to_contain_text("Publicado: update")
        row(page, text).locator(".etapa-s3", has_text=".json").wait_for(timeout=10_000)
        screenshot(page, f"aula-{width}x{height}")  # before the checks: a failure leaves it to look at

        # "visto" is this computer's clock; the keys carry the simulated Telegram's date: the page says so.
        assert "relógio simulado" in page.inner_text("#legenda")
        answer = page.locator("#resposta").bounding_box()
        assert 0 <= answer["y"] and answer["y"] + answer["height"] <= height, (
            f"confirmação fora da tela: {answer}"
        )
        chart = page.locator("#imagens img[data-chart=por_dia]")
        box = chart.bounding_box()
        assert box["y"] + 100 <= height, f"o gráfico começa abaixo da primeira tela: {box}"
        natural_width = chart.evaluate("image => image.naturalWidth")
        label_px = LABEL_PT * DPI / 72 * box["width"] / natural_width
        assert label_px >= MIN_CHART_LABEL_PX, f"rótulos do gráfico com {label_px:.1f} px"

        rows = page.locator("#linhas tr")
        visible = [box for box in row_boxes(rows) if box["y"] + box["height"] <= height]
        assert len(visible) >= 7, f"só {len(visible)} mensagens inteiras na primeira tela"
        first = rows.first
        for selector in (".hora", ".quem", ".texto", ".etapa-lambda span"):
            line = first.locator(selector).first.bounding_box()
            assert line["height"] >= MIN_LINE_PX, f"{selector} com {line['height']:.1f} px de altura"
        # Columns apart: every cell's text fits its cell (a long one ends in "…"), and a rule between cells.
        cells = first.locator("td")
        for index in range(cells.count()):
            cell = cells.nth(index)
            fits = cell.evaluate("td => td.scrollWidth <= td.clientWidth")
            assert fits, f"o texto da coluna {index + 1} transborda: {cell.inner_text()!r}"
            if index:
                assert cell.evaluate("td => parseFloat(getComputedStyle(td).borderLeftWidth)") >= 1


def test_a_phone_gets_one_column_it_can_read(view, browser):
    # A phone's browser: without the page's viewport meta it would lay the page out 980 px wide and shrink it.
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=3
    )
    with contextlib.closing(context):
        page = context.new_page()
        page.goto(view.url)
        page.wait_for_selector("#conexao.ok")
        rows = page.locator("#linhas tr")
        rows.first.wait_for()
        # The page is laid out for the phone's width (viewport meta), not a desktop page shrunk to fit.
        wider = page.locator("body").evaluate(
            "body => [...body.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > 390)"
            ".map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 10)"
        )
        assert page.locator("html").evaluate("root => root.scrollWidth") <= 390, (
            f"mais largos que a tela: {wider}"
        )
        first = rows.first
        who, stage = first.locator(".quem").bounding_box(), first.locator(".etapa-lambda").bounding_box()
        assert stage["y"] > who["y"] and stage["x"] < who["x"] + 50, (
            "as etapas não ficaram umas sob as outras"
        )
        # Each stage says its name (CSS ::before), its column header being hidden.
        assert first.locator(".etapa-lambda").get_attribute("data-rotulo") == "Lambda"
        expect(page.locator("#tabela-jornadas thead")).to_be_hidden()
        assert first.locator(".quem").bounding_box()["height"] >= MIN_LINE_PX
        screenshot(page, "aula-celular", full_page=True)


def test_the_page_says_when_its_own_command_stopped(stack, browser):
    """Ctrl+C on `make aula` with the page still projected: the badge stops saying "ao vivo", the page says
    what happened, a click answers in a sentence, and the rows stay."""
    own = LiveView(stack.telegram_api, stack.token, stack.endpoint_url, stack.region, port=0).start()
    with browser_page(1280, 720, browser) as page:
        page.goto(own.url)
        page.wait_for_selector("#conexao.ok")
        page.locator("#linhas tr").first.wait_for()
        shown = page.locator("#linhas tr").count()
        own.stop()
        expect(page.locator("#conexao")).to_have_text("sem conexão com a página", timeout=15_000)
        expect(page.locator("#avisos .fora")).to_contain_text("make aula foi parado?")
        page.click("#migrar")
        expect(page.locator("#resposta")).to_have_text(
            "Erro: a página não conseguiu falar com o comando da aula (make aula foi parado?)."
        )
        assert page.locator("#linhas tr").count() == shown


def test_an_empty_class_starts_at_zero_and_shows_only_what_arrives(stack, view, browser):
    """`make aula VAZIA=1`, for a real group: the simulated conversation leaves the buckets, and the page shows
    neither its rows nor its counts, only the messages that arrive after it opened."""
    variables = {"AWS_ENDPOINT_URL": stack.endpoint_url, "AWS_DEFAULT_REGION": stack.region}
    assert empty_history(variables) >= MIN_STORED
    assert stack.raw_keys() == []
    assert stack.client("s3").list_objects_v2(Bucket=stack.enriched_bucket)["KeyCount"] == 0
    empty = LiveView(
        stack.telegram_api, stack.token, stack.endpoint_url, stack.region, port=0, history=False
    ).start()
    try:
        with browser_page(1280, 720, browser) as page:
            page.goto(empty.url)
            page.wait_for_selector("#conexao.ok")
            expect(page.locator("#c-objetos")).to_have_text("0")
            for counter in ("#c-gateway", "#c-gravados", "#c-recusados", "#c-particoes", "#c-parquet"):
                assert page.inner_text(counter) == "0", counter
            assert page.locator("#linhas tr").count() == 0
            stack.post(stack.participants()[0]["id"], "primeira mensagem do grupo de verdade")
            row(page, "primeira mensagem do grupo de verdade").locator(
                ".etapa-s3", has_text=".json"
            ).wait_for(timeout=15_000)
            expect(page.locator("#c-gravados")).to_have_text("1")
            expect(page.locator("#c-objetos")).to_have_text("1")
            assert page.locator("#linhas tr").count() == 1
    finally:
        empty.stop()


def test_the_command_takes_an_empty_class_from_make():
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "aula", "VAZIA=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert dry_run.stdout.rstrip().endswith("-m tutorial aula --vazia")
    assert build_parser().parse_args(["--vazia"]).vazia


# ---- the page's server, as another web page (or a stranger) would reach it ----------------------------------
def control(view, action: str, body: dict | None = None, **headers):
    sent = {"Content-Type": "application/json", TOKEN_HEADER: view.page_token, **headers}
    sent = {name: value for name, value in sent.items() if value is not None}
    return requests.post(f"{view.url}controle/{action}", json=body or {}, headers=sent, timeout=60)


def test_a_post_from_the_page_itself_is_allowed(view):
    answer = control(
        view, "publicar", {"tipo": "texto", "texto": "pelo servidor"}, Origin=view.url.rstrip("/")
    )
    assert answer.status_code == 200 and answer.json()["ok"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "http://localhost:1"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Host": "evil.example"},
    ],
    ids=["foreign-origin", "other-local-origin", "cross-site", "foreign-host"],
)
def test_requests_another_page_could_send_are_refused(view, headers):
    assert control(view, "queda-s3", {"segundos": 60}, **headers).status_code == 403
    page = requests.get(view.url, headers=headers, timeout=10)
    assert page.status_code == 403 and view.page_token not in page.text


def test_controls_need_the_page_token_and_json(view):
    assert control(view, "queda-s3", {"segundos": 60}, **{TOKEN_HEADER: None}).status_code == 403
    assert control(view, "queda-s3", {"segundos": 60}, **{TOKEN_HEADER: "chute"}).status_code == 403
    form = requests.post(
        f"{view.url}controle/queda-s3",
        data="segundos=60",
        headers={"Content-Type": "text/plain", TOKEN_HEADER: view.page_token},
        timeout=10,
    )
    assert form.status_code == 415


def test_the_page_carries_its_token_and_forbids_framing(view):
    page = requests.get(view.url, timeout=10)
    assert page.status_code == 200 and view.page_token in page.text
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


# ---- pure helpers ------------------------------------------------------------------------------------------
def test_lambda_log_lines_are_read_with_their_request_id():
    line = (
        '[INFO]\t2026-11-30T15:00:00.123Z\tabc-123\t{"update_id": 7, "type": "message", "decision": "stored"}'
    )
    assert parse_log_line(line) == ("abc-123", {"update_id": 7, "type": "message", "decision": "stored"})
    error = '[ERROR]\t2026-11-30T15:00:00.123Z\tabc-124\t{"decision": "s3_error", "key": "k"}\nTraceback ...'
    assert parse_log_line(error) == ("abc-124", {"decision": "s3_error", "key": "k"})
    assert parse_log_line("END RequestId: abc-123") == (None, None)


def test_an_update_is_described_by_who_wrote_what():
    update = {
        "update_id": 1,
        "edited_message": {"from": {"first_name": "Ana", "last_name": "Lima"}, "text": "corrigido"},
    }
    assert describe(update) == {"kind": "edição", "who": "Ana Lima", "text": "corrigido"}
    photo = {"update_id": 2, "message": {"from": {"first_name": "Rui"}, "photo": [{}], "caption": "print"}}
    assert describe(photo)["text"] == "[foto] print"


def test_service_messages_and_replies_are_described_as_such():
    group = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
    started = {"update_id": 3, "message": {"from": group, "migrate_from_chat_id": -42, "chat": {}}}
    assert describe(started) == {
        "kind": "aviso do Telegram",
        "who": "Telegram",
        "text": "o supergrupo começou (era o grupo -42)",
    }
    ana = {"first_name": "Ana", "last_name": "Lima"}
    joined = {"update_id": 4, "message": {"from": ana, "new_chat_members": [{"first_name": "Rui"}]}}
    assert describe(joined) == {"kind": "aviso do Telegram", "who": "Rui", "text": "[entrou no grupo]"}
    long = "uma pergunta bem comprida sobre o Athena e as partições"
    reply = {
        "update_id": 5,
        "message": {
            "from": ana,
            "text": "eu também",
            "reply_to_message": {"from": {"first_name": "Rui"}, "text": long},
        },
    }
    assert describe(reply) == {
        "kind": "resposta",
        "who": "Ana Lima",
        "text": "eu também",
        "reply_to": f"Rui: «{long[:39]}…»",
    }


class RawBucket:
    """The raw bucket as the observer reads it (a listing, then each new object), counting the listings."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.listings = 0
        self.down = False

    def get_paginator(self, operation: str):
        assert operation == "list_objects_v2"
        return self

    def paginate(self, Bucket: str, Prefix: str):  # noqa: N803 - boto3's parameter names
        if self.down:
            raise ClientError(
                {"Error": {"Code": "ServiceUnavailable", "Message": "fora do ar"}}, "ListObjectsV2"
            )
        self.listings += 1
        return [{"Contents": [{"Key": key} for key in sorted(self.objects) if key.startswith(Prefix)]}]

    def get_object(self, Bucket: str, Key: str):  # noqa: N803
        return {"Body": io.BytesIO(self.objects[Key])}


def test_the_raw_bucket_is_listed_after_a_logged_write_or_every_few_seconds(monkeypatch):
    """Listing a class's thousands of objects twice a second kept a core busy: the page lists the raw bucket
    again when the function's logs report a write, and every RAW_LISTING_S seconds for anything else."""
    observer = Observer("http://127.0.0.1:9", "123:abc", "http://127.0.0.1:9", "sa-east-1")
    bucket = observer.s3 = RawBucket()
    observer.raw_bucket = "turma-raw"
    logged: list[dict] = []

    def new_events(group: str) -> list[dict]:
        assert group == log_group(INGESTION_FUNCTION)
        events, logged[:] = list(logged), []
        return events

    monkeypatch.setattr(observer, "_new_events", new_events)

    def tick() -> None:  # the two steps of a tick that decide and list
        observer._ingestion_logs()
        observer._raw_listing()

    def write(update_id: int, text: str) -> str:
        key = f"telegram/context_date=2025-03-17/{update_id}.json"
        update = {"update_id": update_id, "message": {"from": {"first_name": "Ana"}, "text": text}}
        bucket.objects[key] = json.dumps(update).encode()
        line = {"update_id": update_id, "type": "message", "decision": "stored", "key": key}
        message = f"[INFO]\t2025-03-17T15:00:00Z\treq-{update_id}\t{json.dumps(line)}"
        logged.append({"timestamp": int(time.time() * 1000), "message": message})
        return key

    tick()
    tick()
    tick()
    assert bucket.listings == 1  # nothing written since the first listing

    key = write(7, "oi, turma")
    tick()
    assert bucket.listings == 2  # in the same tick as the log line: no added latency
    assert observer.journeys["7"] | {"seen": ""} == observer.journeys["7"] | {
        "seen": "",
        "in_s3": True,
        "s3_key": key,
        "who": "Ana",
        "text": "oi, turma",
        "decision": "gravado",
    }

    del bucket.objects[key]  # emptied without a log line (the teardown notebook)
    tick()
    assert bucket.listings == 2 and observer.counts["raw_objects"] == 1
    observer._raw_listed_at -= RAW_LISTING_S
    tick()
    assert bucket.listings == 3 and observer.counts["raw_objects"] == 0

    bucket.down = True  # a write logged while S3 does not answer the page: listed once S3 is back
    write(8, "de novo")
    with pytest.raises(ClientError):
        tick()
    bucket.down = False
    tick()
    assert bucket.listings == 4 and observer.journeys["8"]["in_s3"] is True


def events_until(url: str, needle: str, timeout: float = 60) -> str:
    """The page's event stream, read until an event carries `needle` (a failure after `timeout`)."""
    deadline = time.monotonic() + timeout
    with requests.get(f"{url}eventos", stream=True, timeout=10) as events:
        for event in events.iter_lines(decode_unicode=True, delimiter="\n\n"):
            if needle in event:
                return event
            assert time.monotonic() < deadline, f"a página não mostrou {needle!r}"
    raise AssertionError(f"o fluxo de eventos terminou sem {needle!r}")


def test_the_command_takes_another_port_and_keeps_the_terminal_clean(tmp_path):
    """`python -m tutorial aula` in a sandbox of its own, without deploying, on a port another program holds:
    it says so in Portuguese and serves on another one; the page says what is missing, then, with the sandbox
    stopped under it, what is down and how to bring it back, while the terminal shows no traceback."""
    environment = own_sandbox_environment(tmp_path / "sandbox")
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        command = [sys.executable, "-m", "tutorial", "aula", "--porta", str(port), "--sem-implantar"]
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 120
            printed = [""]
            while "Aula ao vivo em" not in printed[-1]:
                assert time.monotonic() < deadline and process.poll() is None, (
                    "o comando não mostrou o endereço"
                )
                printed.append(process.stdout.readline())
            assert f"A porta {port} está ocupada por outro programa; a aula usa a porta" in "".join(printed)
            url = re.search(r"http://127\.0\.0\.1:(\d+)/", printed[-1])
            assert int(url.group(1)) != port
            url = url.group(0)
            assert requests.get(url, timeout=10).status_code == 200
            events_until(url, "O pipeline ainda não foi implantado")
            stopped = subprocess.run(
                [sys.executable, "-m", "sandbox", "down"],
                cwd=ROOT,
                env=environment,
                capture_output=True,
                timeout=60,
            )
            assert stopped.returncode == 0
            event = events_until(url, "O sandbox parou")
            assert "-m sandbox up" in event and "Error" not in event
            answer = requests.post(
                f"{url}controle/migrar",
                json={},
                headers={
                    TOKEN_HEADER: re.search(
                        r'name="aula-token" content="([^"]+)"', requests.get(url, timeout=10).text
                    )[1]
                },
                timeout=30,
            )
            assert answer.status_code == 503 and "O sandbox parou" in answer.json()["error"]
        finally:
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)
            subprocess.run(
                [sys.executable, "-m", "sandbox", "down"],
                cwd=ROOT,
                env=environment,
                capture_output=True,
                timeout=60,
            )
    assert process.returncode == 0
    assert "Traceback" not in out + err and "Error" not in out + err, out + err
    assert "Aula encerrada" in out


# ---- last: the module's sandbox restarted under the page -----------------------------------------------------
def stored_texts(stack) -> list[str]:
    """The text of every message in the raw bucket, one entry per object."""
    s3 = stack.client("s3")
    updates = [
        json.loads(s3.get_object(Bucket=stack.raw_bucket, Key=key)["Body"].read()) for key in stack.raw_keys()
    ]
    return [update["message"].get("text", "") for update in updates if "message" in update]


def test_a_sandbox_restart_under_the_page_loses_none_of_the_class_messages(stack, view, page):
    """The teacher stops the sandbox with the page open, then starts it again (`python -m sandbox up`): the page
    says what is down and how to bring it back, its buttons answer in Portuguese, and when the sandbox returns
    empty the page rebuilds the pipeline and sends the class's messages again, each stored once, next to what
    the class writes afterwards."""
    class_texts = ["antes da queda: a primeira", "antes da queda: a segunda"]
    for text in class_texts:
        page.fill("#texto", text)
        page.click("button[data-publicar=texto]")
        row(page, text).locator(".etapa-s3", has_text=".json").wait_for(timeout=10_000)
    before = set(stored_texts(stack))
    assert set(class_texts) <= before

    sandbox.stop()
    expect(page.locator("#conexao")).to_have_text("sandbox fora do ar", timeout=15_000)
    notice = page.locator("#avisos .fora")
    expect(notice).to_contain_text(".venv/bin/python -m sandbox up")
    assert not re.search(r"Error|Exception|NoSuchBucket", notice.inner_text())
    page.fill("#texto", "escrita com o sandbox parado")
    page.click("button[data-publicar=texto]")
    expect(page.locator("#resposta")).to_contain_text("Erro: O sandbox parou")
    assert "SyntaxError" not in page.inner_text("#resposta")
    for text in class_texts:  # what the class sent stays on the page
        expect(row(page, text).first).to_be_visible()
    screenshot(page, "aula-sandbox-parado")

    started = time.monotonic()
    sandbox.up()
    expect(page.locator("#conexao")).to_have_text("refazendo o pipeline…", timeout=60_000)
    expect(page.locator("#avisos")).to_contain_text("refazendo o pipeline com os notebooks 02 a 05")
    expect(page.locator("#avisos")).to_contain_text("O sandbox voltou: pipeline refeito", timeout=300_000)
    expect(page.locator("#conexao")).to_have_text("ao vivo")
    print(
        f"\nsandbox de volta -> pipeline refeito e mensagens reenviadas: {time.monotonic() - started:.0f} s"
    )
    for text in class_texts:  # sent again by the same person, through the new pipeline
        copy = row(page, text).filter(has=page.locator(".quem", has_text="(reenviada)"))
        copy.locator(".etapa-s3", has_text=".json").wait_for(timeout=30_000)
    page.fill("#texto", "depois da volta do sandbox")
    page.click("button[data-publicar=texto]")
    row(page, "depois da volta do sandbox").locator(".etapa-s3", has_text=".json").wait_for(timeout=10_000)
    stack.wait_until_delivered(timeout=30)
    after = stored_texts(stack)
    for text in [*class_texts, "depois da volta do sandbox"]:
        assert after.count(text) == 1, f"{text!r} gravada {after.count(text)} vezes"
    assert set(after) >= before, f"perdidas: {before - set(after)}"
    # Counts of the sandbox that is there, not of the one before; no error left from the restart.
    expect(page.locator("#c-objetos")).to_have_text(str(len(stack.raw_keys())), timeout=15_000)
    assert "NoSuchBucket" not in page.inner_text("body")
    expect(page.locator("#avisos .erro")).to_have_count(0)
    screenshot(page, "aula-sandbox-de-volta")


def test_a_pipeline_removed_on_purpose_is_not_rebuilt_behind_the_teachers_back(stack, view, page):
    """The sandbox keeps running and the raw bucket goes (notebook 06's cleanup): the page says the pipeline is
    gone and how to bring it back, shows no NoSuchBucket, and recreates nothing by itself."""
    stack.empty_raw_bucket()
    stack.client("s3").delete_bucket(Bucket=stack.raw_bucket)
    # Seen at the next listing of the raw bucket (every RAW_LISTING_S seconds without a logged write).
    expect(page.locator("#avisos")).to_contain_text(
        "O pipeline não existe mais neste sandbox", timeout=(RAW_LISTING_S + 10) * 1000
    )
    expect(page.locator("#conexao")).to_have_text("ao vivo")
    time.sleep(3)
    assert "NoSuchBucket" not in page.inner_text("body")
    assert stack.raw_bucket not in [b["Name"] for b in stack.client("s3").list_buckets()["Buckets"]]
    assert view.health == "ok"


def test_make_aula_takes_the_port_as_the_readme_shows():
    """`make aula PORTA=8090` (make takes variables, not `--porta`), as the README documents it."""
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "aula", "PORTA=8090"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert dry_run.stdout.rstrip().endswith("-m tutorial aula --porta 8090")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make aula PORTA=8090" in readme and "[--porta" not in readme
