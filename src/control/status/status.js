// The pharos status page: polls GET /v1/status every 2 s and draws it. No inline script (the
// page's Content-Security-Policy forbids it) and no innerHTML: every value goes in as text.
// The bearer token, when the API needs one, comes from the URL's fragment (#token=...), which
// browsers never send to a server; it is sent only as this API's Authorization header.
"use strict";

(function () {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const token = params.get("token") || "";
  let previous = null;  // {queries, at (ms)} of the last poll, for the query rate

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function row(cells) {
    const tr = document.createElement("tr");
    for (const c of cells) tr.appendChild(c instanceof Node ? c : el("td", c));
    return tr;
  }

  function cell(text, cls) {
    return el("td", text, cls);
  }

  function fill(tableId, rows, columns, emptyText) {
    const body = document.querySelector("#" + tableId + " tbody");
    body.replaceChildren();
    if (rows.length === 0) {
      const td = el("td", emptyText, "empty");
      td.colSpan = columns;
      body.appendChild(row([td]));
      return;
    }
    for (const r of rows) body.appendChild(r);
  }

  function ago(time) {
    if (!time) return "-";
    const s = Math.max(0, Math.round((Date.now() - Date.parse(time)) / 1000));
    let span;
    if (s < 60) span = s + "s";
    else if (s < 3600) span = Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
    else if (s < 86400) span = Math.floor(s / 3600) + "h" + String(Math.floor(s / 60) % 60).padStart(2, "0") + "m";
    else span = Math.floor(s / 86400) + "d" + String(Math.floor(s / 3600) % 24).padStart(2, "0") + "h";
    return time + " (" + span + " ago)";
  }

  function drawZones(zones) {
    fill("zones", zones.map((z) => row([
      cell(z.origin),
      cell(z.serial === null ? "not served" : z.serial, z.serial === null ? "unhealthy" : ""),
      cell(z.records === null ? "-" : z.records),
      cell(z.loaded_at ? ago(z.loaded_at) + (z.failed ? " - last load failed" : "") : "-"),
      cell(z.file),
    ])), 5, "no zones");
  }

  function drawChecks(checks) {
    fill("checks", checks.map((c) => {
      let state = c.state;
      if (c.override) state += " (override " + c.override.action + ")";
      const last = c.last_probe ? (c.last_reason || "ok") + ", " + (c.last_latency_us / 1000).toFixed(1) + " ms" : "-";
      const history = el("ul", null, "history");
      for (const t of (c.history || []).slice(-5).reverse()) {
        history.appendChild(el("li", t.at + ": " + t.from + " \u2192 " + t.to + (t.reason ? " (" + t.reason + ")" : "")));
      }
      const historyCell = document.createElement("td");
      if (history.childElementCount) historyCell.appendChild(history);
      else historyCell.textContent = "-";
      const tr = row([cell(c.name), cell(c.type), cell(c.target || "-"), cell(state, c.state),
                      cell(ago(c.since)), cell(last), historyCell]);
      tr.dataset.check = c.name;
      tr.dataset.state = c.state;
      return tr;
    }), 7, "no health checks");
  }

  function drawRecords(records) {
    const box = document.getElementById("records");
    box.replaceChildren();
    if (records.length === 0) {
      box.appendChild(el("p", "no policy records", "empty"));
      return;
    }
    for (const r of records) {
      const title = (r.name || "pool " + r.id) + " " + r.type + " \u2014 " + r.policy + ", ttl " + r.ttl +
                    (r.all_down ? " \u2014 no member healthy" : "");
      box.appendChild(el("h3", title));
      const table = el("table");
      table.appendChild(row(["Member", "Standing", "Check", "Override", "Answering", "Detail"].map((h) => el("th", h))));
      for (const m of r.members || []) {
        const detail = [];
        if (m.weight !== undefined) detail.push("weight " + m.weight);
        if (m.tier !== undefined) detail.push("tier " + m.tier);
        if (m.group !== undefined) detail.push("group " + m.group);
        const tr = row([
          cell(m.record ? "\u2192 " + m.record : m.value),
          cell(m.standing, m.standing),
          cell(m.check ? m.check + " (" + m.health + ")" : "none"),
          cell(m.override || "-"),
          cell(m.answering ? "answering" : "", m.answering ? "up" : ""),
          cell(detail.join(", ")),
        ]);
        if (m.answering) tr.className = "answering";
        tr.dataset.member = m.record || m.value;
        tr.dataset.answering = m.answering ? "yes" : "no";
        table.appendChild(tr);
      }
      box.appendChild(table);
    }
  }

  function drawOverrides(overrides) {
    fill("overrides", overrides.map((o) => row([
      cell(o.id),
      cell(o.check !== undefined ? "check " + o.check : "record " + o.record + " value " + o.value),
      cell(o.action, o.action),
      cell(o.until || "until cleared"),
      cell(o.reason || ""),
    ])), 5, "no overrides");
  }

  function draw(s) {
    document.getElementById("version").textContent = s.version;
    const now = Date.now();
    let rate = "";
    if (previous && typeof s.queries === "number" && now > previous.at) {
      rate = ((s.queries - previous.queries) / ((now - previous.at) / 1000)).toFixed(1) + " queries/s";
    } else if (typeof s.queries === "number") {
      rate = "measuring queries/s";
    }
    if (typeof s.queries === "number") previous = {queries: s.queries, at: now};
    const summary = [s.zones.length + " zones", s.checks.length + " health checks", s.records.length + " policy records",
                     "health view " + s.view_version];
    if (typeof s.queries === "number") summary.push(s.queries + " queries answered");
    if (rate) summary.push(rate);
    document.getElementById("summary").textContent = summary.join(" \u00b7 ");
    document.getElementById("summary").dataset.queries = s.queries;
    drawZones(s.zones || []);
    drawChecks(s.checks || []);
    drawRecords(s.records || []);
    drawOverrides(s.overrides || []);
    document.getElementById("updated").textContent = new Date(now).toISOString();
  }

  function showError(text) {
    const e = document.getElementById("error");
    e.textContent = text;
    e.hidden = !text;
  }

  async function poll() {
    try {
      const headers = {Accept: "application/json"};
      if (token) headers.Authorization = "Bearer " + token;
      const res = await fetch("/v1/status", {headers: headers, cache: "no-store", credentials: "omit"});
      const body = await res.json();
      if (!res.ok) {
        showError("error " + res.status + ": " + (body.error || "") +
                  (res.status === 401 ? " (open the page as /#token=YOUR_TOKEN)" : ""));
      } else {
        showError("");
        draw(body);
      }
    } catch (e) {
      showError("cannot reach the control API: " + e);
    }
    window.setTimeout(poll, 2000);
  }

  poll();
})();
