"""The classroom live view, as a teacher uses it: a real browser on the page while the class writes.

One deployed stack for the module (notebooks 02-05 run by the tutorial itself), one live view on a free port.
Messages the class posts appear with every stage of their journey and the S3 key the function wrote; an S3
outage started from the page shows Telegram's retries and then the recovery, with nothing lost; the ETL button
adds a run and refreshes notebook 05's charts. The page's server refuses what another web page could send.
Screenshots go to build/screenshots/aula-*.png; the refresh latency (post -> row on screen) is printed.
"""

from __future__ import annotations

import io
import json
import re
import signal
import statistics
import subprocess
import sys
import time

import pytest
import requests
from botocore.exceptions import ClientError
from playwright.sync_api import expect

from tests.browser import browser_page, chromium, screenshot
from tutorial.contract import INGESTION_FUNCTION, log_group
from tutorial.harness import ROOT, deployed_stack, own_sandbox_environment
from tutorial.live.observer import RAW_LISTING_S, Observer, describe, parse_log_line
from tutorial.live.server import TOKEN_HEADER, LiveView

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack():
    with deployed_stack(upto="06") as deployed:  # 02-05: webhook set, ETL run once, Athena's table created
        yield deployed


@pytest.fixture(scope="module")
def view(stack):
    live = LiveView(stack.telegram_api, stack.token, stack.endpoint_url, stack.region, port=0).start()
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
    return page.locator("#linhas tr", has_text=text)


def test_each_post_shows_every_stage_with_the_key_written(stack, view, page):
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
    assert line.locator(".etapa-s3").inner_text() == f"✓ {key}"
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
    # Seen while S3 is still down: the page keeps reading the other services when its own S3 reads fail.
    assert page.locator("#avisos .queda").count() == 1
    assert line.locator(".etapa-lambda").inner_text().startswith("erro no S3")
    screenshot(page, "aula-queda")
    line.locator(".etapa-lambda", has_text="gravado").wait_for(timeout=30_000)
    page.wait_for_selector("#avisos .queda", state="detached")
    assert "tentativa" in line.locator(".etapa-telegram").inner_text()  # "entregue na Nª tentativa"
    screenshot(page, "aula-recuperado")
    stack.wait_until_delivered(timeout=30)
    ids = stack.raw_update_ids()
    assert len(ids) == before + 1 == len(set(ids))  # stored once, none lost or duplicated
    assert int(line.get_attribute("data-update-id")) in ids


def test_a_request_without_the_secret_is_refused_and_shown(view, page):
    page.click("#sem-segredo")
    page.wait_for_selector("#resposta:has-text('respondeu 401')")
    page.locator("#linhas tr .etapa-lambda", has_text="recusada (401)").first.wait_for(timeout=10_000)


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
    row(page, "entendi o quadro").locator(".etapa-s3", has_text=".json").wait_for(timeout=10_000)
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
    line.locator(".etapa-s3", has_text="/990000001.json").wait_for(timeout=10_000)
    assert line.locator(".quem").inner_text() == "Marta Real · mensagem"


def test_the_migration_to_a_supergroup_keeps_the_messages_flowing(stack, view, page):
    page.click("#migrar")
    page.wait_for_selector("#resposta:has-text('Supergrupo criado')")
    row(page, "o grupo virou supergrupo").locator(".etapa-s3", has_text=".json").wait_for(timeout=10_000)
    update_id = stack.post(stack.participants()[2]["id"], "primeira no supergrupo")
    line = row(page, "primeira no supergrupo")
    line.locator(".etapa-s3", has_text=f"/{update_id}.json").wait_for(timeout=10_000)


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
        logged.append({"message": f"[INFO]\t2025-03-17T15:00:00Z\treq-{update_id}\t{json.dumps(line)}"})
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


def test_the_command_prints_the_address_and_serves_the_page(tmp_path):
    """`python -m tutorial aula` in a sandbox of its own, without deploying: the page says what is missing."""
    environment = own_sandbox_environment(tmp_path / "sandbox")
    command = [sys.executable, "-m", "tutorial", "aula", "--porta", "0", "--sem-implantar"]
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        line = ""
        while "Aula ao vivo em" not in line:
            assert time.monotonic() < deadline and process.poll() is None, "o comando não mostrou o endereço"
            line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        assert requests.get(url, timeout=10).status_code == 200
        with requests.get(f"{url}eventos", stream=True, timeout=10) as events:
            for event in events.iter_lines(decode_unicode=True, delimiter="\n\n"):
                if "O pipeline ainda não foi implantado" in event:
                    break
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        subprocess.run(
            [sys.executable, "-m", "sandbox", "down"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            timeout=60,
        )
    assert process.returncode == 0
