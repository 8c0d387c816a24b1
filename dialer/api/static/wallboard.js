// Dialer wallboard: live over the status WebSocket, no build step, no dependencies.
"use strict";

(function () {
  const OUTCOME_ORDER = ["human", "machine", "busy", "no_answer", "congestion", "failed",
    "answer_hangup", "abandoned", "blocked", "optout", "broadcast", "canceled"];
  const STATES = ["talking", "ready", "reserved", "wrap_up", "paused"];
  const GAUGE_SCALE = 1.5; // the gauge's full scale is 1.5 x the campaign's target
  const board = { updates: 0, last: null, connected: false };
  window.wallboard = board;

  const $ = (id) => document.getElementById(id);
  const fmtInt = (n) => Number(n || 0).toLocaleString("en-US");
  const fmtPct = (r) => (100 * Number(r || 0)).toFixed(2) + "%";
  const sum = (obj) => Object.values(obj || {}).reduce((a, b) => a + Number(b || 0), 0);

  function token() {
    const match = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
    if (match) {
      sessionStorage.setItem("dialer-token", decodeURIComponent(match[1]));
      history.replaceState(null, "", location.pathname);
    }
    return sessionStorage.getItem("dialer-token");
  }

  function setConn(state, text) {
    $("conn").dataset.state = state;
    $("conn-text").textContent = text;
    board.connected = state === "live";
  }

  function render(status) {
    board.last = status;
    board.updates += 1;
    $("calls-in-flight").textContent = fmtInt(status.calls_in_flight);
    for (const state of STATES) {
      $("agents-" + state).textContent = fmtInt((status.agents || {})[state]);
    }
    $("calls-15m").textContent = fmtInt(sum(status.outcomes_15m));
    $("blocks-total").textContent = fmtInt(sum(status.compliance_blocks));
    renderCampaigns(status.campaigns || []);
    renderBars($("outcomes"), status.outcomes_15m || {}, OUTCOME_ORDER, "outcome");
    renderBars($("blocks"), status.compliance_blocks || {}, [], "reason");
    $("updated").textContent = new Date(status.at).toLocaleTimeString("en-GB");
  }

  function renderCampaigns(campaigns) {
    const root = $("campaigns");
    const seen = new Set();
    for (const c of campaigns) {
      seen.add(c.name);
      let card = root.querySelector(`[data-campaign="${CSS.escape(c.name)}"]`);
      if (!card) {
        card = $("campaign-card").content.firstElementChild.cloneNode(true);
        card.dataset.campaign = c.name;
        root.appendChild(card);
      }
      fillCard(card, c);
    }
    for (const card of [...root.children]) {
      if (!seen.has(card.dataset.campaign)) card.remove();
    }
    if (!campaigns.length && !root.querySelector(".empty")) {
      const p = document.createElement("p");
      p.className = "empty";
      p.textContent = "No campaign is running.";
      root.appendChild(p);
    }
  }

  function primaryWindow(c) {
    const windows = c.abandon || [];
    return windows.find((w) => w.window === "rolling_30d") || windows[0] || null;
  }

  function fillCard(card, c) {
    const q = (sel) => card.querySelector(sel);
    q(".name").textContent = c.name;
    q(".state").textContent = c.state;
    q(".state").dataset.state = c.state;
    q(".mode").textContent = c.mode;
    q(".dial-level").textContent = Number(c.dial_level || 0).toFixed(2);
    q(".in-flight").textContent = fmtInt(c.calls_in_flight);
    const on = sum(c.agents) - Number((c.agents || {}).logged_out || 0);
    q(".agents-on").textContent = fmtInt(on);
    const w = primaryWindow(c);
    q(".window").textContent = w ? w.window.replace("_", " ") : "–";
    drawGauge(q(".gauge"), w);
  }

  function arcPoint(fraction) {
    const angle = Math.PI * (1 - fraction);
    return [100 + 80 * Math.cos(angle), 100 - 80 * Math.sin(angle)];
  }

  function drawGauge(svg, w) {
    const ratio = w ? Number(w.ratio) : 0;
    const target = w ? Number(w.target) : 0.03;
    const full = target * GAUGE_SCALE;
    const fraction = Math.max(0, Math.min(1, ratio / full));
    const fill = svg.querySelector(".fill");
    fill.setAttribute("pathLength", "100");
    fill.style.strokeDasharray = `${(fraction * 100).toFixed(2)} 100`;
    fill.style.visibility = fraction > 0 ? "visible" : "hidden";
    const level = ratio >= target ? "over" : ratio >= 0.8 * target ? "near" : "ok";
    svg.dataset.level = level;
    const [x1, y1] = arcPoint(1 / GAUGE_SCALE);
    const t = svg.querySelector(".target");
    const [x0, y0] = [100 + (x1 - 100) * 0.78, 100 + (y1 - 100) * 0.78];
    t.setAttribute("x1", x0.toFixed(1)); t.setAttribute("y1", y0.toFixed(1));
    t.setAttribute("x2", (100 + (x1 - 100) * 1.16).toFixed(1));
    t.setAttribute("y2", (100 + (y1 - 100) * 1.16).toFixed(1));
    svg.querySelector(".gauge-value").textContent = w ? fmtPct(ratio) : "–";
    svg.querySelector(".gauge-caption").textContent =
      w ? `abandoned, target ${fmtPct(target)}` : "no live answers yet";
    svg.setAttribute("aria-label", `abandonment ${fmtPct(ratio)} of target ${fmtPct(target)}`);
  }

  function renderBars(root, counts, order, kind) {
    const keys = Object.keys(counts);
    keys.sort((a, b) => rank(order, a) - rank(order, b) || counts[b] - counts[a]);
    const max = Math.max(1, ...keys.map((k) => Number(counts[k])));
    root.replaceChildren(...keys.map((k) => bar(k, Number(counts[k]), max, kind)));
    if (!keys.length) {
      const p = document.createElement("p");
      p.className = "empty";
      p.textContent = "None yet.";
      root.appendChild(p);
    }
  }

  function rank(order, key) {
    const i = order.indexOf(key);
    return i < 0 ? order.length : i;
  }

  function bar(key, value, max, kind) {
    const row = document.createElement("div");
    row.className = "bar-row";
    row.dataset[kind] = key;
    const label = document.createElement("span");
    label.className = "bar-label";
    label.textContent = key.replaceAll("_", " ").replace(/^dnc\b/, "DNC");
    const track = document.createElement("span");
    track.className = "bar-track";
    const fill = document.createElement("span");
    fill.className = "bar-fill " + kind + "-" + key;
    fill.style.width = (100 * value / max).toFixed(1) + "%";
    track.appendChild(fill);
    const num = document.createElement("span");
    num.className = "bar-value";
    num.textContent = fmtInt(value);
    row.append(label, track, num);
    return row;
  }

  let retry = 500;
  function connect(tok) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/api/status/ws`,
      ["dialer.v1", "bearer." + tok]);
    setConn("connecting", "connecting");
    ws.onopen = () => { retry = 500; setConn("live", "live"); };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "status") render(msg.status);
    };
    ws.onclose = () => {
      setConn("down", board.updates ? "reconnecting" : "cannot connect (check the token)");
      setTimeout(() => connect(tok), retry);
      retry = Math.min(retry * 2, 10000);
    };
  }

  function start() {
    const tok = token();
    if (tok) { connect(tok); return; }
    const form = $("login");
    form.hidden = false;
    setConn("down", "no token");
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const value = $("token-input").value.trim();
      if (!value) return;
      sessionStorage.setItem("dialer-token", value);
      form.hidden = true;
      connect(value);
    });
  }

  start();
})();
