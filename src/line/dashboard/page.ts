/**
 * The dashboard's one page, shipped as strings (no build step, nothing to copy at install).
 * The script draws every value with textContent, never as HTML: device IDs, station names and
 * error messages come from the factory floor and are shown, not interpreted.
 */

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>nrf-provision line</title>
<link rel="stylesheet" href="app.css__QUERY__">
</head>
<body>
<header>
  <h1>Production line</h1>
  <span id="connection" class="badge">connecting…</span>
  <span id="generated-at"></span>
</header>
<p id="error" hidden></p>
<section id="totals" aria-label="line totals">
  <div><span class="label">in progress</span><span id="line-in-progress" class="value">–</span></div>
  <div><span class="label">done</span><span id="line-done" class="value">–</span></div>
  <div><span class="label">failed</span><span id="line-failed" class="value">–</span></div>
  <div><span class="label">boards / min</span><span id="line-rate" class="value">–</span></div>
</section>
<main id="stations"></main>
<section aria-label="failures">
  <h2>Failures</h2>
  <table id="failures">
    <thead><tr><th>time</th><th>station</th><th>device</th><th>step</th><th>code</th><th>reason</th></tr></thead>
    <tbody></tbody>
  </table>
</section>
<script src="app.js__QUERY__"></script>
</body>
</html>
`;

const CSS = `
:root { font-family: system-ui, sans-serif; color: #1d2330; background: #f4f6f9; }
body { margin: 0 1.5rem 2rem; }
header { display: flex; align-items: baseline; gap: 1rem; }
h1 { font-size: 1.4rem; }
h2 { font-size: 1.1rem; margin: 0.3rem 0; }
.badge { padding: 0.1rem 0.5rem; border-radius: 0.6rem; background: #d8dde6; font-size: 0.85rem; }
.badge.live, .badge.alive { background: #c9ecd4; }
.badge.offline, .badge.dead, .badge.revoked { background: #f6c9c9; }
#error { background: #f6c9c9; padding: 0.5rem; }
#totals { display: flex; gap: 1rem; margin-bottom: 1rem; }
#totals div, .station { background: #fff; border-radius: 0.4rem; padding: 0.6rem 0.9rem; box-shadow: 0 1px 2px #0002; }
#totals .label { display: block; font-size: 0.8rem; color: #5a6375; }
#totals .value { font-size: 1.6rem; font-variant-numeric: tabular-nums; }
#stations { display: grid; grid-template-columns: repeat(auto-fill, minmax(36rem, 1fr)); gap: 1rem; }
.station { overflow-x: auto; }
.station-head { display: flex; gap: 0.6rem; align-items: baseline; flex-wrap: wrap; }
.station-stats { font-size: 0.9rem; color: #3b4354; margin: 0.3rem 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.85rem; }
th, td { text-align: left; padding: 0.15rem 0.4rem; border-bottom: 1px solid #e3e6ec; white-space: nowrap; }
td.reason { white-space: normal; }
td.state-done { color: #1b7a3a; font-weight: 600; }
td.state-failed { color: #b3261e; font-weight: 600; }
td.state-in-progress { color: #8a5a00; }
.more { font-size: 0.8rem; color: #5a6375; }
`;

const JS = `"use strict";
(function () {
  var token = new URLSearchParams(location.search).get("token");
  var eventsUrl = "events" + (token ? "?token=" + encodeURIComponent(token) : "");
  var DONE_SHOWN = 200;

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  function setText(id, text) { document.getElementById(id).textContent = String(text); }
  function rate(value) { return (Math.round(value * 10) / 10).toFixed(1); }

  function stationCard(station, boards) {
    var card = el("section", null, "station");
    card.dataset.station = station.id;
    var head = el("div", null, "station-head");
    head.appendChild(el("h2", station.id));
    var alive = el("span", station.alive ? "alive" : "no heartbeat", "badge " + (station.alive ? "alive" : "dead"));
    alive.dataset.role = "alive";
    head.appendChild(alive);
    if (station.revoked) head.appendChild(el("span", "CA revoked", "badge revoked"));
    head.appendChild(el("span", station.host + " · pid " + station.pid));
    card.appendChild(head);
    var stats = el("div", null, "station-stats");
    stats.dataset.role = "stats";
    stats.textContent = station.inProgress + " in progress · " + station.done + " done · " +
      station.failed + " failed · " + rate(station.ratePerMinute) + " boards/min" +
      (station.intermediateSerial ? " · CA " + station.intermediateSerial : "");
    card.appendChild(stats);
    card.appendChild(boardTable(boards));
    return card;
  }

  function boardTable(boards) {
    var table = el("table", null, "boards");
    var head = el("tr");
    ["device", "IMEI", "step", "state", "updated"].forEach(function (name) { head.appendChild(el("th", name)); });
    table.appendChild(el("thead")).appendChild(head);
    var body = table.appendChild(el("tbody"));
    var doneShown = 0, doneHidden = 0;
    boards.forEach(function (board) {
      if (board.state === "done" && doneShown >= DONE_SHOWN) { doneHidden++; return; }
      if (board.state === "done") doneShown++;
      var row = el("tr");
      row.dataset.device = board.deviceId;
      row.dataset.state = board.state;
      row.appendChild(el("td", board.deviceId));
      row.appendChild(el("td", board.imei || ""));
      row.appendChild(el("td", board.step, "step"));
      row.appendChild(el("td", board.state, "state state-" + board.state));
      row.appendChild(el("td", new Date(board.updatedAt).toLocaleTimeString()));
      body.appendChild(row);
    });
    if (doneHidden > 0) {
      var more = el("tr");
      var cell = el("td", "and " + doneHidden + " more done", "more");
      cell.colSpan = 5;
      more.appendChild(cell);
      body.appendChild(more);
    }
    return table;
  }

  function drawStations(status) {
    var byStation = new Map();
    status.stations.forEach(function (station) { byStation.set(station.id, { station: station, boards: [] }); });
    status.boards.forEach(function (board) {
      if (!byStation.has(board.station)) {
        byStation.set(board.station, { station: { id: board.station, host: "?", pid: 0, alive: false,
          inProgress: 0, done: 0, failed: 0, ratePerMinute: 0, revoked: false }, boards: [] });
      }
      byStation.get(board.station).boards.push(board);
    });
    var container = document.getElementById("stations");
    container.replaceChildren();
    byStation.forEach(function (entry) { container.appendChild(stationCard(entry.station, entry.boards)); });
  }

  function drawFailures(failures) {
    var body = document.querySelector("#failures tbody");
    body.replaceChildren();
    failures.forEach(function (failure) {
      var row = el("tr");
      row.dataset.device = failure.deviceId;
      row.appendChild(el("td", new Date(failure.at).toLocaleTimeString()));
      row.appendChild(el("td", failure.station));
      row.appendChild(el("td", failure.deviceId));
      row.appendChild(el("td", failure.step));
      row.appendChild(el("td", failure.code, "code"));
      row.appendChild(el("td", failure.message, "reason"));
      body.appendChild(row);
    });
  }

  function draw(status) {
    document.getElementById("error").hidden = true;
    setText("generated-at", "as of " + new Date(status.generatedAt).toLocaleTimeString());
    setText("line-in-progress", status.line.inProgress);
    setText("line-done", status.line.done);
    setText("line-failed", status.line.failed);
    setText("line-rate", rate(status.line.ratePerMinute));
    drawStations(status);
    drawFailures(status.failures);
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  }

  function connect() {
    var source = new EventSource(eventsUrl);
    var badge = document.getElementById("connection");
    source.onopen = function () { badge.textContent = "live"; badge.className = "badge live"; };
    source.onerror = function () { badge.textContent = "reconnecting…"; badge.className = "badge offline"; };
    source.addEventListener("status", function (event) { draw(JSON.parse(event.data)); });
    source.addEventListener("read-error", function (event) {
      var error = document.getElementById("error");
      error.textContent = "Cannot read the line's status: " + JSON.parse(event.data).message;
      error.hidden = false;
    });
  }
  connect();
})();
`;

export interface DashboardAsset {
  type: string;
  body: string;
}

/** The page with its asset links carrying the token (HTML needs it in the URLs it loads). */
export function dashboardPage(token: string | undefined): string {
  const query = token === undefined || token === "" ? "" : `?token=${encodeURIComponent(token)}`;
  return HTML.replaceAll("__QUERY__", query);
}

/** Static assets by path. */
export const DASHBOARD_ASSETS: Readonly<Record<string, DashboardAsset | undefined>> = {
  "/app.js": { type: "text/javascript; charset=utf-8", body: JS },
  "/app.css": { type: "text/css; charset=utf-8", body: CSS },
};

export const PAGE_TYPE = "text/html; charset=utf-8";
