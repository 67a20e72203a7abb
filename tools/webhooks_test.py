"""Webhook delivery against a real HTTPS receiver (a test CA made by tools/webhooks-test.sh),
every delivery checked with the PyPI `standardwebhooks` package, not KeyLedger's code.

Usage: webhooks_test.py KEYLEDGER_BIN WORKDIR   (WORKDIR holds ca.pem, receiver.pem, receiver.key)
Checks: lifecycle events arrive in order, exactly the subscribed types; a receiver down then up
gets everything, and the attempts are listed; after SIGKILL mid-delivery nothing is lost
(duplicates allowed, same webhook-id); and prints POST /v1/verify's rate (wrk) with and without
a webhook whose receiver hangs."""
import atexit, http.client, http.server, json, os, signal, socket, ssl, subprocess, sys, threading, time
from standardwebhooks.webhooks import Webhook

BIN, WORK = sys.argv[1], sys.argv[2]
CA = os.path.join(WORK, "ca.pem")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Receiver:
    """A threaded HTTPS server recording each delivery: path, headers, body. Modes per path
    name: ok (200), slow (1 s, then 200), hang (never answers)."""

    def __init__(self, port=None, certificate="receiver"):
        self.port = port or free_port()
        self.certificate = certificate
        self.got = {}
        self.modes = {}
        self.lock = threading.Lock()
        self.server = None

    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                name = self.path.strip("/").split("/")[-1]
                mode = receiver.modes.get(name, "ok")
                if mode == "hang":
                    time.sleep(3600)
                if mode == "slow":
                    time.sleep(1)
                with receiver.lock:
                    receiver.got.setdefault(name, []).append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.path.join(WORK, self.certificate + ".pem"), os.path.join(WORK, self.certificate + ".key"))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.server.allow_reuse_address = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def deliveries(self, name):
        with self.lock:
            return list(self.got.get(name, []))


class Server:
    def __init__(self, data):
        self.data, self.port, self.proc = data, free_port(), None

    def start(self):
        atexit.register(self.cleanup)
        self.proc = subprocess.Popen(
            [BIN, "serve", "--data", self.data, "--listen", f"127.0.0.1:{self.port}", "--quiet",
             "--webhook-allow-private", "--webhook-ca-file", CA, "--webhook-timeout", "3",
             "--webhook-workers", "4", "--leak-policy", "notify"], stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(WORK, "serve.log"), "a"))
        for _ in range(100):
            try:
                if self.call("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        sys.exit("the server did not start")

    def call(self, method, path, body=None, token=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = conn.getresponse()
        text = response.read()
        conn.close()
        # The log position the answer reflects: a read passing it as minSeq sees the command.
        self.last_seq = response.getheader("X-Ledger-Seq")
        return response.status, (json.loads(text) if text else None)

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def check(condition, what):
    if not condition:
        sys.exit(f"FAIL: {what}")
    print(f"ok: {what}")


def wait_for(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    sys.exit(f"FAIL: timed out waiting for {what}")


def verified(secret, deliveries):
    """The events of deliveries, each signature checked by standardwebhooks."""
    hook = Webhook(secret)
    events = []
    for headers, body in deliveries:
        lowered = {k.lower(): v for k, v in headers.items()}
        payload = hook.verify(body, lowered)
        check_id = lowered["webhook-id"] == payload["data"]["id"]
        if not check_id or payload["type"] != payload["data"]["type"]:
            sys.exit(f"FAIL: delivery id/type do not match its event: {lowered} {payload}")
        events.append(payload["data"])
    return events


def main():
    data = os.path.join(WORK, "data")
    token = subprocess.run([BIN, "init", "--data", data], capture_output=True, text=True, check=True).stdout.strip()
    receiver = Receiver()
    receiver.start()
    server = Server(data)
    server.start()
    base = f"https://127.0.0.1:{receiver.port}/hooks"

    # 1. Lifecycle: in order, exactly the subscribed types of the subscribed owner.
    types = ["key.created", "key.updated", "key.rotated", "key.suspended", "key.reactivated", "key.leaked",
             "key.revoked"]
    status, created = server.call("POST", "/v1/webhooks", {"url": f"{base}/life", "eventTypes": types,
                                                           "owner": "org_a"}, token)
    check(status == 201 and created["data"]["secret"].startswith("whsec_"), "webhook created, secret shown once")
    secret = created["data"]["secret"]
    status, key = server.call("POST", "/v1/keys", {"owner": "org_a", "name": "k"}, token)
    key_id, key_secret = key["data"]["key"]["id"], key["data"]["secret"]
    server.call("POST", "/v1/keys", {"owner": "org_b", "name": "other owner"}, token)
    server.call("PATCH", f"/v1/keys/{key_id}", {"name": "renamed"}, token)
    server.call("POST", "/v1/verify", {"key": key_secret}, token)
    status, rotated = server.call("POST", f"/v1/keys/{key_id}/rotate", {}, token)
    new_secret = rotated["data"]["secret"]
    server.call("POST", f"/v1/keys/{key_id}/suspend", {}, token)
    server.call("POST", f"/v1/keys/{key_id}/reactivate", {}, token)
    status, labels = server.call("POST", "/v1/leaks", [{"token": new_secret, "type": "keyledger", "url":
                                                        "https://github.com/o/r/blob/main/.env", "source": "content"}], token)
    check(status == 200 and labels[0]["label"] == "true_positive", "leak report: true positive, GitHub's format")
    server.call("DELETE", f"/v1/keys/{key_id}", None, token)
    status, log = server.call("GET", f"/v1/events?limit=1000&minSeq={server.last_seq}", None, token)
    expected = [e["id"] for e in log["data"] if e["owner"] == "org_a" and e["type"] in types]
    check(len(expected) == 7, f"the log holds the 7 subscribed events ({len(expected)})")
    wait_for(lambda: len(receiver.deliveries("life")) >= len(expected), 20, "the lifecycle deliveries")
    time.sleep(0.5)
    events = verified(secret, receiver.deliveries("life"))
    check([e["id"] for e in events] == expected, "every lifecycle event arrived once, in log order, signature verified")
    check(all(e["type"] in types and e["owner"] == "org_a" for e in events), "exactly the subscribed types and owner")

    # 1b. A receiver whose certificate no trusted CA signed gets nothing: TLS is verified.
    untrusted = Receiver(certificate="untrusted")
    untrusted.start()
    status, hook = server.call("POST", "/v1/webhooks", {"url": f"https://127.0.0.1:{untrusted.port}/hooks/x",
                                                        "eventTypes": ["key.created"], "owner": "org_t"}, token)
    untrusted_id = hook["data"]["webhook"]["id"]
    server.call("POST", "/v1/keys", {"owner": "org_t", "name": "t"}, token)
    wait_for(lambda: server.call("GET", f"/v1/webhooks/{untrusted_id}/deliveries", None, token)[1]["data"], 20,
             "an attempt to the untrusted receiver")
    attempt = server.call("GET", f"/v1/webhooks/{untrusted_id}/deliveries", None, token)[1]["data"][0]
    check(attempt["status"] == 0 and "certificate" in (attempt["error"] or "").lower() and not untrusted.deliveries("x"),
          f"an unverifiable certificate is refused: {attempt['error']}")
    untrusted.stop()

    # 2. Receiver down, then up: everything arrives, and the failed attempts are listed.
    down = Receiver()
    status, hook = server.call("POST", "/v1/webhooks", {"url": f"https://127.0.0.1:{down.port}/hooks/down",
                                                        "eventTypes": ["key.created"]}, token)
    down_secret, down_id = hook["data"]["secret"], hook["data"]["webhook"]["id"]
    for i in range(5):
        server.call("POST", "/v1/keys", {"owner": "org_c", "name": f"while down {i}"}, token)
    time.sleep(1.5)
    down.start()
    wait_for(lambda: len(down.deliveries("down")) >= 5, 30, "deliveries after the receiver came up")
    # The receiver counts a delivery before its answer reaches the ledger, which then records it.
    wait_for(lambda: len([a for a in server.call("GET", f"/v1/webhooks/{down_id}/deliveries", None, token)[1]["data"]
                          if a["status"] == 200]) >= 5, 10, "the delivered attempts recorded")
    status, attempts = server.call("GET", f"/v1/webhooks/{down_id}/deliveries", None, token)
    failed = [a for a in attempts["data"] if a["status"] == 0 and a["error"]]
    succeeded = [a for a in attempts["data"] if a["status"] == 200]
    check(len(verified(down_secret, down.deliveries("down"))) >= 5, "all 5 events arrived once the receiver was up")
    check(failed and failed[0]["nextAttemptAt"] and len(succeeded) >= 5,
          f"attempts listed: {len(failed)} failed with error and next attempt, {len(succeeded)} delivered")

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {token}"})
    metrics = conn.getresponse().read().decode()
    conn.close()
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith("keyledger_webhook_")}
    check(samples.get('keyledger_webhook_attempts_total{result="failed"}', 0) >= 1
          and samples.get('keyledger_webhook_attempts_total{result="delivered"}', 0) >= 12,
          f"/metrics counts the attempts: {samples}")

    # 3. SIGKILL mid-delivery: nothing lost after the restart; duplicates keep their webhook-id.
    receiver.modes["slow"] = "slow"
    status, hook = server.call("POST", "/v1/webhooks", {"url": f"{base}/slow", "eventTypes": ["key.created"],
                                                        "owner": "org_k"}, token)
    slow_secret = hook["data"]["secret"]
    for i in range(6):
        server.call("POST", "/v1/keys", {"owner": "org_k", "name": f"kill {i}"}, token)
    wait_for(lambda: len(receiver.deliveries("slow")) >= 1, 20, "a first slow delivery")
    time.sleep(0.3)
    server.kill()
    print(f"killed the server with {len(receiver.deliveries('slow'))} of 6 delivered")
    server.start()
    status, log = server.call("GET", "/v1/events?limit=1000", None, token)
    wanted = {e["id"] for e in log["data"] if e["owner"] == "org_k" and e["type"] == "key.created"}
    wait_for(lambda: wanted <= {d[0].get("webhook-id") for d in receiver.deliveries("slow")}, 40,
             "every event after the restart")
    got = [e["id"] for e in verified(slow_secret, receiver.deliveries("slow"))]
    check(set(got) == wanted, f"nothing lost after SIGKILL: 6 events, {len(got) - len(set(got))} duplicate(s)")
    bodies = {}
    for headers, body in receiver.deliveries("slow"):
        bodies.setdefault({k.lower(): v for k, v in headers.items()}["webhook-id"], set()).add(body)
    check(all(len(b) == 1 for b in bodies.values()), "a duplicate is the same delivery: same webhook-id, same body")

    # 4. A hanging receiver does not slow verification: wrk on POST /v1/verify without,
    # then with a webhook taking every key.accessed to a receiver that never answers.
    secrets = os.path.join(WORK, "secrets.txt")
    with open(secrets, "w") as out:
        for i in range(200):
            status, made = server.call("POST", "/v1/keys", {"owner": "org_bench", "name": f"b{i}", "rateLimits":
                                                            [{"limit": 1000000000, "windowSeconds": 60}]}, token)
            out.write(made["data"]["secret"] + "\n")
    seconds = os.environ.get("WEBHOOK_BENCH_SECONDS", "4")

    def wrk():
        out = subprocess.run(["wrk", "-t1", "-c32", f"-d{seconds}s", "-s", "tools/bench/verify.lua",
                              f"http://127.0.0.1:{server.port}/v1/verify"], env={**os.environ, "KL_SECRETS": secrets},
                             capture_output=True, text=True, check=True).stdout
        return float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))

    wrk()  # warm-up: the first run pays for page faults and the keys' first reads
    without = wrk()
    # As many hanging webhooks as delivery workers: every worker is stuck in turn.
    hang_ids = []
    for i in range(4):
        receiver.modes[f"hang{i}"] = "hang"
        status, hook = server.call("POST", "/v1/webhooks", {"url": f"{base}/hang{i}", "eventTypes": ["key.accessed"],
                                                            "owner": "org_bench"}, token)
        hang_ids.append(hook["data"]["webhook"]["id"])
    with_hang = wrk()
    timed_out = [a for i in hang_ids for a in server.call("GET", f"/v1/webhooks/{i}/deliveries", None, token)[1]["data"]
                 if a["status"] == 0]
    check(timed_out, f"the hanging receiver's attempts time out and are listed ({len(timed_out)})")
    print(f"POST /v1/verify rate without hanging receivers: {without:.0f} req/s")
    print(f"POST /v1/verify rate with 4 hanging receivers: {with_hang:.0f} req/s")
    print(f"ratio with/without: {100 * with_hang / without:.1f}%")
    server.stop()
    receiver.stop()


main()
