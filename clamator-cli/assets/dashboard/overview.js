// The overview: one card per service, red when something needs an operator.
"use strict";

Dash.overview = function (root, data) {
  const el = Dash.el, f = Dash.fmt;
  const services = (data && data.services) || [];
  const parts = [];
  if (data && data.error) parts.push(el("p", { class: "banner bad", text: "Redis: " + data.error }));
  if (data && data.loading) parts.push(el("p", { class: "muted", text: "Reading services…" }));
  else if (services.length === 0) parts.push(el("p", { class: "muted", text: "No services under this prefix yet." }));
  const bad = services.filter((s) => s.problems && s.problems.length).length;
  parts.push(el("h1", {}, "Services ", el("span", { class: "muted small", text: `${services.length} · ${bad} need attention` })));

  const metric = (label, value, field, hint, wide) =>
    el("div", { class: "metric" + (wide ? " wide" : ""), title: hint || null },
      el("span", { class: "label", text: label }),
      el("span", { class: "value", "data-field": field, text: value }));

  const cards = services.map((s) => {
    const problems = s.problems || [];
    const state = problems.length ? "bad" : "ok";
    const link = el("a", { href: "#/service/" + encodeURIComponent(s.name), class: "name", text: s.name });
    const badge = el("span", { class: "badge " + state, "data-field": "state",
      text: problems.length ? problems.join(" · ") : "healthy" });
    const h = s.history || {};
    const lat = s.latency || {};
    const count = (x) => f.num(x ? x.count : 0);
    return el("article", { class: "card " + state, "data-service": s.name },
      el("header", {}, link, badge),
      el("div", { class: "metrics" },
        metric("calls/s", f.rate(s.callsPerSecond), "calls", s.instances ? null : "unknown: no published instance (a clamator 0.1.9 server publishes no counters)"),
        metric("errors", f.pct(s.errorRate), "errorRate", "errors / calls over the last reading"),
        metric("instances", `${f.num(s.consumers ? s.consumers.live : 0)} live`, "live",
          `${f.num(s.instances)} published; ${f.num(s.consumers && s.consumers.dead)} dead consumers`),
        metric("dead", f.num(s.deadLetters), "dead", "dead letters"),
        metric("processing p50 / p99", f.pair(lat.processing, f.ms), "processing",
          `processing time (all methods), ${f.span(lat)}: ${count(lat.processing)} requests. ` +
          `Mean since the instances started ${f.ms(s.meanMs)}; recent (moving average, slowest method) ${f.ms(s.recentMs)}`, true),
        metric("queue wait p50 / p99", f.pair(lat.queueWait, f.wait), "queueWait",
          `time in the stream before a server took the request, ${f.span(lat)}: ${count(lat.queueWait)} requests`, true),
        metric("backlog", f.num(s.backlog), "backlog", `${f.num(s.lag)} not delivered + ${f.num(s.pending)} pending`, true),
        metric("oldest waiting", f.duration(s.oldestWaitingMs), "oldestWaiting",
          "age of the oldest request not yet acknowledged (pending or not delivered)", true)),
      el("div", { class: "sparks" },
        el("figure", {}, Dash.spark(h.calls, "calls per second", "calls"), el("figcaption", { text: "calls/s" })),
        el("figure", {}, Dash.spark(h.errors, "errors per second", "errors"), el("figcaption", { text: "errors/s" })),
        el("figure", {}, Dash.spark(h.backlog, "backlog", "backlog"), el("figcaption", { text: "backlog" }))));
  });
  parts.push(el("section", { class: "cards", id: "services" }, cards));
  if (data && data.historySeconds) {
    parts.push(el("p", { class: "muted small",
      text: `Sparklines: the last ${f.duration(data.historySeconds * 1000)}, one point every ${f.duration(data.intervalMs)}. ` +
        `p50 / p99: the last ${f.duration((data.windowSeconds || 0) * 1000)} (since the instances started until the dashboard has run that long).` }));
  }
  Dash.replace(root, parts);
};
