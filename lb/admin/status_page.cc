// Pure.
#include "lb/admin/status_page.h"

namespace mqlb::lb::admin {
namespace {

// The page; REFRESH_MS is replaced by the refresh period. The script keeps
// the last minutes of each server's live sessions for its sparkline and
// derives session rates from the totals between two reads.
constexpr const char* kPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mqlb status</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 .2em; }
#info { color: #555; margin-bottom: 1em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { padding: .25em .7em; border-bottom: 1px solid #ddd; text-align: right; }
th { background: #f3f3f3; } td.name, th.name { text-align: left; }
tr.UP td.state { background: #c8f0c8; } tr.DOWN td.state { background: #f6b8b8; }
tr.MAINT td.state { background: #c9d6f5; } tr.DRAIN td.state { background: #f5e6b0; }
tr.NOLB td.state { background: #eee; }
button { font-size: 12px; margin-left: .2em; }
#error { color: #a00; }
svg polyline { fill: none; stroke: #36c; stroke-width: 1.5; }
</style>
</head>
<body>
<h1>mqlb</h1>
<div id="info">loading...</div>
<div id="error"></div>
<h2>Frontends</h2>
<table id="frontends"><thead><tr><th class="name">frontend</th><th>binds</th><th>current</th>
<th>total</th><th>rate/s</th><th>bytes in</th><th>bytes out</th><th>no server</th></tr></thead>
<tbody></tbody></table>
<div id="backends"></div>
<script>
"use strict";
const REFRESH = REFRESH_MS;
const history = {};  // "backend/server" -> live sessions, oldest first
let last = {};       // "kind/name" -> [total sessions, time]
const HISTORY = Math.max(10, Math.round(300000 / REFRESH));

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
function rate(key, total, now) {
  const before = last[key];
  last[key] = [total, now];
  if (!before || now <= before[1]) return "";
  return ((total - before[0]) * 1000 / (now - before[1])).toFixed(1);
}
function sparkline(values) {
  const w = 120, h = 24, max = Math.max(1, ...values);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", w); svg.setAttribute("height", h);
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", values.map((v, i) =>
    (i * w / Math.max(1, HISTORY - 1)).toFixed(1) + "," + (h - 1 - v * (h - 2) / max).toFixed(1)).join(" "));
  svg.append(line);
  return svg;
}
async function change(backend, server, state) {
  const r = await fetch("/api/v1/backends/" + encodeURIComponent(backend) + "/servers/" +
                        encodeURIComponent(server),
                        {method: "PATCH", headers: {"Content-Type": "application/json"},
                         body: JSON.stringify({admin_state: state})});
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    document.getElementById("error").textContent =
      "set " + backend + "/" + server + " " + state + ": " + r.status + " " + (body.error || "");
  }
  refresh();
}
function serverRow(b, s, now) {
  const id = b.name + "/" + s.name;
  (history[id] = history[id] || []).push(s.sessions.current);
  if (history[id].length > HISTORY) history[id].shift();
  const check = s.check.enabled ? s.check.status + " " + s.check.duration_ms + "ms" : "no check";
  const buttons = el("td", {class: "actions"});
  for (const state of ["drain", "ready", "maint"]) {
    const button = el("button", {"data-state": state}, state);
    button.onclick = () => change(b.name, s.name, state);
    buttons.append(button);
  }
  return el("tr", {class: s.state, "data-server": s.name},
    el("td", {class: "name"}, s.name + (s.backup ? " (backup)" : "")),
    el("td", {}, s.address + ":" + s.port),
    el("td", {class: "state"}, s.state),
    el("td", {}, s.effective_weight + "/" + s.weight),
    el("td", {}, s.sessions.current), el("td", {}, s.sessions.total),
    el("td", {}, rate("s/" + id, s.sessions.total, now)),
    el("td", {}, s.sessions.bytes_in), el("td", {}, s.sessions.bytes_out),
    el("td", {}, check), el("td", {}, sparkline(history[id])), buttons);
}
async function refresh() {
  const now = Date.now();
  try {
    const get = async (path) => {
      const r = await fetch(path, {cache: "no-store"});
      if (!r.ok) throw new Error(path + ": " + r.status);
      return r.json();
    };
    const [info, frontends, backends] =
      await Promise.all([get("/api/v1/info"), get("/api/v1/frontends"), get("/api/v1/backends")]);
    const servers = await Promise.all(backends.map(b =>
      get("/api/v1/backends/" + encodeURIComponent(b.name) + "/servers")));
    document.getElementById("info").textContent = "version " + info.version + ", pid " +
      info.pid + ", up " + info.uptime_s + " s, " + info.workers + " workers, " +
      info.current_sessions + " sessions, " + info.reloads + " reloads";
    const fe = document.querySelector("#frontends tbody");
    fe.replaceChildren(...frontends.map(f => el("tr", {"data-frontend": f.name},
      el("td", {class: "name"}, f.name), el("td", {}, f.binds.map(x => x.address).join(" ")),
      el("td", {}, f.sessions.current), el("td", {}, f.sessions.total),
      el("td", {}, rate("f/" + f.name, f.sessions.total, now)),
      el("td", {}, f.sessions.bytes_in), el("td", {}, f.sessions.bytes_out),
      el("td", {}, f.sessions.no_server))));
    const root = document.getElementById("backends");
    root.replaceChildren(...backends.map((b, i) => el("div", {"data-backend": b.name},
      el("h2", {}, "Backend " + b.name + " (" + b.balance + ", " + b.servers_usable + "/" +
                   b.servers + " usable, " + b.sessions.current + " sessions, " +
                   b.sessions.queued + " queued)"),
      el("table", {}, el("thead", {}, el("tr", {},
          ...["server", "address", "state", "weight", "current", "total", "rate/s", "bytes in",
              "bytes out", "last check", "sessions", ""].map((h, k) =>
            el("th", k == 0 ? {class: "name"} : {}, h)))),
        el("tbody", {}, ...servers[i].map(s => serverRow(b, s, now)))))));
    document.body.setAttribute("data-refreshed", String(now));
  } catch (e) {
    document.getElementById("error").textContent = String(e);
  }
}
refresh();
setInterval(refresh, REFRESH);
</script>
</body>
</html>
)html";

}  // namespace

std::string status_page(long refresh_ms) {
  std::string page = kPage;
  const std::string mark = "REFRESH_MS";
  page.replace(page.find(mark), mark.size(), std::to_string(refresh_ms > 0 ? refresh_ms : 5000));
  return page;
}

}  // namespace mqlb::lb::admin
