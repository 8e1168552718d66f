// The page's router and live updates: #/ is the overview, #/service/NAME a service page;
// the overview arrives as server-sent events at every reading, and a service page is read
// again each time.
"use strict";

(function () {
  const root = document.getElementById("app");
  const live = document.getElementById("live");
  let latest = null;
  let loading = false;

  // A ?token= visit left the token in a cookie: take it out of the address bar.
  if (new URLSearchParams(location.search).has("token")) {
    history.replaceState(null, "", location.pathname + location.hash);
  }

  const route = () => {
    const m = location.hash.match(/^#\/service\/(.+)$/);
    return m ? { service: decodeURIComponent(m[1]) } : { service: null };
  };

  const header = (data) => {
    if (!data) return;
    if (data.prefix !== undefined) document.getElementById("prefix").textContent = "prefix " + data.prefix;
    const mode = document.getElementById("mode");
    mode.textContent = data.allowActions ? "actions allowed" : "read-only";
    mode.className = "mode " + (data.allowActions ? "armed" : "");
  };

  const showService = async (name) => {
    // Do not redraw under an operator's pending confirmation, nor twice at once.
    if (loading || root.querySelector('[data-armed="1"]')) return;
    loading = true;
    try {
      const data = await Dash.api("/api/services/" + encodeURIComponent(name));
      // An operator may have armed a button while this was read: keep what they see.
      if (route().service === name && !root.querySelector('[data-armed="1"]')) {
        header(data);
        Dash.service(root, data, () => showService(name));
      }
    } catch (e) {
      if (route().service === name) {
        Dash.replace(root, Dash.el("nav", { class: "crumbs" }, Dash.el("a", { href: "#/", text: "← all services" })),
          Dash.el("p", { class: "banner bad", text: e.message }));
      }
    } finally {
      loading = false;
    }
  };

  const render = () => {
    const r = route();
    document.title = r.service ? r.service + " · clamator" : "clamator dashboard";
    if (r.service) showService(r.service);
    else if (latest) Dash.overview(root, latest);
  };

  window.addEventListener("hashchange", () => { Dash.flash = null; root.replaceChildren(); render(); });

  Dash.api("/api/overview").then((data) => { header(data); latest = latest || data; render(); })
    .catch((e) => Dash.replace(root, Dash.el("p", { class: "banner bad", text: e.message })));

  const events = new EventSource("/api/events");
  events.addEventListener("overview", (e) => {
    try { latest = Object.assign(latest || {}, JSON.parse(e.data)); } catch (_) { return; }
    live.textContent = "live";
    live.className = "live on";
    render();
  });
  events.addEventListener("error", () => { live.textContent = "reconnecting…"; live.className = "live off"; });
})();
