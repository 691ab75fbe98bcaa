// The live view: one EventSource; the server sends everything once, then only what changed.
"use strict";
const TOKEN = document.querySelector('meta[name="aula-token"]').content;
const SHOWN = 14; // journeys on screen (newest first)
const rows = new Map();
const drawn = new Set();
const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function telegramCell(row) {
  if (row.update_id === null) return el("span", "não veio do Telegram", "falha");
  if (row.queued) {
    const text = row.failures ? `na fila: ${row.failures} falha(s), nova tentativa` : "na fila";
    return el("span", text, "espera");
  }
  if (row.failures) return el("span", `entregue na ${row.attempts}ª tentativa`, "ok");
  return el("span", row.attempts || row.in_s3 ? "entregue" : "—", row.attempts || row.in_s3 ? "ok" : "");
}

function lambdaCell(row) {
  if (!row.decision) return el("span", row.queued ? "aguardando" : "—");
  const good = row.decision === "gravado" || row.decision === "ignorado";
  const ms = row.duration_ms !== null ? ` · ${row.duration_ms} ms` : "";
  return el("span", row.decision + ms, good ? "ok" : "falha");
}

function s3Cell(row) {
  if (!row.s3_key) return el("span", row.decision === "erro no S3" ? "falhou (503)" : "—", row.decision === "erro no S3" ? "falha" : "");
  const span = el("span", (row.in_s3 ? "✓ " : "… ") + row.s3_key, "s3key");
  return span;
}

function renderRows() {
  const body = $("linhas");
  const newest = [...rows.values()].sort((a, b) => b.order - a.order).slice(0, SHOWN);
  body.replaceChildren(...newest.map((row) => {
    const tr = el("tr");
    tr.dataset.key = row.key;
    if (row.update_id !== null) tr.dataset.updateId = row.update_id;
    if (!drawn.has(row.key)) { tr.classList.add("nova"); drawn.add(row.key); }
    const who = el("td");
    who.append(el("span", `${row.who || "…"} · ${row.kind || ""}`, "quem"), el("span", row.text || "", "texto"));
    const cells = [
      el("td", row.seen), el("td", row.update_id === null ? "—" : row.update_id), who,
      el("td"), el("td", row.gateway ? "✓ recebida" : "—", row.gateway ? "ok" : ""), el("td"), el("td"),
    ];
    cells[3].append(telegramCell(row)); cells[3].className = "etapa-telegram";
    cells[4].classList.add("etapa-gateway");
    cells[5].append(lambdaCell(row)); cells[5].className = "etapa-lambda";
    cells[6].append(s3Cell(row)); cells[6].className = "etapa-s3";
    tr.append(...cells);
    return tr;
  }));
}

const counters = {
  "c-pendentes": "telegram_pending", "c-gateway": "gateway", "c-gravados": "stored", "c-ignorados": "ignored",
  "c-recusados": "rejected", "c-erros": "errors", "c-ms": "avg_ms", "c-objetos": "raw_objects",
  "c-particoes": "partitions", "c-parquet": "parquet", "c-etl": "etl_runs",
};
const notices = { aviso: "", erro: "", queda: "", webhook: "" };

function renderNotices() {
  const box = $("avisos");
  box.replaceChildren(...Object.entries(notices).filter(([, text]) => text).map(([name, text]) => el("div", text, name)));
}

const handlers = {
  contadores(value) { for (const [id, key] of Object.entries(counters)) $(id).textContent = value[key]; },
  webhook(value) {
    $("c-ultimo-erro").textContent = value.last_error ? `último erro: ${value.last_error}` : "";
    notices.webhook = value.url ? "" : "O bot ainda não tem webhook (notebook 03).";
  },
  aviso(value) { notices.aviso = value; },
  erro(value) { notices.erro = value; },
  queda(value) {
    notices.queda = value.active ? `O S3 está fora do ar (${value.seconds} s): a Lambda falha, o Telegram guarda e tenta de novo.` : "";
  },
  particoes(value) {
    const most = Math.max(1, ...value.map(([, n]) => n));
    $("particoes").replaceChildren(...value.map(([day, n]) => {
      const bar = el("div", null, "barra");
      const fill = el("span", null, "b");
      fill.style.width = `${Math.round((200 * n) / most)}px`;
      bar.append(el("span", day), fill, el("span", n));
      return bar;
    }));
  },
  etl(value) {
    $("etl-runs").replaceChildren(...value.map((run) => {
      const tr = el("tr");
      tr.append(el("td", run.time), el("td", run.days), el("td", run.rows), el("td", run.skipped),
        el("td", run.duration_s === null ? "—" : `${run.duration_s} s`));
      return tr;
    }));
  },
  graficos(value) {
    $("graficos-erro").textContent = value.error;
    $("graficos-hora").textContent = value.refreshed ? `· atualizado às ${value.refreshed}` : "";
    $("imagens").replaceChildren(...value.names.map((name) => {
      const img = el("img");
      img.alt = `gráfico ${name.replace("_", " ")}`;
      img.dataset.chart = name;
      img.src = `/graficos/${name}.png?v=${value.version}`;
      return img;
    }));
  },
  pessoas(value) {
    $("quem").replaceChildren(...value.map((person) => {
      const option = el("option", person.name);
      option.value = person.id;
      return option;
    }));
  },
};

function connect() {
  const source = new EventSource("/eventos");
  source.onopen = () => { $("conexao").textContent = "ao vivo"; $("conexao").className = "chip ok"; };
  source.onerror = () => { $("conexao").textContent = "reconectando…"; $("conexao").className = "chip"; };
  source.onmessage = (event) => {
    const data = JSON.parse(event.data);
    for (const [name, value] of Object.entries(data.sections)) if (handlers[name]) handlers[name](value);
    for (const row of data.rows) rows.set(row.key, row);
    if (data.rows.length) renderRows();
    renderNotices();
  };
}

async function control(action, body) {
  const answer = $("resposta");
  answer.textContent = "…";
  try {
    const response = await fetch(`/controle/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Aula-Token": TOKEN },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json();
    answer.textContent = data.ok ? describe(action, data.result) : `Erro: ${data.error}`;
    answer.className = data.ok ? "ok" : "falha";
  } catch (error) {
    answer.textContent = `Erro: ${error}`;
    answer.className = "falha";
  }
}

function describe(action, result) {
  switch (action) {
    case "publicar": return `Publicado: update ${result.update_id ?? "(o bot não recebe)"}`;
    case "sem-segredo": return `Requisição sem o segredo: o webhook respondeu ${result.status}`;
    case "queda-s3": return `S3 fora do ar por ${result.seconds} s`;
    case "migrar": return `Supergrupo criado: ${result.old_chat_id} → ${result.new_chat_id}`;
    case "etl": return `ETL: ${result.rows} linhas em ${result.days} dia(s), ${result.skipped} pulada(s)`;
    default: return "ok";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-publicar]")) {
    button.addEventListener("click", () => {
      const who = $("quem").value;
      control("publicar", { tipo: button.dataset.publicar, texto: $("texto").value, from: who ? Number(who) : null });
    });
  }
  $("sem-segredo").addEventListener("click", () => control("sem-segredo"));
  $("migrar").addEventListener("click", () => control("migrar"));
  $("etl").addEventListener("click", () => control("etl"));
  $("queda").addEventListener("click", () => control("queda-s3", { segundos: Number($("segundos").value) }));
  connect();
});
