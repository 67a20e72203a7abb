#!/usr/bin/env python3
"""Checks a KeyLedger verifiable export offline, without KeyLedger.

usage: verify_export.py EXPORT --vkey VKEY [--checkpoint NOTE] [--previous NOTE --consistency PROOF]
                        [--decode]

EXPORT is the NDJSON of `GET /v1/audit/export` or `keyledger export --proofs`: a first line
{"checkpoint": "<signed note>"}, then one event per line with `record` (base64) and `proof`.
Checks, from the specifications alone (C2SP signed-note and tlog-checkpoint, RFC 9162 section
2.1, docs/record-format.md):
  - the checkpoint's Ed25519 signature by VKEY (`<name>+<key hash>+<base64(0x01 || key)>`);
  - for every event: SHA-256(prevHash || record) is its hash; the record, decoded, is the
    event's JSON (every field); its prevHash is the hash of the seq before when that event
    is in the file too; its inclusion proof leads from SHA-256(0x00 || record) to the root;
  - --checkpoint NOTE: a checkpoint you hold (a file) names the same tree as the export's;
  - --previous NOTE --consistency PROOF: the export's tree extends an earlier checkpoint you
    pinned (PROOF: a file holding the answer of GET /v1/ledger/proof/consistency).
--decode prints each record decoded, as the JSON the API renders for it.
Exit 0 when everything holds, 1 naming the line or seq that fails, 2 on bad usage.
Needs Python 3.8+ and the `cryptography` package (pip install cryptography).
"""

import argparse
import base64
import binascii
import datetime
import hashlib
import ipaddress
import json
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Failure(Exception):
    pass


def b64(text):
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise Failure("not base64: %r (%s)" % (text[:40], error))


# --- C2SP signed-note and tlog-checkpoint -------------------------------------------------


def parse_vkey(vkey):
    parts = vkey.split("+", 2)
    if len(parts) != 3 or len(parts[1]) != 8:
        raise Failure("not a vkey: %s" % vkey)
    name, keyhash, key = parts[0], bytes.fromhex(parts[1]), b64(parts[2])
    if len(key) != 33 or key[0] != 1:
        raise Failure("the vkey is not an Ed25519 key")
    if hashlib.sha256(name.encode() + b"\n" + key).digest()[:4] != keyhash:
        raise Failure("the vkey's key hash does not match its name and key")
    return name, keyhash, Ed25519PublicKey.from_public_bytes(key[1:])


def verify_note(note, vkey):
    """(origin, size, root bytes) of a checkpoint note signed by vkey."""
    name, keyhash, key = vkey
    if "\n\n" not in note or not note.endswith("\n"):
        raise Failure("the checkpoint is not a signed note")
    body, signatures = note.split("\n\n", 1)
    body += "\n"
    signed = False
    for line in signatures[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            raise Failure("a signature line does not start with an em dash")
        fields = line[2:].split(" ")
        if len(fields) != 2:
            raise Failure("a signature line is malformed")
        blob = b64(fields[1])
        if fields[0] != name or blob[:4] != keyhash:
            continue
        try:
            key.verify(blob[4:], body.encode())
        except InvalidSignature:
            raise Failure("the checkpoint's signature by %s does not verify" % name)
        signed = True
    if not signed:
        raise Failure("the checkpoint carries no signature by %s" % name)
    lines = body[:-1].split("\n")
    if len(lines) < 3 or not lines[1].isdigit() or str(int(lines[1])) != lines[1]:
        raise Failure("the checkpoint body is not origin, size, root")
    root = b64(lines[2])
    if len(root) != 32:
        raise Failure("the checkpoint's root is not a SHA-256 hash")
    return lines[0], int(lines[1]), root


# --- RFC 9162 section 2.1 -----------------------------------------------------------------


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf_hash, index, size, path, root):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_root, second_root, proof):
    """RFC 9162 2.1.4.2 (the empty tree is a prefix of every tree)."""
    if first > second:
        return False
    if first == 0:
        return not proof and first_root == hashlib.sha256(b"").digest()
    if first == second:
        return not proof and first_root == second_root
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


# --- The record (docs/record-format.md) ---------------------------------------------------

EVENT_TYPES = {
    1: "key.created", 2: "key.updated", 3: "key.rotated", 4: "key.suspended", 5: "key.reactivated",
    6: "key.revoked", 7: "key.expired", 8: "key.credits_added", 9: "key.accessed",
    10: "ledger.request", 11: "auth.failed",
    20: "key.credits_set", 21: "key.credits_subtracted", 22: "owner.updated", 23: "plan.updated",
    24: "key.configured", 25: "key.credits_refilled", 26: "owner.credits_refilled", 27: "key.purged",
}
LEAK_POLICIES = {1: "revoke", 2: "suspend", 3: "notify"}
NAMED_LIMITS = 1 << 32
ACTOR_KINDS = {1: "root", 2: "key", 3: "socket", 4: "system"}
VERIFY_CODES = [
    "VALID", "NOT_FOUND", "EXPIRED", "REVOKED", "SUSPENDED", "INSUFFICIENT_SCOPE", "IP_NOT_ALLOWED",
    "RATE_LIMITED", "USAGE_EXCEEDED",
]
AUTH_FAILURE_REASONS = {1: "missing", 2: "malformed", 3: "unknown", 4: "revoked", 5: "suspended", 6: "expired"}
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def raw(self, n):
        if self.at + n > len(self.data):
            raise Failure("the record ends early at byte %d" % self.at)
        out = self.data[self.at:self.at + n]
        self.at += n
        return out

    def u8(self):
        return self.raw(1)[0]

    def i64(self):
        return struct.unpack("<q", self.raw(8))[0]

    def varint(self):
        value, shift = 0, 0
        while True:
            b = self.u8()
            if shift > 63 or (shift == 63 and b > 1):
                raise Failure("a varint overflows 64 bits")
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                if b == 0 and shift > 0:
                    raise Failure("a varint is not in its shortest form")
                return value
            shift += 7

    def string(self):
        return self.raw(self.varint()).decode("utf-8")

    def optional(self, read):
        flag = self.u8()
        if flag not in (0, 1):
            raise Failure("bad presence flag %d" % flag)
        return read() if flag else None

    def strings(self):
        return [self.string() for _ in range(self.varint())]


def http_status(r):
    status = r.varint()
    if not 100 <= status <= 599:
        raise Failure("HTTP status %d out of range" % status)
    return status


def request_count(r):
    count = r.varint()
    if count < 1:
        raise Failure("a record counts at least one request")
    return count


def optional_key_id(r):
    return r.optional(lambda: key_id(r.raw(16)))


def timestamp(micros):
    micros = max(-62135596800000000, min(253402300799999999, micros))
    moment = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=micros)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%06dZ" % moment.microsecond


def key_id(raw):
    value, digits = int.from_bytes(raw, "big"), []
    for _ in range(22):
        value, digit = divmod(value, 62)
        digits.append(BASE62[digit])
    return "key_" + "".join(reversed(digits))


def ip_text(raw):
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw))
    address = ipaddress.IPv6Address(raw)
    if address.ipv4_mapped:
        return str(address.ipv4_mapped)
    if raw[:12] == bytes(12) and raw[12:14] != b"\0\0":
        return "::" + str(ipaddress.IPv4Address(raw[12:]))  # as inet_ntop writes it
    return address.compressed


def cidrs(r):
    out = []
    for _ in range(r.varint()):
        length = r.u8()
        if length not in (4, 16):
            raise Failure("bad network address length %d" % length)
        address = ip_text(r.raw(length))
        out.append("%s/%d" % (address, r.u8()))
    return out


def rate_limits(r):
    count = r.varint()
    named, out = bool(count & NAMED_LIMITS), []
    for _ in range(count & ~NAMED_LIMITS):
        limit = {"limit": r.varint(), "windowSeconds": r.varint()}
        name = r.optional(r.string) if named else None
        out.append(dict({"name": name}, **limit) if name is not None else limit)
    return out


def refill(r):
    interval = r.u8()
    if interval == 0:
        return None
    if interval not in (1, 2):
        raise Failure("unknown refill interval %d" % interval)
    data = {"interval": "daily" if interval == 1 else "monthly", "amount": r.i64()}
    day = r.u8()
    if day > 31:
        raise Failure("bad refill day %d" % day)
    if day:
        data["dayOfMonth"] = day
    return data


def quota_payload(kind, r):
    if kind in (20, 25, 26):
        return {"balance": r.i64()}
    if kind == 21:
        return {"subtract": r.i64(), "balance": r.i64()}
    if kind == 22:
        data = {"rateLimits": rate_limits(r), "credits": r.optional(r.i64), "refill": refill(r),
                "plan": r.optional(r.string), "metadata": metadata(r)}
        policy = r.u8()
        if policy != 0 and policy not in LEAK_POLICIES:
            raise Failure("unknown leak policy %d" % policy)
        data["leakPolicy"] = LEAK_POLICIES.get(policy)
        data["purgeAfterSeconds"] = r.optional(r.i64)
        return data
    if kind == 23:
        return {"plan": r.string(), "rateLimits": rate_limits(r), "credits": r.optional(r.i64), "refill": refill(r)}
    if kind == 24:
        data = {"plan": r.optional(r.string), "refill": refill(r)}
        flag = r.u8()
        if flag > 1:
            raise Failure("bad selfRotate flag")
        data["selfRotate"] = flag == 1
        data["purgeAfterSeconds"] = r.optional(r.i64)
        return data
    return {}


def metadata(r):
    return dict((r.string(), r.string()) for _ in range(r.varint()))


def payload(kind, r):
    if kind == 1:
        data = {"name": r.string(), "prefix": r.string(), "environment": r.string(), "scopes": r.strings(),
                "accounts": r.strings(), "ipAllowlist": cidrs(r)}
        expires = r.optional(r.i64)
        data["expiresAt"] = None if expires is None else timestamp(expires)
        data["rateLimits"] = rate_limits(r)
        data["credits"] = r.optional(r.i64)
        data["metadata"] = metadata(r)
        r.raw(32)  # the secret's digest: never rendered
        return data
    if kind == 2:
        mask, data = r.u8(), {}
        if mask & 0x80:
            raise Failure("unknown update fields")
        if mask & 1:
            data["name"] = r.string()
        if mask & 2:
            data["scopes"] = r.strings()
        if mask & 4:
            data["accounts"] = r.strings()
        if mask & 8:
            data["ipAllowlist"] = cidrs(r)
        if mask & 16:
            expires = r.optional(r.i64)
            data["expiresAt"] = None if expires is None else timestamp(expires)
        if mask & 32:
            data["rateLimits"] = rate_limits(r)
        if mask & 64:
            data["metadata"] = metadata(r)
        return data
    if kind == 3:
        r.raw(32)  # the new secret's digest: never rendered
        return {"gracePeriodSeconds": r.varint(), "previousSecretExpiresAt": timestamp(r.i64())}
    if kind in (4, 6):
        return {"reason": r.optional(r.string)}
    if kind in (5, 7):
        return {}
    if kind == 8:
        return {"add": r.i64(), "balance": r.i64()}
    if kind == 10:
        return {"method": r.string(), "route": r.string(), "status": http_status(r), "keyId": optional_key_id(r),
                "count": request_count(r)}
    if kind == 11:
        data = {"method": r.optional(r.string), "route": r.optional(r.string)}
        reason = r.u8()
        if reason != 0 and reason not in AUTH_FAILURE_REASONS:
            raise Failure("unknown auth failure reason %d" % reason)
        data["reason"] = AUTH_FAILURE_REASONS.get(reason)
        data["keyId"] = optional_key_id(r)
        data["count"] = request_count(r)
        return data
    if kind >= 20:
        return quota_payload(kind, r)
    code = r.u8()
    if code >= len(VERIFY_CODES):
        raise Failure("unknown verify code %d" % code)
    data = {"code": VERIFY_CODES[code], "scope": r.optional(r.string), "account": r.optional(r.string),
            "endpoint": r.optional(r.string), "latencyMicros": r.varint(), "cost": r.varint()}
    # A management credential's use ends with the HTTP status answered.
    data["status"] = None if r.at == len(r.data) else http_status(r)
    return data


def decode(record, seq, prev_hash, chain_hash):
    """The event JSON the API renders for a record stored at seq with these hashes."""
    r = Reader(record)
    if r.u8() != 1:
        raise Failure("unknown record version")
    kind = r.u8()
    if kind not in EVENT_TYPES:
        raise Failure("unknown event type %d" % kind)
    time = r.i64()
    raw_key = r.raw(16)
    key = key_id(raw_key)
    owner = r.string()
    actor_kind = r.u8()
    if actor_kind not in ACTOR_KINDS:
        raise Failure("unknown actor kind %d" % actor_kind)
    actor = {"type": ACTOR_KINDS[actor_kind], "id": r.string()}
    ip_length = r.u8()
    if ip_length not in (0, 4, 16):
        raise Failure("bad ip length %d" % ip_length)
    ip = ip_text(r.raw(ip_length)) if ip_length else None
    request_id = r.optional(r.string)
    data = payload(kind, r)
    if r.at != len(record):
        raise Failure("trailing bytes after the payload")
    event = {"seq": seq, "id": "evt_" + chain_hash[:12].hex(), "type": EVENT_TYPES[kind], "time": timestamp(time)}
    if key != key_id(bytes(16)):  # events about no key (ledger.request, auth.failed) have no keyId
        event["keyId"] = key
    event.update({"owner": owner, "actor": actor, "ip": ip, "requestId": request_id, "data": data,
                  "prevHash": prev_hash.hex(), "hash": chain_hash.hex()})
    return event


# --- The export ---------------------------------------------------------------------------


def verify(lines, vkey, held=None, previous=None, consistency=None, printer=None):
    if not lines:
        raise Failure("the export is empty")
    try:
        head = json.loads(lines[0])
        note = head["checkpoint"]
    except (ValueError, KeyError, TypeError):
        raise Failure('line 1 is not {"checkpoint": "<note>"}')
    origin, size, root = verify_note(note, vkey)
    if held is not None and (held[1], held[2]) != (size, root):
        raise Failure("the export's checkpoint (size %d) is not the checkpoint given (size %d)" % (size, held[1]))
    if previous is not None:
        if previous[0] != origin:
            raise Failure("the previous checkpoint is of another log (%s)" % previous[0])
        if not verify_consistency(previous[1], size, previous[2], root, consistency or []):
            raise Failure("the checkpoint of size %d is not consistent with the previous one of size %d"
                          % (size, previous[1]))
    last, events, links = None, 0, 0
    for number, line in enumerate(lines[1:], start=2):
        try:
            event = json.loads(line)
            seq, record = event["seq"], b64(event["record"])
            prev_hash, chain_hash = bytes.fromhex(event["prevHash"]), bytes.fromhex(event["hash"])
            proof = [bytes.fromhex(h) for h in event["proof"]]
        except (ValueError, KeyError, TypeError):
            raise Failure("line %d is not an exported event with record and proof" % number)
        if hashlib.sha256(prev_hash + record).digest() != chain_hash:
            raise Failure("seq %d: the record does not hash to the event's hash" % seq)
        try:
            decoded = decode(record, seq, prev_hash, chain_hash)
        except (Failure, UnicodeDecodeError) as error:
            raise Failure("seq %d: the record does not decode: %s" % (seq, error))
        shown = dict(event)
        del shown["record"], shown["proof"]
        if decoded != shown:
            fields = sorted(k for k in set(decoded) | set(shown) if decoded.get(k) != shown.get(k))
            raise Failure("seq %d: the event's JSON differs from its record in %s" % (seq, ", ".join(fields)))
        if last is not None and seq <= last[0]:
            raise Failure("seq %d does not follow seq %d" % (seq, last[0]))
        if last is not None and last[0] + 1 == seq:
            if prev_hash != last[1]:
                raise Failure("seq %d: prevHash is not the hash of seq %d" % (seq, last[0]))
            links += 1
        leaf = hashlib.sha256(b"\x00" + record).digest()
        if not verify_inclusion(leaf, seq - 1, size, proof, root):
            raise Failure("seq %d: the inclusion proof does not lead to the checkpoint's root" % seq)
        if printer:
            printer(decoded)
        last, events = (seq, chain_hash), events + 1
    return origin, size, events, links


def main():
    parser = argparse.ArgumentParser(description="Check a KeyLedger verifiable export offline.")
    parser.add_argument("export")
    parser.add_argument("--vkey", required=True)
    parser.add_argument("--checkpoint", help="a file holding a checkpoint note the export must match")
    parser.add_argument("--previous", help="a file holding an earlier checkpoint note")
    parser.add_argument("--consistency", help="a file holding the consistency proof answer from --previous")
    parser.add_argument("--decode", action="store_true", help="print each record decoded, as API JSON")
    args = parser.parse_args()
    try:
        vkey = parse_vkey(args.vkey)
        with open(args.export, encoding="utf-8") as f:
            lines = [line for line in f.read().split("\n") if line]
        held = previous = consistency = None
        if args.checkpoint:
            with open(args.checkpoint, encoding="utf-8") as f:
                held = verify_note(f.read(), vkey)
        if args.previous:
            with open(args.previous, encoding="utf-8") as f:
                previous = verify_note(f.read(), vkey)
            if args.consistency:
                with open(args.consistency, encoding="utf-8") as f:
                    answer = json.load(f)
                answer = answer.get("data", answer)
                consistency = [bytes.fromhex(h) for h in answer["hashes"]]
        printer = (lambda e: print(json.dumps(e, ensure_ascii=False, separators=(",", ":")))) if args.decode else None
        origin, size, events, links = verify(lines, vkey, held, previous, consistency, printer)
    except Failure as failure:
        print("verify_export: FAILED: %s" % failure, file=sys.stderr)
        return 1
    except OSError as error:
        print("verify_export: %s" % error, file=sys.stderr)
        return 2
    print("verify_export: OK: %d events in the tree of size %d (%s), %d chain links checked"
          % (events, size, origin, links), file=sys.stderr if args.decode else sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
