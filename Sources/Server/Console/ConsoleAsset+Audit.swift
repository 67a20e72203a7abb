extension ConsoleAsset {
    /// `/console/audit.js`: the audit search, an event's detail and the key's state then, and the
    /// ledger page (signed checkpoint, chain verification).
    static let auditJS = ##"""
        // KeyLedger console: the audit trail (search, an event's detail, the key's state at that
        // event) and the ledger page (signed checkpoint, chain verification).
        "use strict";
        (function () {
          const { h, add, fill, caps } = KL;
          const types = ["key.created", "key.updated", "key.rotated", "key.suspended", "key.reactivated", "key.revoked",
            "key.expired", "key.credits_added", "key.accessed", "ledger.request", "auth.failed"];
          const fromInput = (value) => (value ? value + (value.length === 16 ? ":00Z" : "Z") : "");
          const utcInput = (name, iso) => KL.input(name, iso ? iso.slice(0, 16) : "", { type: "datetime-local" });

          KL.views.audit = async (view, params) => {
            const form = h("form", { class: "card filters", id: "audit-form", "aria-label": "Search the audit trail" },
              KL.field("Owner", KL.input("owner", params.get("owner"), { placeholder: "org_42" })),
              KL.field("Key id", KL.input("keyId", params.get("keyId"), { placeholder: "key_…" })),
              KL.field("Type", KL.select("eventTypes", params.get("eventTypes"), [["", "any"]].concat(types.map((t) => [t, t])))),
              KL.field("Actor id", KL.input("actor", params.get("actor"), { placeholder: "root, key_…, uid:0" })),
              KL.field("IP address", KL.input("ip", params.get("ip"), { placeholder: "203.0.113.7" })),
              KL.field("Route", KL.input("route", params.get("route"), { placeholder: "/v1/audit" })),
              KL.field("From (UTC)", utcInput("start", params.get("start"))),
              KL.field("To (UTC)", utcInput("end", params.get("end"))),
              KL.field("Per page", KL.select("limit", params.get("limit") || "50", [["25", "25"], ["50", "50"], ["100", "100"], ["500", "500"]])),
              h("div", { class: "actions" }, h("button", { type: "submit" }, "Search")));
            form.addEventListener("submit", (event) => {
              event.preventDefault();
              const d = new FormData(form);
              KL.go("audit", { owner: d.get("owner").trim(), keyId: d.get("keyId").trim(), eventTypes: d.get("eventTypes"), actor: d.get("actor").trim(),
                ip: d.get("ip").trim(), route: d.get("route").trim(), start: fromInput(d.get("start")), end: fromInput(d.get("end")), limit: d.get("limit") });
            });
            const results = h("div", { id: "audit-results", "aria-live": "polite" }, h("p", { class: "muted" }, "Loading…"));
            const detail = h("div", { id: "event-detail" });
            add(view, h("h1", null, "Audit trail"), form, results, detail);
            if (caps.audit === false) return fill(results, h("p", { class: "forbidden" }, "The audit trail needs the ledger:audit scope, which this credential lacks."));
            const query = {};
            for (const name of ["owner", "keyId", "eventTypes", "actor", "ip", "route", "start", "end", "cursor"]) query[name] = params.get(name);
            query.limit = params.get("limit") || "50";
            const result = await KL.api("GET", "/v1/audit", { query });
            if (!result.ok) {
              KL.forbidden(result, "audit");
              return fill(results, KL.problem(result, "This credential may not read this part of the audit trail."));
            }
            const events = result.data;
            let selected = null;
            const table = KL.table([
              ["Seq", (e) => h("button", { type: "button", class: "link event-open", "aria-label": `Event ${e.seq}: ${e.type}`, onclick: () => select(e) }, "#" + e.seq)],
              ["Time", (e) => KL.time(e.time)],
              ["Type", (e) => h("span", { class: "event-type" }, e.type)],
              ["Key", (e) => (e.keyId ? h("a", { href: "#/keys/" + e.keyId, class: "mono" }, e.keyId) : "")],
              ["Owner", (e) => e.owner || ""],
              ["Actor", (e) => (e.actor ? e.actor.type + (e.actor.id ? ": " + e.actor.id : "") : "")],
              ["IP", (e) => e.ip || ""],
            ], events, (e) => ({ "data-seq": e.seq }));
            fill(results,
              h("p", { class: "hint" }, events.length ? `Newest first: ${events.length} events on this page.` : "No events match."),
              events.length ? table : null, KL.pager(params, result.nextCursor, "audit"));

            function select(event) {
              selected = event;
              for (const row of table.querySelectorAll("tr[data-seq]")) row.classList.toggle("selected", row.dataset.seq === String(event.seq));
              const state = h("div", { id: "state-at" });
              const stateButton = event.keyId
                ? h("button", { type: "button", id: "state-button", onclick: () => stateAt(event, state) }, `Key's state at #${event.seq}`)
                : null;
              fill(detail, h("section", { class: "card", "aria-labelledby": "event-title" },
                h("h2", { id: "event-title", tabindex: "-1" }, `Event #${event.seq} · ${event.type}`),
                KL.fields([
                  ["Id", h("span", { class: "mono" }, event.id)],
                  ["Time", KL.time(event.time)],
                  ["Key", event.keyId ? h("a", { href: "#/keys/" + event.keyId, class: "mono" }, event.keyId) : "none"],
                  ["Owner", event.owner || "none"],
                  ["Actor", event.actor ? event.actor.type + (event.actor.id ? ": " + event.actor.id : "") : ""],
                  ["IP", event.ip || "none"],
                  ["Request id", h("span", { class: "mono" }, event.requestId || "")],
                  ["Hash", h("span", { class: "mono" }, event.hash)],
                  ["Previous hash", h("span", { class: "mono" }, event.prevHash)],
                ]),
                h("h3", null, "Data"), h("pre", { id: "event-data" }, JSON.stringify(event.data, null, 2)),
                h("div", { class: "actions" }, stateButton, h("button", { type: "button", class: "secondary", onclick: () => {
                  fill(detail);
                  table.querySelector(`tr[data-seq="${selected.seq}"] button`)?.focus();
                } }, "Close")), state));
              document.getElementById("event-title").focus();
            }
          };

          /// The key as it was just after `event` (time travel through GET /v1/keys/{id}/state).
          async function stateAt(event, into) {
            fill(into, h("p", { class: "muted" }, "Loading…"));
            const result = await KL.api("GET", "/v1/keys/" + encodeURIComponent(event.keyId) + "/state", { query: { at: String(event.seq) } });
            if (!result.ok) return fill(into, KL.problem(result, "This credential may not read this key's history."));
            const k = result.data;
            fill(into, h("h3", null, `${k.name || k.id} as of event #${event.seq}`), KL.fields([
              ["Status", KL.badge(k.status)],
              ["Version", String(k.version), { "data-field": "version" }],
              ["Name", k.name],
              ["Scopes", KL.chips(k.scopes, "none")],
              ["Expires", KL.time(k.expiresAt)],
              ["Credits", k.credits === null ? "unlimited" : String(k.credits)],
              ["Rotated", KL.time(k.rotatedAt)],
            ]));
          }

          // --- ledger ----------------------------------------------------------------------------------
          KL.views.ledger = async (view) => {
            const checkpoint = h("section", { class: "card", id: "checkpoint", "aria-labelledby": "checkpoint-title" },
              h("h2", { id: "checkpoint-title" }, "Signed checkpoint"), h("p", { class: "muted" }, "Loading…"));
            const chain = h("section", { class: "card", id: "chain", "aria-labelledby": "chain-title" }, h("h2", { id: "chain-title" }, "Hash chain"));
            add(view, h("h1", null, "Ledger"), checkpoint, chain);

            if (caps.root) {
              const out = h("div", { id: "chain-result", "aria-live": "polite" });
              const button = h("button", { type: "button", id: "verify-button", onclick: async () => {
                button.disabled = true;
                fill(out, h("p", { class: "muted" }, "Checking every event's hash…"));
                const r = await KL.api("GET", "/v1/ledger/verify");
                button.disabled = false;
                if (!r.ok) return fill(out, KL.problem(r));
                const d = r.data;
                fill(out, d.ok
                  ? KL.fields([["Result", h("span", { class: "badge ok" }, "intact")], ["Events", String(d.events)], ["Head", h("span", { class: "mono" }, d.head)]])
                  : KL.fields([["Result", h("span", { class: "badge bad" }, "broken")], ["First bad seq", String(d.firstBadSeq)], ["Reason", d.reason || ""], ["Events", String(d.events)]]));
              } }, "Verify the chain now");
              add(chain, h("p", null, "Recomputes every event's hash from the first one; on a large ledger this takes a while."), h("div", { class: "actions" }, button), out);
            } else {
              add(chain, h("p", { class: "forbidden" }, "Only the root token may verify the whole chain; this credential cannot."));
            }

            const r = await KL.api("GET", "/v1/ledger/checkpoint");
            if (r.status === 404 || r.status === 405) {
              return fill(checkpoint, checkpoint.firstChild, h("p", { class: "muted", id: "checkpoint-missing" }, "Not available: this server does not sign checkpoints (yet)."));
            }
            if (!r.ok) return fill(checkpoint, checkpoint.firstChild, KL.problem(r, "This credential may not read checkpoints."));
            const note = r.text || "";
            const [body] = note.split("\n\n");
            const [origin, size, root] = body.split("\n");
            const signatures = note.split("\n").filter((line) => line.startsWith("\u2014 "));
            fill(checkpoint, checkpoint.firstChild, KL.fields([
              ["Origin", h("span", { class: "mono" }, origin || "")],
              ["Tree size", h("span", { id: "checkpoint-size" }, size || "")],
              ["Root hash", h("span", { class: "mono" }, root || "")],
              ["Signatures", KL.chips(signatures.map((l) => l.slice(2).split(" ")[0]), "none")],
            ]), h("h3", null, "Note"), h("pre", { id: "checkpoint-note" }, note));
          };
        })();
        """##
}
