"""Creates N keys through the API over one keep-alive connection; prints their secrets.
Usage: make_keys.py PORT ROOT_TOKEN N > secrets.txt  (the secrets file stays in a temp dir)."""
import http.client, json, sys

port, token, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port)
for i in range(count):
    body = json.dumps({"owner": f"org_{i % 100}", "name": f"bench {i}", "scopes": ["bench:read"],
                       "rateLimits": [{"limit": 1000000000, "windowSeconds": 60}]})
    conn.request("POST", "/v1/keys", body, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = conn.getresponse()
    payload = json.loads(response.read())
    if response.status != 201:
        sys.exit(f"create failed: {response.status} {payload}")
    print(payload["data"]["secret"])
