// A service page: methods and schemas, instances and consumers, pending entries, dead
// letters (with replay and purge when the dashboard allows actions).
"use strict";

Dash.service = function (root, data, refresh) {
  const el = Dash.el, f = Dash.fmt;
  const now = data.nowMs || Date.now();
  const s = data.summary || {};
  const path = (rest) => "/api/services/" + encodeURIComponent(data.name) + rest;
  const parts = [];
  parts.push(el("nav", { class: "crumbs" }, el("a", { href: "#/", text: "← all services" })));
  const problems = s.problems || [];
  parts.push(el("h1", {}, el("span", { text: data.name }), " ",
    el("span", { class: "badge " + (problems.length ? "bad" : "ok"), text: problems.length ? problems.join(" · ") : "healthy" })));
  const lat = s.latency || {};
  parts.push(el("p", { class: "facts" },
    `${f.rate(s.callsPerSecond)} calls/s · errors ${f.pct(s.errorRate)} · ` +
    `processing p50 / p99 ${f.pair(lat.processing, f.ms)} · queue wait p50 / p99 ${f.pair(lat.queueWait, f.wait)} · ` +
    `oldest waiting ${f.duration(data.oldestWaitingMs)} · ` +
    `backlog ${f.num(s.backlog)} (${f.num(s.lag)} waiting + ${f.num(s.pending)} pending) · stream length ${f.num(data.streamLength)}`));

  const section = (title, count, body) =>
    el("section", { class: "panel" }, el("h2", {}, title, count === null ? null : el("span", { class: "count", text: count })), body);
  const empty = (text) => el("p", { class: "muted", text });

  // methods
  const methods = data.methods || [];
  const methodRows = methods.map((m) => {
    const st = m.stats || {};
    const schemas = ["paramsSchema", "resultSchema"].filter((k) => m[k]).map((k) =>
      el("details", {}, el("summary", { text: k === "paramsSchema" ? "params schema" : "result schema" }),
        el("pre", { text: JSON.stringify(m[k], null, 2) })));
    const last = st.lastError ? `${st.lastError.code}: ${st.lastError.message}` : "–";
    const ml = m.latency || {};
    return el("tr", { "data-method": m.name },
      el("td", {}, el("code", { text: m.name }), schemas),
      el("td", { text: m.kind }), el("td", { class: "num", text: f.num(st.requests) }),
      el("td", { class: "num", text: f.num(st.errors) }),
      el("td", { class: "num nowrap", "data-field": "processing", text: f.pair(ml.processing, f.ms) }),
      el("td", { class: "num nowrap", "data-field": "queueWait", text: f.pair(ml.queueWait, f.wait) }),
      el("td", { class: "num", text: f.ms(st.meanMs) }),
      el("td", { class: "num", text: f.ms(st.recentMs) }), el("td", { class: "wrap", text: last }));
  });
  parts.push(section("Methods", methods.length, methods.length
    ? el("div", {}, Dash.table(["method", "kind", "requests", "errors", "p50 / p99", "queue wait p50 / p99", "mean", "recent", "last error"], methodRows),
      el("p", { class: "muted small", text: `p50 / p99 ${f.span(lat)}; requests, errors, mean and recent since the instances started.` }))
    : empty("No description published (a clamator 0.1.9 server publishes none).")));

  // instances and consumers
  const instances = data.instances || [];
  parts.push(section("Instances", instances.length, instances.length
    ? Dash.table(["instance", "library", "version", "up", "concurrency"], instances.map((i) => el("tr", {},
      el("td", {}, el("code", { text: i.instance })), el("td", { text: `${i.library} ${i.libraryVersion}` }),
      el("td", { text: i.version || "–" }), el("td", { text: f.duration(now - i.startedAtMs) }),
      el("td", { class: "num", text: f.num(i.concurrency) }))))
    : empty("No published instance.")));
  const consumers = data.consumers || [];
  parts.push(section("Consumers", consumers.length, consumers.length
    ? Dash.table(["consumer", "state", "idle", "pending", "kind"], consumers.map((c) => el("tr", { class: c.state === "dead" ? "dead" : null, "data-consumer": c.name },
      el("td", {}, el("code", { text: c.name })), el("td", {}, el("span", { class: "badge " + c.state, text: c.state })),
      el("td", { text: f.duration(c.idleMs) }), el("td", { class: "num", text: f.num(c.pending) }),
      el("td", { text: c.published ? "published (clamator-rs)" : "unpublished (0.1.9?)" }))))
    : empty("No consumer group yet.")));

  // pending
  const pending = data.pending || { total: 0, entries: [] };
  parts.push(section("Pending", pending.total, pending.entries.length
    ? Dash.table(["entry", "method", "consumer", "idle", "deliveries"], pending.entries.map((p) => el("tr", {},
      el("td", {}, el("code", { text: p.id })), el("td", { text: p.method || "–" }), el("td", { text: p.consumer }),
      el("td", { text: f.duration(p.idleMs) }), el("td", { class: "num", text: f.num(p.deliveries) }))))
    : empty("Nothing delivered and unacknowledged.")));

  // dead letters
  const dead = data.deadLetters || { total: 0, entries: [] };
  // The outcome of the last action, kept across refreshes until the page changes.
  const flash = Dash.flash || { text: "", cls: "" };
  const status = el("p", { class: "status " + flash.cls, role: "status", text: flash.text });
  const run = async (button, label, action) => {
    // Two steps: the first click asks, the second acts; anything else cancels.
    if (button.dataset.armed !== "1") {
      button.dataset.armed = "1";
      button.textContent = "Confirm " + label.toLowerCase() + "?";
      button.classList.add("armed");
      setTimeout(() => { button.dataset.armed = ""; button.textContent = label; button.classList.remove("armed"); }, 5000);
      return;
    }
    button.disabled = true;
    try {
      const result = await action();
      Dash.flash = { text: label + " done: " + JSON.stringify(result), cls: "ok" };
    } catch (e) {
      Dash.flash = { text: label + " failed: " + e.message, cls: "bad" };
    }
    button.dataset.armed = "";
    refresh();
  };
  const actions = (d) => data.allowActions ? el("td", { class: "actions" },
    el("button", { class: "replay", type: "button", "data-action": "replay", onclick: (e) => run(e.currentTarget, "Replay", () => Dash.act(path("/dead/" + encodeURIComponent(d.id) + "/replay"))), text: "Replay" }),
    el("button", { class: "purge danger", type: "button", "data-action": "purge", onclick: (e) => run(e.currentTarget, "Purge", () => Dash.act(path("/dead/" + encodeURIComponent(d.id) + "/purge"))), text: "Purge" })) : null;
  const deadRows = dead.entries.map((d) => el("tr", { "data-dead": d.id },
    el("td", {}, el("code", { text: d.id })), el("td", { text: d.method || "–" }), el("td", { class: "bad-text", text: d.reason }),
    el("td", { class: "num", text: f.num(d.deliveries) }), el("td", { text: d.lastConsumer }),
    el("td", { text: f.duration(now - d.deadAtMs) }),
    el("td", {}, el("pre", { class: "params", text: d.params === undefined ? "–" : JSON.stringify(d.params, null, 2) })),
    actions(d)));
  const headers = ["id", "method", "reason", "deliveries", "last consumer", "age", "params"];
  if (data.allowActions) headers.push("");
  const purgeAll = data.allowActions && dead.total > 0
    ? el("button", { class: "danger", type: "button", "data-action": "purge-all", onclick: (e) => run(e.currentTarget, "Purge all", () => Dash.act(path("/dead/purge-all"))), text: "Purge all" })
    : null;
  parts.push(section("Dead letters", dead.total, dead.entries.length
    ? el("div", {}, Dash.table(headers, deadRows, { id: "dead" }), purgeAll)
    : empty("No dead letters.")));
  parts.push(status);
  if (!data.allowActions) parts.push(el("p", { class: "muted small", text: "Read-only: start the dashboard with --allow-actions to replay or purge." }));
  Dash.replace(root, parts);
};
