// app.js polls qccd's admin API every two seconds, keeps a short time
// series in the page, and draws it. Everything shown is set as text, never
// as HTML, so no value from the daemon can become markup.
"use strict";

(() => {
  const every = 2000; // ms between polls
  const keep = 300; // points per series: ten minutes at one poll every 2 s

  // A token for a TCP admin listener comes in the URL's fragment, which the
  // browser never sends to the server: http://host:port/#token=...
  const token = new URLSearchParams(location.hash.slice(1)).get("token");

  const history = {
    rate: { requests: [], errors: [] },
    ttfb: { p50: [], p95: [] },
    tokens: { input: [], output: [], "cache read": [], "cache write": [] },
    weight: new Map(), // "cluster/endpoint" -> points
  };
  let polls = 0;

  const $ = (id) => document.getElementById(id);

  async function get(path, optional) {
    const headers = token ? { Authorization: "Bearer " + token } : {};
    const resp = await fetch(path, { headers, cache: "no-store" });
    if (optional && resp.status === 501) return null;
    if (!resp.ok) {
      let msg = resp.status + " " + resp.statusText;
      try {
        msg = (await resp.json()).error || msg;
      } catch (_) {
        // not the admin API's JSON: keep the status line
      }
      throw new Error(path + ": " + msg);
    }
    return resp.json();
  }

  // goDuration turns a Go duration string ("1m30s", "250ms", "1.5µs") into
  // milliseconds.
  function goDuration(s) {
    if (!s) return 0;
    const unit = { h: 3600e3, m: 60e3, s: 1e3, ms: 1, us: 1e-3, "µs": 1e-3, ns: 1e-6 };
    let ms = 0;
    for (const [, n, u] of String(s).matchAll(/([0-9.]+)(ms|us|µs|ns|h|m|s)/g)) ms += parseFloat(n) * unit[u];
    return ms;
  }

  function fmtMs(ms) {
    if (ms >= 1000) return (ms / 1000).toFixed(ms >= 10000 ? 0 : 2) + " s";
    return ms.toFixed(ms >= 100 ? 0 : 1) + " ms";
  }

  function fmtCount(n) {
    if (n >= 1e9) return (n / 1e9).toFixed(2) + "G";
    if (n >= 1e6) return (n / 1e6).toFixed(2) + "M";
    if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
    return String(n);
  }

  function fmtRate(r) {
    return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
  }

  function errorsOf(sum) {
    const cls = sum.by_class || {}, code = sum.by_code || {};
    return (cls["5xx"] || 0) + (code["429"] || 0) + (sum.stream_errors || 0);
  }

  function push(points, t, v) {
    points.push([t, v]);
    if (points.length > keep) points.shift();
  }

  // perSecond turns the counts of a one-minute stats report into rates: the
  // window's counts over the time it really covers, which is shorter while
  // the stats are younger than a minute. Both ends are the daemon's clock.
  function perSecond(status, stats1m, statsTotal) {
    let from = Date.parse(stats1m.since);
    if (statsTotal) from = Math.max(from, Date.parse(statsTotal.since));
    const secs = Math.max(1, (Date.parse(status.now) - from) / 1000);
    const rate = (n) => n / secs;
    const t = stats1m.total;
    const perEndpoint = new Map();
    for (const c of stats1m.clusters || []) {
      for (const e of c.endpoints || []) perEndpoint.set(c.cluster + "/" + e.endpoint, rate(e.summary.requests));
    }
    return {
      requests: rate(t.requests),
      errors: rate(errorsOf(t)),
      tokens: [t.tokens.input, t.tokens.output, t.tokens.cache_read, t.tokens.cache_creation].map(rate),
      perEndpoint,
    };
  }

  function renderHeader(status) {
    $("version").textContent = status.version;
    $("uptime").textContent = status.uptime;
    $("config").textContent = status.config.source;
    const r = status.config.last_reload;
    $("reload").textContent = !r ? "none yet" : (r.ok ? "ok" : "FAILED: " + r.error) + (r.trigger ? " (" + r.trigger + ")" : "");
    const problems = status.problems || [];
    $("problems").hidden = problems.length === 0;
    $("problem-list").replaceChildren(...problems.map((p) => Object.assign(document.createElement("li"), { textContent: p })));
  }

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function renderEndpoints(endpoints, rates) {
    const rows = endpoints.map((e) => {
      const key = e.cluster + "/" + e.name;
      const tr = document.createElement("tr");
      const state = e.draining ? "draining" : e.state;
      tr.dataset.endpoint = key;
      tr.dataset.state = state;

      const badge = document.createElement("span");
      badge.className = "state " + state;
      badge.textContent = state;
      const stateTd = document.createElement("td");
      stateTd.append(badge);

      const weight = document.createElement("span");
      weight.className = "weight";
      const bar = document.createElement("span");
      bar.className = "bar";
      const fill = document.createElement("span");
      fill.style.width = (e.weight > 0 ? Math.min(100, (100 * e.effective_weight) / e.weight) : 0) + "%";
      bar.append(fill);
      weight.append(bar, document.createTextNode(e.effective_weight + " / " + e.weight));
      const weightTd = document.createElement("td");
      weightTd.className = "num";
      weightTd.append(weight);

      const rate = rates.get(key);
      tr.append(
        cell(e.cluster),
        cell(e.name),
        stateTd,
        weightTd,
        cell(String(e.inflight), "num"),
        cell(rate === undefined ? "–" : fmtRate(rate), "num"),
        cell(goDuration(e.ttfb_ewma) > 0 ? fmtMs(goDuration(e.ttfb_ewma)) : "–", "num"),
        cell(e.reason || "", "reason"),
      );
      return tr;
    });
    document.querySelector("#endpoints tbody").replaceChildren(...rows);
  }

  // record adds this poll's numbers to the time series and returns the
  // per-endpoint request rates for the table.
  function record(t, status, endpoints, stats1m, statsTotal) {
    for (const e of endpoints) {
      const key = e.cluster + "/" + e.name;
      if (!history.weight.has(key)) history.weight.set(key, []);
      push(history.weight.get(key), t, e.effective_weight);
    }
    if (!stats1m) return new Map();
    push(history.ttfb.p50, t, goDuration(stats1m.total.ttfb.p50));
    push(history.ttfb.p95, t, goDuration(stats1m.total.ttfb.p95));
    const r = perSecond(status, stats1m, statsTotal);
    push(history.rate.requests, t, r.requests);
    push(history.rate.errors, t, r.errors);
    const names = Object.keys(history.tokens);
    r.tokens.forEach((n, i) => push(history.tokens[names[i]], t, n));
    return r.perEndpoint;
  }

  function renderTiles(endpoints, stats1m, statsTotal) {
    const last = (pts) => (pts.length ? pts[pts.length - 1][1] : null);
    const rps = last(history.rate.requests), eps = last(history.rate.errors);
    $("t-rps").textContent = rps === null ? "–" : fmtRate(rps);
    $("t-eps").textContent = eps === null ? "–" : fmtRate(eps);
    $("t-ttfb").textContent = stats1m ? fmtMs(goDuration(stats1m.total.ttfb.p50)) + " · " + fmtMs(goDuration(stats1m.total.ttfb.p95)) : "–";
    $("t-inflight").textContent = String(endpoints.reduce((n, e) => n + e.inflight, 0));
    const tk = statsTotal && statsTotal.total.tokens;
    $("t-tokens").textContent = tk ? [tk.input, tk.output, tk.cache_read, tk.cache_creation].map(fmtCount).join(" · ") : "–";
    const note = $("stats-note");
    note.hidden = !!statsTotal;
    note.textContent = statsTotal ? "" : "This qccd does not collect stats: the request, latency and token charts stay empty.";
  }

  function series(obj) {
    return Object.entries(obj).map(([name, points]) => ({ name, points }));
  }

  function renderCharts() {
    const noStats = "no stats collected";
    Chart.draw($("chart-rate"), [
      { name: "requests", points: history.rate.requests, color: "#4d79c7" },
      { name: "errors", points: history.rate.errors, color: "#c62f2f" },
    ], { format: fmtRate, empty: noStats });
    Chart.draw($("chart-ttfb"), [
      { name: "p50", points: history.ttfb.p50, color: "#1a8f4c" },
      { name: "p95", points: history.ttfb.p95, color: "#c07a00" },
    ], { format: fmtMs, empty: noStats });
    Chart.draw($("chart-tokens"), series(history.tokens), { format: fmtCount, empty: noStats });
    Chart.draw($("chart-weight"), [...history.weight].map(([name, points]) => ({ name, points })));
  }

  async function poll() {
    try {
      const [status, endpoints, stats1m, statsTotal] = await Promise.all([
        get("v1/status"),
        get("v1/endpoints"),
        get("v1/stats?window=1m", true),
        get("v1/stats?window=total", true),
      ]);
      const t = Date.now();
      const rates = record(t, status, endpoints, stats1m, statsTotal);
      renderHeader(status);
      renderEndpoints(endpoints, rates);
      renderTiles(endpoints, stats1m, statsTotal);
      renderCharts();
      polls++;
      document.body.dataset.polls = String(polls);
      $("live").className = "live";
      $("live").textContent = "live · updated " + new Date(t).toLocaleTimeString();
    } catch (err) {
      $("live").className = "live error";
      $("live").textContent = "cannot reach qccd: " + err.message;
    } finally {
      setTimeout(poll, every);
    }
  }

  window.addEventListener("resize", renderCharts);
  poll();
})();
