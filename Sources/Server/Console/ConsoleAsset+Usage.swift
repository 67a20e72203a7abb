extension ConsoleAsset {
    /// `/console/usage.js`: the usage page and its SVG chart (a key, or an owner summed over its keys).
    static let usageJS = ##"""
        // KeyLedger console: usage of a key, or of an owner summed over its keys, drawn as SVG
        // by this file (bars: requests and errors per bucket; lines: p50 and p99 latency).
        "use strict";
        (function () {
          const { h, add, fill, caps } = KL;
          const SVG = "http://www.w3.org/2000/svg";
          const step = { minute: 60e3, hour: 3600e3, day: 86400e3 };
          const ranges = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3 };

          function s(tag, attrs, ...children) {
            const el = document.createElementNS(SVG, tag);
            for (const [name, value] of Object.entries(attrs || {})) el.setAttribute(name, String(value));
            for (const child of children.flat()) if (child !== null && child !== undefined) el.append(child instanceof Node ? child : String(child));
            return el;
          }

          /// The smallest of 1, 2, 5 times a power of ten at or above `max` (1 when nothing).
          function nice(max) {
            if (!(max > 0)) return 1;
            const power = Math.pow(10, Math.floor(Math.log10(max)));
            return [1, 2, 5, 10].map((m) => m * power).find((v) => v >= max);
          }

          function label(iso, granularity) {
            const t = iso.replace(/\.\d+Z$/, "Z");
            return granularity === "day" ? t.slice(0, 10) : t.slice(5, 16).replace("T", " ");
          }

          /// The chart: one requests bar and one errors bar per bucket, latency lines broken
          /// where a bucket had no request (no latency to show).
          KL.usageChart = (report, width) => {
            // Drawn at the width it is shown at, so that its text stays legible on a phone.
            const W = Math.max(280, Math.round(width || 800)), H = W < 500 ? 220 : 300;
            const left = 44, right = 52, top = 14, bottom = 30;
            const plotW = W - left - right, plotH = H - top - bottom;
            const buckets = report.buckets;
            const n = Math.max(buckets.length, 1);
            const band = plotW / n;
            const barW = Math.max(band * 0.78, 0.5);
            const maxReq = nice(Math.max(0, ...buckets.map((b) => b.requests)));
            const maxLat = nice(Math.max(0, ...buckets.map((b) => (b.latency ? b.latency.p99 : 0))));
            const y = (v) => top + plotH - (v / maxReq) * plotH;
            const yl = (v) => top + plotH - (v / maxLat) * plotH;
            const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", id: "usage-chart",
              "aria-label": `Requests, errors and latency in ${buckets.length} ${report.granularity} buckets` });
            for (const f of [0, 0.5, 1]) {
              const gy = top + plotH - f * plotH;
              svg.append(s("line", { class: "grid", x1: left, x2: W - right, y1: gy, y2: gy }),
                s("text", { x: left - 6, y: gy + 4, "text-anchor": "end" }, String(+(maxReq * f).toPrecision(3))),
                s("text", { x: W - right + 6, y: gy + 4 }, +(maxLat * f).toPrecision(3) + " ms"));
            }
            svg.append(s("line", { class: "axis", x1: left, x2: W - right, y1: top + plotH, y2: top + plotH }));
            const bars = s("g", { class: "bars" });
            buckets.forEach((b, i) => {
              const x = left + i * band + (band - barW) / 2;
              const p = b.latency || { p50: 0, p99: 0 };
              const tip = `${label(b.start, report.granularity)}: ${b.requests} requests, ${b.errors} errors, p50 ${p.p50} ms, p99 ${p.p99} ms`;
              bars.append(
                s("rect", { class: "bar-requests", x: x.toFixed(2), y: y(b.requests).toFixed(2), width: barW.toFixed(2), height: (top + plotH - y(b.requests)).toFixed(2), "data-start": b.start }, s("title", null, tip)),
                s("rect", { class: "bar-errors", x: x.toFixed(2), y: y(b.errors).toFixed(2), width: barW.toFixed(2), height: (top + plotH - y(b.errors)).toFixed(2) }, s("title", null, tip)));
            });
            svg.append(bars);
            for (const which of ["p50", "p99"]) {
              let d = "", pen = "M";
              const dots = s("g", { class: "dots-" + which });
              buckets.forEach((b, i) => {
                if (!b.requests || !b.latency) { pen = "M"; return; }
                const x = (left + (i + 0.5) * band).toFixed(2), yv = yl(b.latency[which]).toFixed(2);
                d += `${pen}${x} ${yv} `;
                pen = "L";
                if (band >= 4) dots.append(s("circle", { cx: x, cy: yv, r: 2.5 }));
              });
              svg.append(s("path", { class: "line-" + which, d: d.trim() || "M0 0" }), dots);
            }
            const marks = buckets.length > 2 && W >= 500 ? [0, Math.floor(buckets.length / 2), buckets.length - 1]
              : buckets.length > 1 ? [0, buckets.length - 1] : buckets.map((_, i) => i);
            for (const i of marks) {
              svg.append(s("text", { x: left + (i + 0.5) * band, y: H - 10, "text-anchor": i === 0 ? "start" : i === buckets.length - 1 ? "end" : "middle" }, label(buckets[i].start, report.granularity)));
            }
            return svg;
          };

          const legend = () => h("ul", { class: "legend" },
            h("li", null, h("span", { class: "requests" }), "requests"),
            h("li", null, h("span", { class: "errors" }), "errors (code not VALID)"),
            h("li", null, h("span", { class: "p50" }), "p50 latency (right axis)"),
            h("li", null, h("span", { class: "p99" }), "p99 latency (dashed)"));

          function totals(t) {
            const l = t.latency || {};
            return h("div", { class: "totals", id: "usage-totals" },
              [["Requests", t.requests], ["Errors", t.errors], ["p50", l.p50 + " ms"], ["p95", l.p95 + " ms"], ["p99", l.p99 + " ms"], ["max", l.max + " ms"]]
                .map(([name, value]) => h("div", null, h("b", null, String(value)), name)));
          }

          function dataTable(report) {
            return h("details", null, h("summary", null, "Data table"),
              KL.table([
                ["Bucket", (b) => KL.time(b.start)],
                ["Requests", (b) => String(b.requests)],
                ["Errors", (b) => String(b.errors)],
                ["p50 ms", (b) => String(b.latency ? b.latency.p50 : "")],
                ["p99 ms", (b) => String(b.latency ? b.latency.p99 : "")],
              ], report.buckets));
          }

          /// All keys of `owner`, following nextCursor.
          async function ownerKeys(owner) {
            const keys = [];
            let cursor;
            do {
              const page = await KL.api("GET", "/v1/keys", { query: { owner, limit: 1000, cursor } });
              if (!page.ok) return page;
              keys.push(...page.data);
              cursor = page.nextCursor;
            } while (cursor);
            return { ok: true, keys };
          }

          /// The owner's usage: requests and errors summed over its keys; p50 the mean of the keys'
          /// p50 weighted by their requests and p99 the highest key's p99 (percentiles do not add).
          async function ownerUsage(owner, query, progress) {
            const listed = await ownerKeys(owner);
            if (!listed.ok) return { result: listed, context: "Summing an owner's usage lists its keys, which needs ledger:keys." };
            const reports = [];
            const queue = listed.keys.slice();
            let failed = null;
            const worker = async () => {
              while (queue.length && !failed) {
                const key = queue.shift();
                const r = await KL.api("GET", "/v1/keys/" + key.id + "/usage", { query });
                if (r.ok) reports.push(r.data);
                else failed = r;
                progress(`Read the usage of ${reports.length} of ${listed.keys.length} keys…`);
              }
            };
            await Promise.all([worker(), worker(), worker(), worker()]);
            if (failed) return { result: failed };
            if (!reports.length) return { result: { ok: true, data: null }, keyCount: 0 };
            const merge = (items) => {
              const requests = items.reduce((a, m) => a + m.requests, 0);
              const weighted = (p) => (requests ? items.reduce((a, m) => a + m.latency[p] * m.requests, 0) / requests : 0);
              const top = (p) => Math.max(0, ...items.map((m) => m.latency[p]));
              return { requests, errors: items.reduce((a, m) => a + m.errors, 0),
                latency: { p50: +weighted("p50").toFixed(3), p95: top("p95"), p99: top("p99"), max: top("max") } };
            };
            const first = reports[0];
            const data = Object.assign({}, first, { keyId: null, owner,
              totals: merge(reports.map((r) => r.totals)),
              buckets: first.buckets.map((b, i) => Object.assign({ start: b.start }, merge(reports.map((r) => r.buckets[i])))) });
            return { result: { ok: true, data }, keyCount: reports.length };
          }

          const utcInput = (name, iso) => KL.input(name, iso ? iso.slice(0, 16) : "", { type: "datetime-local" });
          const fromInput = (value) => (value ? value + (value.length === 16 ? ":00Z" : "Z") : "");

          KL.views.usage = async (view, params) => {
            const granularity = params.get("granularity") || "hour";
            const range = params.get("range") || "24h";
            const g = step[granularity] || step.hour;
            let end = new Date(Math.ceil(Date.now() / g) * g);
            let start = new Date(end.getTime() - (ranges[range] || ranges["24h"]));
            if (range === "custom" && params.get("start") && params.get("end")) {
              start = new Date(params.get("start"));
              end = new Date(params.get("end"));
            }
            const form = h("form", { class: "card filters", id: "usage-form", "aria-label": "Usage of" },
              KL.field("Key id", KL.input("key", params.get("key"), { placeholder: "key_…" })),
              KL.field("or owner (summed)", KL.input("owner", params.get("owner"), { placeholder: "org_42" })),
              KL.field("Range", KL.select("range", range, [["1h", "last hour"], ["24h", "last 24 hours"], ["7d", "last 7 days"], ["30d", "last 30 days"], ["custom", "from - to (UTC)"]])),
              KL.field("From (UTC)", utcInput("start", params.get("start"))),
              KL.field("To (UTC)", utcInput("end", params.get("end"))),
              KL.field("Granularity", KL.select("granularity", granularity, [["minute", "minute"], ["hour", "hour"], ["day", "day"]])),
              h("div", { class: "actions" }, h("button", { type: "submit" }, "Show")));
            form.addEventListener("submit", (event) => {
              event.preventDefault();
              const d = new FormData(form);
              const custom = d.get("start") && d.get("end");
              KL.go("usage", { key: d.get("key").trim(), owner: d.get("key").trim() ? "" : d.get("owner").trim(),
                range: custom ? "custom" : d.get("range"), start: custom ? fromInput(d.get("start")) : "", end: custom ? fromInput(d.get("end")) : "",
                granularity: d.get("granularity") });
            });
            const out = h("div", { id: "usage-result", "aria-live": "polite" });
            add(view, h("h1", null, "Usage"), form, out);
            const key = params.get("key"), owner = params.get("owner");
            if (!key && !owner) return add(out, h("p", { class: "muted" }, "Choose a key, or an owner to sum the usage of all its keys."));
            if (caps.audit === false) return add(out, h("p", { class: "forbidden" }, "Usage needs the ledger:audit scope, which this credential lacks."));
            const query = { start: start.toISOString(), end: end.toISOString(), granularity };
            add(out, h("p", { class: "muted" }, "Loading…"));
            const loaded = key
              ? { result: await KL.api("GET", "/v1/keys/" + encodeURIComponent(key) + "/usage", { query }) }
              : await ownerUsage(owner, query, (text) => fill(out, h("p", { class: "muted" }, text)));
            const { result } = loaded;
            if (!result.ok) {
              KL.forbidden(result, loaded.context ? "keys" : "audit");
              return fill(out, KL.problem(result, loaded.context || "This credential may not read this key's usage."));
            }
            if (!result.data) return fill(out, h("p", { class: "muted" }, `Owner ${owner} has no keys.`));
            const report = result.data;
            fill(out, h("section", { class: "card" },
              h("h2", null, key ? h("a", { href: "#/keys/" + key }, key) : `Owner ${owner}`, " · ", KL.time(report.start), " to ", KL.time(report.end), ` · per ${report.granularity}`),
              owner && !key ? h("p", { class: "hint", id: "summed-note" }, `Summed in this page over the owner's ${loaded.keyCount} keys: requests and errors add up; p50 is the keys' p50 weighted by their requests and p99 the highest key's p99, an approximation (percentiles do not add).`) : null,
              totals(report.totals), legend(), KL.usageChart(report, out.clientWidth - 34), dataTable(report)));
          };
        })();
        """##
}
