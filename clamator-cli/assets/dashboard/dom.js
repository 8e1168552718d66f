// Building blocks for the page. Everything that came from the wire goes into the page
// through textContent or setAttribute (never innerHTML), so it is shown, never run.
"use strict";

const Dash = {};

// el("div", {class: "x", text: "t", onclick: f}, child, ...): an element; children are
// nodes or strings (text nodes); null and false are skipped.
Dash.el = function (tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") e.textContent = String(v);
    else if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
};

Dash.fmt = {
  num(n) { return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"); },
  rate(n) { return n === null || n === undefined ? "–" : (n >= 100 ? n.toFixed(0) : n.toFixed(1)); },
  pct(n) { return n === null || n === undefined ? "–" : (n * 100).toFixed(n < 0.1 ? 1 : 0) + "%"; },
  ms(n) {
    if (n === null || n === undefined) return "–";
    if (n > 0 && n < 0.01) return "<0.01 ms";
    if (n < 1) return n.toFixed(2) + " ms";
    if (n < 1000) return n.toFixed(n < 10 ? 1 : 0) + " ms";
    return Dash.fmt.duration(n);
  },
  // A queue wait: whole milliseconds (Redis entry ids), so below 1 ms is "<1 ms".
  wait(n) {
    if (n === null || n === undefined) return "–";
    return n < 1 ? "<1 ms" : Dash.fmt.ms(n);
  },
  // "p50 / p99" of a {count, p50Ms, p99Ms} summary, with `one` formatting each.
  pair(summary, one) {
    if (!summary || !summary.count) return "–";
    return one(summary.p50Ms) + " / " + one(summary.p99Ms);
  },
  // Where p50/p99 come from: {windowSeconds} (null: since the instances started).
  span(latency) {
    if (!latency) return "";
    return latency.windowSeconds ? "over the last " + Dash.fmt.duration(latency.windowSeconds * 1000)
      : "since the instances started (the dashboard has not run a whole window yet)";
  },
  duration(ms) {
    if (ms === null || ms === undefined) return "–";
    const s = ms / 1000;
    if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + Math.floor(s % 60) + " s";
    if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
    return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
  },
};

// A sparkline: an SVG polyline over `values` (numbers only reach the markup).
Dash.spark = function (values, label, cls) {
  const ns = "http://www.w3.org/2000/svg";
  const w = 120, h = 28;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("class", "spark " + (cls || ""));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const title = document.createElementNS(ns, "title");
  title.textContent = label;
  svg.append(title);
  const vs = (values || []).map(Number).filter((v) => Number.isFinite(v));
  if (vs.length < 2) return svg;
  const max = Math.max(...vs, 1e-9);
  const pts = vs.map((v, i) => `${((i / (vs.length - 1)) * w).toFixed(1)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", pts.join(" "));
  svg.append(line);
  return svg;
};

// fetch as JSON; a failure becomes an Error with the server's message.
Dash.api = async function (path, options) {
  const response = await fetch(path, Object.assign({ credentials: "same-origin", cache: "no-store" }, options || {}));
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  return body;
};

// POST an action (the header tells the server it came from this page's script).
Dash.act = function (path) {
  return Dash.api(path, { method: "POST", headers: { "X-Clamator-Action": "1" } });
};

// A table in a scrolling box (wide tables scroll sideways on a phone).
Dash.table = function (headers, rows, attrs) {
  const head = Dash.el("tr", {}, headers.map((h) => Dash.el("th", { scope: "col", text: h })));
  return Dash.el("div", { class: "scroll" },
    Dash.el("table", attrs || {}, Dash.el("thead", {}, head), Dash.el("tbody", {}, rows)));
};

Dash.replace = function (parent, ...children) {
  parent.replaceChildren(...children.flat().filter((c) => c));
};
