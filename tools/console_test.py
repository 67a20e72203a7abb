#!/usr/bin/python3
"""The web console in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by Debian's `python3-selenium`) against a live `keyledger serve`.

Makes a ledger in a temporary directory, creates keys and traffic through the API, loads
/console, pastes a token, and asserts on the rendered DOM. Screenshots of every page (at
1280 px and at 360 px) go to .build/console-screenshots/. Prints "console: N passed, M
failed" and exits non-zero on any failure.

Environment: KEYLEDGER_BIN (default .build/debug/keyledger), CONSOLE_SCREENSHOTS (the
screenshot directory), CHROMEDRIVER (default /usr/bin/chromedriver).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("KEYLEDGER_BIN", os.path.join(ROOT, ".build/debug/keyledger"))
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS", os.path.join(ROOT, ".build/console-screenshots"))
TRAFFIC = 12  # verifications of the main key by the fixture: 9 granted, 3 refused (scope)
ERRORS = 3


class Server:
    """`keyledger init` + `keyledger serve` on a free loopback port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="keyledger-console-")
        data = os.path.join(self.dir, "data")
        self.root = subprocess.run([BIN, "init", "--data", data], check=True, capture_output=True,
                                   text=True).stdout.strip()
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.base = f"http://127.0.0.1:{self.port}"
        self.verifications = 0
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.process = subprocess.Popen([BIN, "serve", "--data", data, "--listen", f"127.0.0.1:{self.port}"],
                                        stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        for _ in range(300):
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1)
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("keyledger serve exited before answering /healthz")
                time.sleep(0.1)
        raise RuntimeError("no answer from /healthz within 30 s")

    def call(self, method, path, body=None, token=None):
        request = urllib.request.Request(self.base + path, method=method,
                                         data=None if body is None else json.dumps(body).encode())
        request.add_header("Authorization", "Bearer " + (token or self.root))
        if body is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def verify(self, secret, scope=None):
        body = {"key": secret} if scope is None else {"key": secret, "scope": scope}
        status, answer = self.call("POST", "/v1/verify", body)
        assert status == 200, answer
        self.verifications += 1
        return answer.get("data", answer)

    def stop(self):
        self.process.terminate()
        status = self.process.wait(timeout=15)
        self.log.close()
        if status != 0:
            print(open(os.path.join(self.dir, "server.log")).read()[-4000:], file=sys.stderr)
        shutil.rmtree(self.dir, ignore_errors=True)
        return status


class Console:
    """One browser tab on /console."""

    def __init__(self, base):
        options = webdriver.ChromeOptions()
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", "--force-device-scale-factor=1", "--lang=en-US"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.base = base
        self.width = 1280

    def wait(self, condition, timeout=10):
        return WebDriverWait(self.driver, timeout, ignored_exceptions=[StaleElementReferenceException]).until(condition)

    def css(self, selector):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def visible(self, selector, timeout=10):
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, selector)), timeout)

    def go(self, fragment):
        self.driver.execute_script("location.hash = arguments[0]", fragment)

    def sign_in(self, token):
        self.driver.get(self.base + "/console")
        field = self.visible("#credential")
        field.send_keys(token)
        field.send_keys(Keys.ENTER)
        self.visible("#nav")

    def sign_out(self):
        self.driver.find_element(By.ID, "signout").click()
        self.visible("#credential")

    def narrow(self, on):
        """360 px wide, as a phone: the CSS media queries see a 360 px viewport."""
        self.width = 360 if on else 1280
        if on:
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                        {"width": 360, "height": 780, "deviceScaleFactor": 1, "mobile": True})
        else:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def scroll_width(self):
        return self.driver.execute_script("return document.scrollingElement.scrollWidth")

    def overflowing(self, width):
        """The innermost elements reaching past `width` px, for a failure message."""
        return self.driver.execute_script("""
            return [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > arguments[0] + 0.5 && e.children.length === 0)
              .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40));
        """, width)

    def shot(self, name):
        """A screenshot of the whole page (its full height), at the current width."""
        height = self.driver.execute_script("return document.scrollingElement.scrollHeight")
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": self.width, "height": min(max(height, 600), 4000),
                                     "deviceScaleFactor": 1, "mobile": self.width < 400})
        path = os.path.join(SHOTS, name + ".png")
        self.driver.save_screenshot(path)
        if self.width == 360:
            self.narrow(True)
        else:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        return path

    def errors(self):
        """Browser console errors since the last call (CSP violations, script errors); not
        the network log's lines for the 4xx answers the console shows as such."""
        return [e["message"] for e in self.driver.get_log("browser")
                if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]


results = {"passed": 0, "failed": 0}


def test(name):
    def run(fn):
        try:
            fn()
            results["passed"] += 1
            print(f"ok   {name}")
        except Exception:
            results["failed"] += 1
            print(f"FAIL {name}")
            traceback.print_exc()
        return fn
    return run


def main():
    os.makedirs(SHOTS, exist_ok=True)
    server = Server()
    browser = None
    try:
        browser = Console(server.base)
        run(server, browser)
    finally:
        if browser:
            browser.driver.quit()
        status = server.stop()
        if status != 0:
            print(f"FAIL keyledger serve exited with {status} after SIGTERM")
            results["failed"] += 1
    print(f"console: {results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


def run(server, c):
    d = c.driver

    # Fixtures through the API: four keys of org_42 (two of them management keys), one of
    # org_7, one of org_9 that expires in two days; traffic on the first.
    def create(owner, name, scopes):
        status, body = server.call("POST", "/v1/keys", {"owner": owner, "name": name, "scopes": scopes})
        assert status == 201, body
        return body["data"]["key"], body["data"]["secret"]

    crm, crm_secret = create("org_42", "CRM Sync", ["accounts:read"])
    billing, _billing_secret = create("org_42", "Billing export", ["invoices:read"])
    _auditor, auditor_secret = create("org_42", "Security team", ["ledger:audit"])
    other, _other_secret = create("org_7", "Partner feed", ["feed:read"])
    _keeper, keeper_secret = create("org_42", "Key admin", ["ledger:keys"])
    status, body = server.call("POST", "/v1/keys", {"owner": "org_9", "name": "Trial", "ttlSeconds": 2 * 86400})
    assert status == 201, body
    trial = body["data"]["key"]
    for i in range(TRAFFIC):
        scope = "accounts:read" if i % 4 else "accounts:write"
        server.verify(crm_secret, scope)

    @test("GET /console serves the page with a strict Content-Security-Policy")
    def _():
        with urllib.request.urlopen(server.base + "/console", timeout=5) as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
            assert "default-src 'none'" in r.headers["Content-Security-Policy"]
            assert r.headers["X-Content-Type-Options"] == "nosniff"

    @test("signing in with the root token lists the keys")
    def _():
        c.sign_in(server.root)
        c.visible("tr[data-key-id]")
        ids = [row.get_attribute("data-key-id") for row in c.css("tr[data-key-id]")]
        assert crm["id"] in ids and billing["id"] in ids and other["id"] in ids, ids
        assert "Root token" in d.find_element(By.ID, "whoami").text
        c.shot("keys")

    @test("the keyboard alone reaches the sections and a key (visible focus, real links)")
    def _():
        c.go("#/keys")
        c.visible("tr[data-key-id]")
        d.execute_script("document.querySelector('a.skip').focus()")
        assert d.switch_to.active_element.get_attribute("class") == "skip"
        assert d.execute_script("return document.querySelector('a.skip').getBoundingClientRect().left") >= 0
        order = []
        for _ in range(5):
            d.switch_to.active_element.send_keys(Keys.TAB)
            order.append(d.switch_to.active_element.text)
        assert order == ["Keys", "Usage", "Audit", "Ledger", "Sign out"], order
        d.switch_to.active_element.send_keys(Keys.SHIFT, Keys.TAB)
        d.switch_to.active_element.send_keys(Keys.SHIFT, Keys.TAB)
        d.switch_to.active_element.send_keys(Keys.SHIFT, Keys.TAB)
        d.switch_to.active_element.send_keys(Keys.ENTER)
        c.visible("#usage-form")
        outline = d.execute_script(
            "const b = document.querySelector('#usage-form button'); b.focus();"
            " return getComputedStyle(b).outlineStyle + ' ' + getComputedStyle(b).outlineWidth")
        assert outline.startswith("solid") and outline != "solid 0px", outline
        c.go("#/keys")
        link = c.visible(f'tr[data-key-id="{crm["id"]}"] a')
        link.send_keys(Keys.ENTER)
        c.visible("#key-details")
        c.go("#/keys")
        c.visible("tr[data-key-id]")

    @test("the credential is kept in the page's memory only")
    def _():
        stored = d.execute_script(
            "return [localStorage.length, sessionStorage.length, document.cookie, location.href]")
        assert stored[0] == 0 and stored[1] == 0 and stored[2] == "", stored
        assert server.root not in stored[3]
        assert server.root not in d.page_source

    @test("the owner filter lists only that owner's keys")
    def _():
        field = d.find_element(By.ID, "f-owner")
        field.clear()
        field.send_keys("org_7", Keys.ENTER)
        c.wait(lambda _: [r.get_attribute("data-key-id") for r in c.css("tr[data-key-id]")] == [other["id"]])

    @test("the expiring filter lists the keys that expire within the lead time")
    def _():
        c.go("#/keys?expiring=7d")
        c.wait(lambda _: [r.get_attribute("data-key-id") for r in c.css("tr[data-key-id]")] == [trial["id"]])
        c.go("#/keys?expiring=1d")
        c.wait(lambda _: "No keys match" in d.find_element(By.ID, "key-results").text)

    @test("a key's page shows its state, scopes, limits and credits")
    def _():
        c.go("#/keys")
        c.visible(f'tr[data-key-id="{crm["id"]}"] a').click()
        c.visible("#key-details")
        assert d.find_element(By.CSS_SELECTOR, '[data-field="version"]').text == str(crm["version"])
        assert "accounts:read" in d.find_element(By.CSS_SELECTOR, '[data-field="scopes"]').text
        assert d.find_element(By.CSS_SELECTOR, '[data-field="credits"]').text == "unlimited"
        assert d.switch_to.active_element.tag_name == "h1"

    @test("Escape closes a confirmation without acting")
    def _():
        c.visible("#rotate-button").click()
        c.visible("#dialog")
        c.shot("rotate-dialog")
        d.switch_to.active_element.send_keys(Keys.ESCAPE)
        c.wait(lambda _: not d.find_element(By.ID, "dialog").is_displayed())
        assert d.find_element(By.ID, "key-version").text == str(crm["version"])
        assert d.switch_to.active_element.get_attribute("id") == "rotate-button"

    @test("a rotation through the UI shows the new secret once and the version rises")
    def _():
        c.visible("#rotate-button").click()
        Select(c.visible("#f-grace")).select_by_value("3600")
        d.find_element(By.ID, "dialog-confirm").click()
        secret = c.visible("#new-secret").text
        assert re.fullmatch(re.escape(crm["prefix"]) + r"[0-9A-Za-z]{43}", secret), secret
        assert d.find_element(By.ID, "key-version").text == str(crm["version"] + 1)
        assert "works until" in d.find_element(By.ID, "secret-box").text
        d.execute_cdp_cmd("Browser.grantPermissions", {"origin": server.base,
                                                       "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        d.find_element(By.ID, "copy-secret").click()
        c.wait(lambda _: "Copied." in d.find_element(By.ID, "secret-box").text)
        pasted = d.execute_async_script("navigator.clipboard.readText().then(arguments[0], e => arguments[0](String(e)))")
        assert pasted == secret, pasted
        assert server.verify(secret)["valid"]
        assert server.verify(crm_secret)["valid"], "the old secret stopped before its grace period ended"
        c.shot("key-rotated")
        c.go("#/keys")
        c.visible("tr[data-key-id]")
        assert not c.css("#new-secret") and secret not in d.page_source
        c.go("#/keys/" + crm["id"])
        c.visible("#key-details")
        assert not c.css("#new-secret"), "the secret was shown a second time"
        assert d.find_element(By.ID, "key-version").text == str(crm["version"] + 1)

    @test("suspend with Enter in the dialog, then reactivate from the keyboard")
    def _():
        c.visible("#suspend-button").click()
        reason = c.visible("#f-reason")
        assert d.switch_to.active_element == reason
        reason.send_keys("console test", Keys.ENTER)
        c.wait(lambda _: d.find_element(By.CSS_SELECTOR, '[data-field="status"]').text == "suspended")
        button = c.visible("#reactivate-button")
        button.send_keys(Keys.ENTER)
        c.visible("#dialog")
        d.switch_to.active_element.send_keys(Keys.ENTER)
        c.wait(lambda _: d.find_element(By.CSS_SELECTOR, '[data-field="status"]').text == "active")

    @test("editing the name and scopes patches the key")
    def _():
        c.visible("#edit-button").click()
        name = c.visible("#f-name")
        name.clear()
        name.send_keys("CRM Sync (EU)")
        scopes = d.find_element(By.ID, "f-scopes")
        scopes.clear()
        scopes.send_keys("accounts:read contacts:read", Keys.ENTER)
        c.wait(lambda _: "contacts:read" in d.find_element(By.CSS_SELECTOR, '[data-field="scopes"]').text)
        assert d.find_element(By.TAG_NAME, "h1").text == "CRM Sync (EU)"
        c.shot("key")

    @test("the usage chart has one bar per bucket and counts the traffic")
    def _():
        requests = server.verifications
        c.go(f"#/usage?key={crm['id']}&range=1h&granularity=minute")
        c.visible("#usage-chart")
        bars = c.css("#usage-chart rect.bar-requests")
        rows = c.css("#usage-result details tbody tr")
        assert len(bars) == 60 == len(rows), (len(bars), len(rows))
        heights = [float(b.get_attribute("height")) for b in bars]
        assert sum(1 for h in heights if h > 0) >= 1
        totals = d.find_element(By.ID, "usage-totals").text
        assert totals.startswith(f"{requests}\nRequests\n{ERRORS}\nErrors"), totals
        assert len(c.css("#usage-chart path.line-p50")) == 1 and len(c.css("#usage-chart path.line-p99")) == 1
        c.shot("usage")

    @test("a custom range by day has one bar per day")
    def _():
        today = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime())
        start = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() - 2 * 86400))
        tomorrow = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() + 86400))
        c.go(f"#/usage?key={crm['id']}&range=custom&start={start}&end={tomorrow}&granularity=day")
        c.visible("#usage-chart")
        bars = c.css("#usage-chart rect.bar-requests")
        assert len(bars) == 3, len(bars)
        assert bars[-1].get_attribute("data-start").startswith(today[:10]), bars[-1].get_attribute("data-start")
        busy = [b for b in bars if float(b.get_attribute("height")) > 0]
        assert [b.get_attribute("data-start")[:10] for b in busy] == [crm["createdAt"][:10]], "traffic in another day"

    @test("an owner's usage is summed over its keys and says so")
    def _():
        c.go("#/usage?owner=org_42&range=24h&granularity=hour")
        c.visible("#summed-note")
        assert len(c.css("#usage-chart rect.bar-requests")) == 24
        assert d.find_element(By.ID, "usage-totals").text.startswith(f"{server.verifications}\nRequests")
        assert "4 keys" in d.find_element(By.ID, "summed-note").text  # CRM, billing, auditor, keeper

    @test("an audit search returns the expected events, and time travel is one click away")
    def _():
        c.go("#/audit")
        c.visible("#f-keyId").send_keys(crm["id"])
        Select(d.find_element(By.ID, "f-eventTypes")).select_by_value("key.rotated")
        d.find_element(By.ID, "f-eventTypes").submit()
        c.wait(lambda _: len(c.css("#audit-results tr[data-seq]")) == 1
               and "key.rotated" in d.find_element(By.ID, "audit-results").text)
        c.go(f"#/audit?keyId={crm['id']}")
        c.wait(lambda _: len(c.css("#audit-results tr[data-seq]")) > 0)
        types = [e.text for e in c.css("#audit-results .event-type")]
        assert types.count("key.accessed") == server.verifications, types
        assert types[-1] == "key.created" and types.count("key.updated") == 1, types
        seqs = [int(r.get_attribute("data-seq")) for r in c.css("#audit-results tr[data-seq]")]
        assert seqs == sorted(seqs, reverse=True), "not newest first"
        created = c.css("#audit-results tr[data-seq]")[-1]
        created.find_element(By.CSS_SELECTOR, "button.event-open").send_keys(Keys.ENTER)
        c.visible("#event-title")
        assert d.switch_to.active_element.get_attribute("id") == "event-title"
        d.find_element(By.ID, "state-button").click()
        c.wait(lambda _: "as of event" in d.find_element(By.ID, "state-at").text)
        assert d.find_element(By.CSS_SELECTOR, '#state-at [data-field="version"]').text == "1"
        assert "CRM Sync" in d.find_element(By.ID, "state-at").text
        c.shot("audit")

    @test("audit paging follows nextCursor")
    def _():
        c.go(f"#/audit?keyId={crm['id']}&limit=25&eventTypes=key.accessed")
        c.wait(lambda _: len(c.css("#audit-results tr[data-seq]")) == server.verifications)
        c.go(f"#/audit?keyId={crm['id']}&limit=5")
        c.wait(lambda _: len(c.css("#audit-results tr[data-seq]")) == 5)
        first = [r.get_attribute("data-seq") for r in c.css("#audit-results tr[data-seq]")]
        c.visible("#next-page").click()
        c.wait(lambda _: c.css("#audit-results tr[data-seq]")
               and c.css("#audit-results tr[data-seq]")[0].get_attribute("data-seq") not in first)
        second = [int(r.get_attribute("data-seq")) for r in c.css("#audit-results tr[data-seq]")]
        assert max(second) < min(int(s) for s in first), (first, second)

    @test("the ledger page shows the checkpoint (or that there is none) and verifies the chain")
    def _():
        c.go("#/ledger")
        c.wait(lambda _: c.css("#checkpoint-missing") or c.css("#checkpoint-note"))
        c.visible("#verify-button").click()
        c.wait(lambda _: "intact" in d.find_element(By.ID, "chain-result").text)
        c.shot("ledger")

    @test("at 360 px wide no page scrolls sideways")
    def _():
        c.narrow(True)
        try:
            for fragment, ready, name in [
                ("#/keys", "tr[data-key-id]", "keys-360"),
                ("#/keys/" + crm["id"], "#key-details", "key-360"),
                (f"#/usage?key={crm['id']}&range=1h&granularity=minute", "#usage-chart", "usage-360"),
                (f"#/audit?keyId={crm['id']}", "tr[data-seq]", "audit-360"),
                ("#/ledger", "#verify-button", "ledger-360"),
            ]:
                c.go(fragment)
                c.visible(ready)
                c.shot(name)
                width = c.scroll_width()
                assert width <= 360, f"{fragment}: scrollWidth {width}, too wide: {c.overflowing(360)}"
        finally:
            c.narrow(False)

    @test("no script error or CSP violation in the browser console")
    def _():
        errors = c.errors()
        assert not errors, errors

    @test("a ledger:audit key sees no key actions and is told why")
    def _():
        c.sign_out()
        c.sign_in(auditor_secret)
        c.visible("#page-keys .forbidden")
        c.go("#/keys/" + crm["id"])
        c.visible("#key-details")
        assert not c.css("#rotate-button") and not c.css("#revoke-button")
        assert "ledger:keys" in d.find_element(By.ID, "page-key").text
        c.go(f"#/usage?key={crm['id']}&range=1h&granularity=minute")
        assert len(c.wait(lambda _: c.css("#usage-chart rect.bar-requests"))) == 60
        c.go("#/ledger")
        c.visible("#chain .forbidden")
        c.shot("audit-key")

    @test("an audit key's 403 on another owner's key is shown plainly")
    def _():
        c.go("#/keys/" + other["id"])
        box = c.visible("#page-key .forbidden")
        assert "403" in box.text and "another owner" in box.text, box.text

    @test("a ledger:keys key manages its owner's keys; a 403 it meets is shown in the dialog")
    def _():
        c.sign_out()
        c.sign_in(keeper_secret)
        c.visible("tr[data-key-id]")
        ids = [row.get_attribute("data-key-id") for row in c.css("tr[data-key-id]")]
        assert billing["id"] in ids and other["id"] not in ids, ids
        c.go("#/keys/" + billing["id"])
        c.visible("#edit-button").click()
        scopes = c.visible("#f-scopes")
        scopes.clear()
        scopes.send_keys("invoices:read ledger:audit", Keys.ENTER)
        error = c.visible("#dialog-error")
        assert "403" in error.text and "ledger:audit" in error.text, error.text
        c.shot("keys-key-403")
        d.switch_to.active_element.send_keys(Keys.ESCAPE)
        c.wait(lambda _: not d.find_element(By.ID, "dialog").is_displayed())
        assert c.css("#rotate-button") and c.css("#edit-button"), "a refused grant hid the other actions"
        assert "invoices:read" == d.find_element(By.CSS_SELECTOR, '[data-field="scopes"]').text
        c.go("#/audit")
        c.visible("#page-audit .forbidden")

    @test("signing out forgets the credential")
    def _():
        c.sign_out()
        assert d.execute_script("return document.getElementById('nav').hidden")
        c.go("#/keys")
        c.visible("#credential")


if __name__ == "__main__":
    sys.exit(main())
