// chart.js draws time-series line charts on a <canvas>: enough for the
// dashboard, with no dependency. It writes how many points it drew into the
// canvas's data-points attribute, which the headless-browser test reads.
"use strict";

const Chart = (() => {
  const palette = ["#4d79c7", "#c62f2f", "#1a8f4c", "#c07a00", "#8a4dc7", "#2aa1b3", "#b34d8a", "#6b7385"];

  // niceStep returns a round step (1, 2 or 5 times a power of ten) that
  // splits range into about n intervals.
  function niceStep(range, n) {
    const raw = range / n;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
  }

  function two(n) { return String(n).padStart(2, "0"); }

  function clock(ms) {
    const d = new Date(ms);
    return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
  }

  // draw renders series ([{name, points: [[timeMs, value], ...]}]) on
  // canvas. format turns a y value into an axis label; empty is the
  // message shown when there is nothing to draw.
  function draw(canvas, series, { format = (v) => String(v), empty = "waiting for data…" } = {}) {
    const dpr = window.devicePixelRatio || 1;
    const cssW = canvas.clientWidth || canvas.width;
    const cssH = canvas.clientHeight || canvas.height;
    if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
      canvas.width = Math.round(cssW * dpr);
      canvas.height = Math.round(cssH * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    ctx.font = "11px system-ui, sans-serif";

    let total = 0;
    let t0 = Infinity, t1 = -Infinity, vmax = 0;
    for (const s of series) {
      for (const [t, v] of s.points) {
        total++;
        t0 = Math.min(t0, t);
        t1 = Math.max(t1, t);
        vmax = Math.max(vmax, v);
      }
    }
    canvas.dataset.points = String(total);
    canvas.dataset.series = String(series.length);

    if (total === 0) {
      ctx.fillStyle = "#6b7385";
      ctx.textAlign = "center";
      ctx.fillText(empty, cssW / 2, cssH / 2);
      return;
    }
    if (t1 - t0 < 10000) t0 = t1 - 10000; // show at least ten seconds
    if (vmax <= 0) vmax = 1;

    const left = 56, right = 10, top = 22, bottom = 22;
    const w = cssW - left - right, h = cssH - top - bottom;
    const step = niceStep(vmax, 4);
    const ymax = Math.ceil(vmax / step) * step;
    const x = (t) => left + ((t - t0) / (t1 - t0)) * w;
    const y = (v) => top + h - (v / ymax) * h;

    // Grid and y labels.
    ctx.strokeStyle = "#e2e5eb";
    ctx.fillStyle = "#6b7385";
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let v = 0; v <= ymax + step / 2; v += step) {
      const yy = Math.round(y(v)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(left, yy);
      ctx.lineTo(left + w, yy);
      ctx.stroke();
      ctx.fillText(format(v), left - 6, yy);
    }
    // Time labels: start, middle, end.
    ctx.textBaseline = "top";
    ctx.textAlign = "left";
    ctx.fillText(clock(t0), left, top + h + 6);
    ctx.textAlign = "center";
    ctx.fillText(clock((t0 + t1) / 2), left + w / 2, top + h + 6);
    ctx.textAlign = "right";
    ctx.fillText(clock(t1), left + w, top + h + 6);

    // Lines, then a legend along the top.
    series.forEach((s, i) => {
      const color = s.color || palette[i % palette.length];
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.lineWidth = 1.8;
      ctx.beginPath();
      s.points.forEach(([t, v], j) => (j === 0 ? ctx.moveTo(x(t), y(v)) : ctx.lineTo(x(t), y(v))));
      ctx.stroke();
      if (s.points.length === 1) {
        const [t, v] = s.points[0];
        ctx.beginPath();
        ctx.arc(x(t), y(v), 2.5, 0, 2 * Math.PI);
        ctx.fill();
      }
    });
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    let lx = left;
    series.forEach((s, i) => {
      const color = s.color || palette[i % palette.length];
      ctx.fillStyle = color;
      ctx.fillRect(lx, 7, 10, 3);
      ctx.fillStyle = "#1d2330";
      ctx.fillText(s.name, lx + 14, 9);
      lx += 24 + ctx.measureText(s.name).width;
    });
  }

  return { draw, palette };
})();
