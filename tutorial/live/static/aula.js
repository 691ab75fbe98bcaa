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
  if (row.resent_as !== null && row.resent_as !== undefined) return el("span", "sandbox reiniciado", "espera");
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
  if (row.resent_as !== null && row.resent_as !== undefined) return el("span", `reenviada: update ${row.resent_as}`, "espera");
  if (!row.s3_key) return el("span", row.decision === "erro no S3" ? "falhou (503)" : "—", row.decision === "erro no S3" ? "falha" : "");
  // On two lines, the partition's date and the file: "context_date=" is in the column's header, the whole key
  // in the tooltip.
  const [folder, name] = [row.s3_key.slice(0, row.s3_key.lastIndexOf("/") + 1), row.s3_key.slice(row.s3_key.lastIndexOf("/") + 1)];
  const span = el("span", null, "s3key");
  span.title = row.s3_key;
  span.dataset.key = row.s3_key;
  span.append(el("span", (row.in_s3 ? "✓ " : "… ") + folder.replace(/^.*context_date=/, ""), "pasta"), el("span", name, "arquivo"));
  return span;
}

function whoCell(row) {
  const td = el("td");
  const kind = row.resent_from ? `${row.kind || ""} (reenviada)` : row.kind || "";
  td.append(el("span", `${row.who || "…"} · ${kind}`, "quem"));
  if (row.reply_to) td.append(el("span", `↩ em resposta a ${row.reply_to}`, "resposta-a"));
  td.append(el("span", row.text || "", "texto"));
  return td;
}

function renderRows() {
  const body = $("linhas");
  const newest = [...rows.values()].sort((a, b) => b.order - a.order).slice(0, SHOWN);
  body.replaceChildren(...newest.map((row) => {
    const tr = el("tr");
    tr.dataset.key = row.key;
    if (row.update_id !== null) tr.dataset.updateId = row.update_id;
    if (row.resent_as !== null && row.resent_as !== undefined) tr.classList.add("anterior");
    if (!drawn.has(row.key)) { tr.classList.add("nova"); drawn.add(row.key); }
    const when = el("td", null, "quando");
    when.append(el("span", row.seen, "hora"), el("span", row.update_id === null ? "—" : row.update_id, "update"));
    const cells = [
      when, whoCell(row),
      el("td"), el("td", row.gateway ? "✓ recebida" : "—", row.gateway ? "ok" : ""), el("td"), el("td"),
    ];
    cells[2].append(telegramCell(row)); cells[2].className = "etapa-telegram";
    cells[3].classList.add("etapa-gateway");
    cells[4].append(lambdaCell(row)); cells[4].className = "etapa-lambda";
    cells[5].append(s3Cell(row)); cells[5].className = "etapa-s3";
    // The labels a narrow screen shows in front of each stage (its table header is hidden there).
    ["Telegram", "API Gateway", "Lambda", "S3"].forEach((label, i) => { cells[i + 2].dataset.rotulo = label; });
    tr.append(...cells);
    return tr;
  }));
}

const counters = {
  "c-pendentes": "telegram_pending", "c-gateway": "gateway", "c-gravados": "stored", "c-ignorados": "ignored",
  "c-recusados": "rejected", "c-quarentena": "quarantined", "c-erros": "errors", "c-ms": "avg_ms", "c-objetos": "raw_objects",
  "c-particoes": "partitions", "c-parquet": "parquet", "c-etl": "etl_runs",
};
const notices = { sandbox: "", pagina: "", aviso: "", erro: "", queda: "", webhook: "" };
const noticeClass = { sandbox: "fora", pagina: "fora" };
let sandboxState = "ok";
let streamOpen = false;

function renderNotices() {
  const box = $("avisos");
  const classOf = (name) => (name === "sandbox" && sandboxState === "ok" ? "ok" : noticeClass[name] || name);
  box.replaceChildren(...Object.entries(notices).filter(([, text]) => text).map(([name, text]) => el("div", text, classOf(name))));
}

// The badge says "ao vivo" only while this page hears its server and the server hears the sandbox.
function renderBadge() {
  const [text, cls] = !streamOpen ? ["sem conexão com a página", "chip fora"]
    : sandboxState === "down" ? ["sandbox fora do ar", "chip fora"]
    : sandboxState === "redeploying" ? ["refazendo o pipeline…", "chip espera"]
    : ["ao vivo", "chip ok"];
  $("conexao").textContent = text;
  $("conexao").className = cls;
}

const handlers = {
  contadores(value) { for (const [id, key] of Object.entries(counters)) $(id).textContent = value[key]; },
  webhook(value) {
    $("c-ultimo-erro").textContent = value.last_error ? `último erro do Telegram: ${value.last_error}` : "";
    notices.webhook = value.url ? "" : "O bot ainda não tem webhook (notebook 03).";
  },
  aviso(value) { notices.aviso = value; },
  sandbox(value) { sandboxState = value.state; notices.sandbox = value.message; renderBadge(); },
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
    $("graficos-hora").textContent = value.refreshed ? `· de ${value.refreshed}` : "";
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
  source.onopen = () => { streamOpen = true; notices.pagina = ""; renderBadge(); renderNotices(); };
  source.onerror = () => {
    // The browser tries again by itself; the class's rows stay on screen meanwhile.
    streamOpen = false;
    notices.pagina = "Esta página perdeu o contato com o comando da aula (make aula foi parado?). "
      + "Ela se reconecta sozinha quando o comando voltar.";
    renderBadge(); renderNotices();
  };
  source.onmessage = (event) => {
    const data = JSON.parse(event.data);
    for (const [name, value] of Object.entries(data.sections)) if (handlers[name]) handlers[name](value);
    for (const row of data.rows) rows.set(row.key, row);
    if (data.rows.length) renderRows();
    renderNotices();
  };
}

// Every answer of the server is JSON; anything else (a proxy's page, a server gone) still gets a plain sentence.
async function control(action, body) {
  const answer = $("resposta");
  answer.textContent = "…";
  answer.className = "";
  let response;
  try {
    response = await fetch(`/controle/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Aula-Token": TOKEN },
      body: JSON.stringify(body || {}),
    });
  } catch {
    show(false, "a página não conseguiu falar com o comando da aula (make aula foi parado?).");
    return;
  }
  let data = null;
  if ((response.headers.get("Content-Type") || "").startsWith("application/json")) {
    try { data = await response.json(); } catch { data = null; }
  }
  if (data === null) show(false, `resposta inesperada do servidor da aula (HTTP ${response.status}); tente de novo.`);
  else if (data.ok) show(true, describe(action, data.result));
  else show(false, data.error);
}

function show(ok, text) {
  const answer = $("resposta");
  answer.textContent = ok ? text : `Erro: ${text}`;
  answer.className = ok ? "ok" : "falha";
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
