extension ConsoleAsset {
    /// `/console/keys.js`: the keys list with its filters, and a key's page with its actions (each
    /// confirmed in a dialog) and the new secret of a rotation, shown once.
    static let keysJS = ##"""
        // KeyLedger console: the keys pages (the list with its filters, one key with its actions
        // and the new secret shown once).
        "use strict";
        (function () {
          const { h, add, fill, caps } = KL;

          // --- keys --------------------------------------------------------------------------------
          const expiring = { "1d": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };

          KL.views.keys = async (view, params) => {
            add(view, h("h1", null, "Keys"));
            if (caps.keys === false) {
              add(view, h("p", { class: "forbidden" }, "This credential has no ledger:keys scope, so it cannot list keys. ",
                "A key's page still shows its state from the history (ledger:audit): open it by id."), openByID());
              return;
            }
            const form = h("form", { class: "card filters", id: "key-filters", "aria-label": "Filter keys" },
              KL.field("Owner", KL.input("owner", params.get("owner"), { placeholder: "org_42" })),
              KL.field("Status", KL.select("status", params.get("status"), [["", "any"], ["active", "active"], ["suspended", "suspended"], ["revoked", "revoked"], ["expired", "expired"]])),
              KL.field("Expiring", KL.select("expiring", params.get("expiring"), [["", "any time"], ["1d", "within a day"], ["7d", "within 7 days"], ["30d", "within 30 days"]])),
              KL.field("Per page", KL.select("limit", params.get("limit") || "50", [["25", "25"], ["50", "50"], ["100", "100"], ["500", "500"]])),
              h("div", { class: "actions" }, h("button", { type: "submit" }, "Apply")));
            form.addEventListener("submit", (event) => {
              event.preventDefault();
              const data = new FormData(form);
              KL.go("keys", { owner: data.get("owner").trim(), status: data.get("status"), expiring: data.get("expiring"), limit: data.get("limit") });
            });
            const results = h("div", { id: "key-results", "aria-live": "polite" }, h("p", { class: "muted" }, "Loading…"));
            add(view, form, results, openByID());

            const query = { owner: params.get("owner"), status: params.get("status"), limit: params.get("limit") || "50", cursor: params.get("cursor") };
            const lead = expiring[params.get("expiring")];
            const before = lead ? new Date(Date.now() + lead * 1000) : null;
            let filteredHere = false;
            if (before && !KL.unsupported.has("expiresBefore")) query.expiresBefore = before.toISOString();
            let result = await KL.api("GET", "/v1/keys", { query });
            if (before && KL.refusedParameter(result, "expiresBefore")) {
              KL.unsupported.add("expiresBefore");
              delete query.expiresBefore;
              result = await KL.api("GET", "/v1/keys", { query });
            }
            if (before && !query.expiresBefore) filteredHere = true;
            if (!result.ok) {
              KL.forbidden(result, "keys");
              return fill(results, KL.problem(result, "This credential may not list keys."));
            }
            let keys = result.data;
            if (filteredHere) {
              const now = Date.now();
              keys = keys.filter((k) => k.expiresAt && Date.parse(k.expiresAt) > now && Date.parse(k.expiresAt) < before.getTime());
            }
            fill(results,
              filteredHere ? h("p", { class: "hint" }, "Expiry filter applied in the page to the keys the server listed (this server does not filter by expiry): a page may show fewer keys, and the next page may hold more.") : null,
              keys.length
                ? KL.table([
                    ["Name", (k) => h("a", { href: "#/keys/" + k.id, class: "key-link" }, k.name || k.id)],
                    ["Id", (k) => h("span", { class: "mono" }, k.id)],
                    ["Owner", (k) => k.owner],
                    ["Status", (k) => KL.badge(k.status)],
                    ["Scopes", (k) => KL.chips(k.scopes, "none")],
                    ["Expires", (k) => KL.time(k.expiresAt)],
                    ["Version", (k) => String(k.version)],
                  ], keys, (k) => ({ "data-key-id": k.id }))
                : h("p", { class: "muted" }, "No keys match."),
              KL.pager(params, result.nextCursor, "keys"));
          };

          function openByID() {
            const input = KL.input("key-id", "", { placeholder: "key_…" });
            const form = h("form", { class: "card filters", "aria-label": "Open a key" },
              KL.field("Open a key by id", input),
              h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, "Open")));
            form.addEventListener("submit", (event) => {
              event.preventDefault();
              if (input.value.trim()) KL.go("keys/" + encodeURIComponent(input.value.trim()));
            });
            return form;
          }

          // --- one key ----------------------------------------------------------------------------
          /// The key as the credential may read it: the key itself (ledger:keys), else its state
          /// now from its history (ledger:audit).
          async function loadKey(id) {
            if (caps.keys !== false) {
              const result = await KL.api("GET", "/v1/keys/" + encodeURIComponent(id));
              if (result.status !== 403) return { result };
              KL.forbidden(result, "keys");
            }
            const result = await KL.api("GET", "/v1/keys/" + encodeURIComponent(id) + "/state", { query: { at: new Date().toISOString() } });
            return { result, fromHistory: true };
          }

          KL.views.key = async (view, params, id) => {
            add(view, h("p", { class: "muted" }, "Loading…"));
            const { result, fromHistory } = await loadKey(id);
            if (!result.ok) {
              KL.forbidden(result, "audit");
              return fill(view, h("h1", null, "Key " + id), KL.problem(result, "This credential may not read this key."));
            }
            let key = result.data;
            let secret = null;
            const header = h("div", { class: "title-row" });
            const actions = h("div", { class: "actions", id: "key-actions", "aria-label": "Actions" });
            const status = h("div", { id: "action-status", "aria-live": "polite" });
            const details = h("div", { class: "card", id: "key-details" });
            const secretBox = h("div", { id: "secret-box" });
            fill(view, header, fromHistory ? h("p", { class: "hint" }, "Shown from the key's history (ledger:audit). Changing it needs ledger:keys.") : null,
              actions, status, secretBox, details);
            KL.onLeave(() => {
              secret = null;
              fill(secretBox);
            });

            function render() {
              fill(header, h("h1", null, key.name || key.id), KL.badge(key.status), h("span", { class: "muted" }, "version ", h("span", { id: "key-version-badge" }, String(key.version))));
              fill(details, KL.fields([
                ["Id", h("span", { class: "mono" }, key.id)],
                ["Owner", key.owner],
                ["Environment", key.environment],
                ["Prefix", h("span", { class: "mono" }, key.prefix)],
                ["Status", KL.badge(key.status), { "data-field": "status" }],
                ["Version", String(key.version), { "data-field": "version", id: "key-version" }],
                ["Scopes", KL.chips(key.scopes, "none"), { "data-field": "scopes" }],
                ["Accounts", KL.chips(key.accounts, "every account")],
                ["IP allowlist", KL.chips(key.ipAllowlist, "any address")],
                ["Expires", KL.time(key.expiresAt)],
                ["Rate limits", KL.chips((key.rateLimits || []).map((l) => `${l.name ? l.name + ": " : ""}${l.limit} per ${l.windowSeconds} s`), "none")],
                ["Credits", key.credits === null || key.credits === undefined ? "unlimited" : String(key.credits), { "data-field": "credits" }],
                ["Metadata", KL.chips(Object.entries(key.metadata || {}).map(([k, v]) => k + " = " + v), "none")],
                ["Created", KL.time(key.createdAt)],
                ["Last used", KL.time(key.lastUsedAt)],
                ["Rotated", KL.time(key.rotatedAt)],
              ]));
              const links = [
                h("a", { href: "#/usage" + KL.query({ key: key.id }), class: "button-link" }, "Usage"),
                h("a", { href: "#/audit" + KL.query({ keyId: key.id }), class: "button-link" }, "Audit trail"),
              ];
              const buttons = [];
              if (caps.keys !== false && !fromHistory && key.status !== "revoked") {
                buttons.push(h("button", { type: "button", id: "rotate-button", onclick: rotate }, "Rotate…"));
                buttons.push(h("button", { type: "button", class: "secondary", id: "edit-button", onclick: edit }, "Edit…"));
                if (key.status === "active") buttons.push(h("button", { type: "button", class: "secondary", id: "suspend-button", onclick: suspend }, "Suspend…"));
                if (key.status === "suspended") buttons.push(h("button", { type: "button", class: "secondary", id: "reactivate-button", onclick: reactivate }, "Reactivate…"));
                buttons.push(h("button", { type: "button", class: "danger", id: "revoke-button", onclick: revoke }, "Revoke…"));
              }
              fill(actions, ...buttons, ...links);
            }

            /// Runs a key command; a success shows the key it answers with, a 403 hides the
            /// actions (the credential cannot change keys).
            async function command(method, path, body, headers, after) {
              const result = await KL.api(method, "/v1/keys/" + encodeURIComponent(key.id) + path, { body, headers });
              if (result.ok) {
                if (result.data && result.data.key) key = result.data.key;
                else if (result.data && result.data.id) key = result.data;
                if (after) after(result);
                render();
                fill(status, h("p", { class: "hint" }, "Done."));
              } else if (KL.forbidden(result, "keys")) {
                document.getElementById("dialog").close();
                render();
                fill(status, KL.problem(result, "This credential may not change keys: the actions are hidden."));
                return { ok: true };
              } else if (result.status === 409) {
                result.error.message += " Reload the page to see the key as it is now.";
              }
              return result;
            }

            function rotate() {
              const grace = KL.select("grace", "0", [["0", "None: the old secret stops at once"], ["3600", "1 hour"], ["86400", "1 day"], ["604800", "7 days (the longest)"]]);
              KL.confirm({
                title: "Rotate " + (key.name || key.id), confirmLabel: "Rotate",
                body: [h("p", null, "A new secret is made and shown once. Until the grace period ends the old secret keeps working."), KL.field("Grace period for the old secret", grace)],
                run: () => command("POST", "/rotate", { gracePeriodSeconds: Number(grace.value) }, null, (r) => showSecret(r.data.secret, r.data.previousSecretExpiresAt)),
              });
            }

            function edit() {
              const name = KL.input("name", key.name, { required: true });
              const scopes = KL.input("scopes", (key.scopes || []).join(" "), { "aria-describedby": "scopes-hint" });
              KL.confirm({
                title: "Edit " + (key.name || key.id), confirmLabel: "Save",
                body: [KL.field("Name", name), KL.field("Scopes", scopes), h("p", { class: "hint", id: "scopes-hint" }, "Separated by spaces or commas. The change is refused if the key changed since this page loaded.")],
                run: () => {
                  const changes = {};
                  const list = scopes.value.split(/[\s,]+/).filter(Boolean);
                  if (name.value.trim() !== key.name) changes.name = name.value.trim();
                  if (list.join(" ") !== (key.scopes || []).join(" ")) changes.scopes = list;
                  if (!Object.keys(changes).length) return Promise.resolve({ ok: true });
                  return command("PATCH", "", changes, { "If-Match": String(key.version) });
                },
              });
            }

            function reasonField() {
              return KL.input("reason", "", { maxlength: "500", placeholder: "optional, recorded in the audit trail" });
            }

            function suspend() {
              const reason = reasonField();
              KL.confirm({
                title: "Suspend " + (key.name || key.id), confirmLabel: "Suspend",
                body: [h("p", null, "Verifications of this key fail (SUSPENDED) until it is reactivated."), KL.field("Reason", reason)],
                run: () => command("POST", "/suspend", reason.value.trim() ? { reason: reason.value.trim() } : undefined),
              });
            }

            function reactivate() {
              KL.confirm({
                title: "Reactivate " + (key.name || key.id), confirmLabel: "Reactivate",
                body: h("p", null, "The key verifies again."),
                run: () => command("POST", "/reactivate"),
              });
            }

            function revoke() {
              const reason = reasonField();
              KL.confirm({
                title: "Revoke " + (key.name || key.id), confirmLabel: "Revoke for good", danger: true,
                body: [h("p", null, h("strong", null, "This is permanent. "), "Every secret of this key stops working and it cannot be reactivated."), KL.field("Reason", reason)],
                run: async () => {
                  const result = await command("DELETE", "", reason.value.trim() ? { reason: reason.value.trim() } : undefined);
                  if (result.ok && result.message) {
                    const reloaded = await loadKey(key.id);
                    if (reloaded.result.ok) key = reloaded.result.data;
                    render();
                  }
                  return result;
                },
              });
            }

            /// The new secret, once: it leaves the page (DOM and variable) with "Hide it" or when
            /// the user goes to another page.
            function showSecret(value, previousExpiresAt) {
              secret = value;
              const code = h("code", { id: "new-secret" }, secret);
              const copied = h("span", { class: "hint", "aria-live": "polite" });
              const copy = h("button", { type: "button", id: "copy-secret", onclick: async () => {
                try {
                  await navigator.clipboard.writeText(secret);
                  copied.textContent = "Copied.";
                } catch (e) {
                  getSelection().selectAllChildren(code);
                  copied.textContent = "Copying was refused: the secret is selected, press Ctrl+C.";
                }
              } }, "Copy");
              fill(secretBox, h("section", { class: "card secret", "aria-labelledby": "secret-title" },
                h("h2", { id: "secret-title" }, "New secret"),
                h("p", null, "Shown once: copy it now. KeyLedger keeps only its hash and cannot show it again."),
                code,
                h("p", { class: "hint" }, previousExpiresAt ? "The previous secret works until " + KL.time(previousExpiresAt) + "." : "The previous secret no longer works."),
                h("div", { class: "actions" }, copy, h("button", { type: "button", class: "secondary", id: "hide-secret", onclick: () => {
                  secret = null;
                  fill(secretBox);
                  document.getElementById("rotate-button")?.focus();
                } }, "Hide it")), copied));
              copy.focus();
            }

            render();
          };
        })();
        """##
}
