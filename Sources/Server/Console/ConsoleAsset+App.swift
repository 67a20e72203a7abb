extension ConsoleAsset {
    /// `/console/app.js`: DOM helpers, the API client, the session (the credential in one variable
    /// of the page, never stored), dialogs and the router.
    static let appJS = ##"""
        // KeyLedger console: the core (DOM helpers, the API client, the session, dialogs, the
        // router). keys.js, usage.js and audit.js add their pages to KL.views.
        "use strict";
        (function () {
          const KL = (window.KL = { views: {} });

          // The pasted credential lives in this variable only: never in storage, a cookie or the URL.
          let credential = null;
          // What the credential may do: true, false, or null while unknown. Learned when signing
          // in and from every 403, so the pages stop offering what would be refused.
          const caps = (KL.caps = { keys: null, audit: null, root: false });
          // Filters the server refused as unknown (400 naming the parameter); the console then
          // filters the page itself and says so.
          KL.unsupported = new Set();

          // --- DOM -------------------------------------------------------------------------
          // Builds elements with text nodes only: nothing from the API is ever parsed as HTML.
          function h(tag, attrs, ...children) {
            const el = document.createElement(tag);
            for (const [name, value] of Object.entries(attrs || {})) {
              if (value === null || value === undefined || value === false) continue;
              if (name === "class") el.className = value;
              else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
              else el.setAttribute(name, value === true ? "" : String(value));
            }
            add(el, children);
            return el;
          }
          function add(el, ...children) {
            for (const child of children.flat(Infinity)) {
              if (child === null || child === undefined || child === false) continue;
              el.append(child instanceof Node ? child : String(child));
            }
            return el;
          }
          /// Replaces an element's children (null and false children are skipped, as in `h`).
          function fill(el, ...children) {
            el.replaceChildren();
            return add(el, children);
          }
          KL.h = h;
          KL.add = add;
          KL.fill = fill;

          KL.time = (iso) => (iso ? iso.replace(/\.\d+Z$/, "Z").replace("T", " ") : "never");
          KL.badge = (status) => h("span", { class: "badge " + status }, status);
          KL.chips = (list, empty) =>
            list && list.length ? h("span", { class: "chips" }, list.map((s) => h("span", { class: "chip" }, s))) : h("span", { class: "muted" }, empty);
          KL.fields = (pairs) =>
            h("dl", { class: "fields" }, pairs.map(([label, value, attrs]) => [h("dt", null, label), h("dd", attrs || null, value)]));

          /// A field of a filter form: label and control, ids derived from `name`.
          KL.field = (label, control) => h("div", { class: "field" }, h("label", { for: control.id }, label), control);
          KL.input = (name, value, attrs) =>
            h("input", Object.assign({ id: "f-" + name, name, value: value || "", spellcheck: "false", autocomplete: "off" }, attrs));
          KL.select = (name, value, options) =>
            h("select", { id: "f-" + name, name }, options.map(([v, text]) => h("option", { value: v, selected: v === (value || "") }, text)));

          /// The answer of a failed call, said plainly; a 403 also says what the console now hides.
          KL.problem = (result, context) => {
            const error = result.error || { code: String(result.status), message: "" };
            if (result.status === 403) {
              return h("p", { class: "forbidden", role: "alert" }, h("strong", null, "Not allowed (403). "), context ? context + " " : "",
                "The server said: " + error.message);
            }
            return h("p", { class: "error", role: "alert" }, h("strong", null, `${result.status || "No answer"} ${error.code}: `), error.message);
          };

          /// A table that becomes one card per row on narrow screens (labels from the header),
          /// in a box that scrolls sideways itself rather than widening the page.
          KL.table = (columns, rows, rowAttrs) =>
            h("div", { class: "table-wrap" }, h("table", { class: "responsive" },
              h("thead", null, h("tr", null, columns.map((c) => h("th", { scope: "col" }, c[0])))),
              h("tbody", null, rows.map((row) => h("tr", rowAttrs ? rowAttrs(row) : null, columns.map((c) => h("td", { "data-label": c[0] }, c[1](row))))))));

          KL.notice = (text, kind) => {
            const el = document.getElementById("notice");
            el.textContent = text || "";
            el.className = "notice" + (kind ? " " + kind : "");
            el.hidden = !text;
          };

          // --- API -------------------------------------------------------------------------
          KL.query = (params) => {
            const parts = [];
            for (const [k, v] of Object.entries(params || {})) {
              if (v !== undefined && v !== null && v !== "") parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(v));
            }
            return parts.length ? "?" + parts.join("&") : "";
          };

          // The log position of this page's last change (a command's X-Ledger-Seq): later reads
          // pass it as minSeq, so a page never shows a projection from before the user's own change.
          let lastWriteSeq = null;

          /// Calls the API with the credential; resolves to {status, ok, data, nextCursor, text,
          /// error, seq} and never rejects.
          KL.api = async (method, path, options) => {
            const { body, headers } = options || {};
            let query = (options && options.query) || {};
            const read = method === "GET";
            if (read && lastWriteSeq && !KL.unsupported.has("minSeq") && !query.minSeq) query = Object.assign({ minSeq: lastWriteSeq }, query);
            const result = await call(method, path, query, body, headers);
            if (read && query.minSeq && KL.refusedParameter(result, "minSeq")) {
              KL.unsupported.add("minSeq");
              delete query.minSeq;
              return call(method, path, query, body, headers);
            }
            if (!read && result.ok && result.seq) lastWriteSeq = result.seq;
            return result;
          };

          async function call(method, path, query, body, headers) {
            const init = {
              method, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer",
              headers: Object.assign({ Authorization: "Bearer " + credential }, headers),
            };
            if (body !== undefined) {
              init.headers["Content-Type"] = "application/json";
              init.body = JSON.stringify(body);
            }
            let response;
            try {
              response = await fetch(path + KL.query(query), init);
            } catch (e) {
              return { status: 0, ok: false, error: { code: "NETWORK", message: "the server did not answer (" + e.message + ")" } };
            }
            const result = { status: response.status, ok: response.ok, seq: response.headers.get("X-Ledger-Seq") };
            const type = response.headers.get("Content-Type") || "";
            if (type.startsWith("application/json")) {
              const json = await response.json().catch(() => null);
              if (json && json.success === false) result.error = json.error;
              else if (json) Object.assign(result, { data: json.data, nextCursor: json.nextCursor || null, message: json.message });
            } else {
              result.text = await response.text();
            }
            if (!response.ok && !result.error) result.error = { code: String(response.status), message: result.text || response.statusText };
            if (response.status === 401 && credential) KL.notice("The server refused the credential (401): " + result.error.message + ". Sign out and paste a valid one.");
            return result;
          }

          /// True when a 400 names `parameter` as unknown: the server predates that filter.
          KL.refusedParameter = (result, parameter) =>
            result.status === 400 && result.error && result.error.message.startsWith(parameter + ":");

          /// Notes a 403 that says the credential lacks the area's scope ("keys", "audit"): the
          /// pages stop offering that area's actions. Other 403s (another owner's key, a scope
          /// it may not grant, its address) concern that one request and are only shown.
          KL.forbidden = (result, area) => {
            const lacks = result.status === 403 && /lacks the scope/.test((result.error && result.error.message) || "");
            if (lacks && area) caps[area] = false;
            return lacks;
          };

          // --- session -----------------------------------------------------------------------
          async function signIn(secret) {
            credential = secret;
            const [keys, audit, root] = await Promise.all([
              KL.api("GET", "/v1/keys", { query: { limit: 1 } }),
              KL.api("GET", "/v1/audit", { query: { limit: 1 } }),
              KL.api("GET", "/v1/events", { query: { limit: 1 } }),
            ]);
            if (keys.status === 401 || audit.status === 401) {
              credential = null;
              return keys.error ? keys.error.message : "the credential was refused";
            }
            caps.keys = keys.ok ? true : keys.status === 403 ? false : null;
            caps.audit = audit.ok ? true : audit.status === 403 ? false : null;
            caps.root = root.ok;
            const sample = (keys.data && keys.data[0]) || (audit.data && audit.data[0]);
            const rights = [caps.keys && "keys", caps.audit && "audit"].filter(Boolean).join(", ") || "none known";
            document.getElementById("whoami").textContent = caps.root
              ? "Root token"
              : `Ledger key${sample && sample.owner ? " of " + sample.owner : ""} (may use: ${rights})`;
            return null;
          }

          function signOut() {
            credential = null;
            lastWriteSeq = null;
            Object.assign(caps, { keys: null, audit: null, root: false });
            leave();
            document.getElementById("nav").hidden = true;
            document.getElementById("session").hidden = true;
            KL.notice("");
            location.hash = "";
            showSignIn();
          }

          let signInSection = null;
          function showSignIn() {
            const main = document.getElementById("view");
            fill(main, signInSection);
            document.getElementById("credential").focus();
          }

          // --- dialogs -------------------------------------------------------------------------
          let dialogAction = null;
          /// Asks before an action: `body` holds the dialog's fields; `run` resolves to an API
          /// result: an error is shown in the dialog, success closes it. Escape or Cancel aborts.
          KL.confirm = ({ title, body, confirmLabel, danger, run }) => {
            const dialog = document.getElementById("dialog");
            document.getElementById("dialog-title").textContent = title;
            fill(document.getElementById("dialog-body"), body);
            const confirm = document.getElementById("dialog-confirm");
            confirm.textContent = confirmLabel;
            confirm.className = danger ? "danger" : "";
            confirm.disabled = false;
            document.getElementById("dialog-error").hidden = true;
            dialogAction = run;
            dialog.showModal();
            const first = dialog.querySelector("#dialog-body input, #dialog-body select");
            (first || (danger ? document.getElementById("dialog-cancel") : confirm)).focus();
          };

          async function confirmDialog(event) {
            event.preventDefault();
            if (!dialogAction) return;
            const confirm = document.getElementById("dialog-confirm");
            confirm.disabled = true;
            const result = await dialogAction();
            confirm.disabled = false;
            if (result && !result.ok) {
              const box = document.getElementById("dialog-error");
              fill(box, KL.problem(result));
              box.hidden = false;
              return;
            }
            dialogAction = null;
            document.getElementById("dialog").close();
          }

          // --- router ----------------------------------------------------------------------------
          // Pages are addressed by the fragment (#/keys?owner=org_42), so links, Back and
          // bookmarks work; the fragment never holds the credential.
          let leaving = [];
          KL.onLeave = (fn) => leaving.push(fn);
          function leave() {
            for (const fn of leaving) fn();
            leaving = [];
          }

          KL.go = (path, params) => {
            location.hash = "#/" + path + KL.query(params);
          };

          function route(focus) {
            leave();
            if (!credential) return showSignIn();
            const hash = location.hash.replace(/^#\/?/, "") || "keys";
            const [path, search] = hash.split("?");
            const parts = path.split("/").map(decodeURIComponent);
            const params = new URLSearchParams(search || "");
            let page = KL.views[parts[0]] ? parts[0] : "keys";
            if (page === "keys" && parts[1]) page = "key";
            for (const link of document.querySelectorAll("#nav a")) {
              if (link.dataset.section === (page === "key" ? "keys" : page)) link.setAttribute("aria-current", "page");
              else link.removeAttribute("aria-current");
            }
            const view = h("section", { class: "page", id: "page-" + page });
            fill(document.getElementById("view"), view);
            const done = KL.views[page](view, params, parts[1]);
            if (focus) Promise.resolve(done).then(() => {
              const heading = view.querySelector("h1");
              if (heading && view.isConnected) {
                heading.setAttribute("tabindex", "-1");
                heading.focus();
              }
            });
          }

          document.addEventListener("DOMContentLoaded", () => {
            signInSection = document.getElementById("signin");
            document.getElementById("signin-form").addEventListener("submit", async (event) => {
              event.preventDefault();
              const input = document.getElementById("credential");
              const secret = input.value.trim();
              input.value = "";
              if (!secret) return;
              const button = document.getElementById("signin-button");
              button.disabled = true;
              const failure = await signIn(secret);
              button.disabled = false;
              if (failure) {
                KL.notice("Sign-in failed: " + failure);
                input.focus();
                return;
              }
              KL.notice("");
              document.getElementById("nav").hidden = false;
              document.getElementById("session").hidden = false;
              route(true);
            });
            document.getElementById("signout").addEventListener("click", signOut);
            document.getElementById("dialog-form").addEventListener("submit", confirmDialog);
            document.getElementById("dialog-cancel").addEventListener("click", () => document.getElementById("dialog").close());
            document.getElementById("dialog").addEventListener("close", () => { dialogAction = null; });
            window.addEventListener("hashchange", () => route(true));
          });

          /// First page / next page links for a list whose position is the `cursor` parameter.
          function pager(params, next, page) {
            const base = Object.fromEntries(params.entries());
            delete base.cursor;
            const nav = h("nav", { class: "pager", "aria-label": "Pages" });
            if (params.get("cursor")) add(nav, h("a", { href: "#/" + page + KL.query(base) }, "First page"));
            if (next) add(nav, h("a", { href: "#/" + page + KL.query(Object.assign({}, base, { cursor: next })), id: "next-page" }, "Next page"));
            return nav;
          }
          KL.pager = pager;
        })();
        """##
}
