import Events
import Ledger
import Projections

/// The simulated world: keys with their folded state, and a clock walking from
/// `now - span` to `now` one step per event.
struct Simulation {
    var random: SplitMix64
    let keyCount: Int
    let owners: Int
    let total: Int
    let start: Int64
    let step: Int64
    var produced = 0
    var states: [KeyState] = []
    var pending: [Event] = []
    let root = Actor(kind: .root, id: "root")
    let ips =
        (1...200).compactMap { IPAddress("203.0.113.\($0 % 250 + 1)") }
        + (1...50).compactMap { IPAddress("2001:db8::\($0)") }
    let scopes = ["accounts:read", "accounts:write", "payments:read", "payments:write", "reports:read"]
    let endpoints = ["GET /api/v1/accounts", "POST /api/v1/payments", "GET /api/v1/reports", "GET /api/v1/payments"]

    init(keys: Int, owners: Int, total: Int, span: Int64, now: Int64, seed: UInt64) {
        random = SplitMix64(seed: seed)
        keyCount = keys
        self.owners = owners
        self.total = total
        start = now - span
        step = max(1, span / Int64(total))
    }

    var time: Int64 { start + Int64(produced) * step }

    mutating func next() -> Event? {
        while pending.isEmpty {
            guard produced < total else { return nil }
            if states.count < keyCount { create() } else { act() }
        }
        produced += 1
        return pending.removeFirst()
    }

    mutating func emit(
        _ payload: EventPayload, _ state: KeyState?, id: KeyID, owner: String, actor: Actor, ip: IPAddress?
    ) -> KeyState? {
        let event = Event(
            time: time, keyID: id, owner: owner, actor: actor, ip: ip,
            requestID: "req_gen\(produced)", payload: payload)
        pending.append(event)
        return KeyState.evolve(state, event)
    }

    mutating func create() {
        let n = states.count
        var r = random
        let id = KeyID.make(at: time, using: &r)
        random = r
        let chosen = scopes.filter { _ in random.next() % 2 == 0 }
        let created = KeyCreated(
            name: "service \(n)", prefix: n % 5 == 0 ? "sk_test_" : "sk_live_",
            environment: n % 5 == 0 ? "test" : "live",
            scopes: chosen.isEmpty ? [scopes[0]] : chosen, accounts: n % 7 == 0 ? ["acc_\(n % 50)"] : [],
            ipAllowlist: n % 11 == 0 ? [CIDR(network: IPAddress(v4: 0xCB00_7100), prefixLength: 24)] : [],
            expiresAt: n % 20 == 0 ? start + Int64(random.next() % UInt64(max(1, total))) * step : nil,
            rateLimits: n % 3 == 0 ? [RateLimit(limit: 50, windowSeconds: 60)] : [],
            credits: n % 10 == 0 ? 20_000 : nil, metadata: ["team": "team-\(n % 17)"],
            secretDigest: Secret.digest("simulated-\(n)-\(random.next())"))
        if let state = emit(.created(created), nil, id: id, owner: "org_\(n % owners)", actor: root, ip: ips[0]) {
            states.append(state)
        }
    }

    mutating func act() {
        // Skewed choice: a few hot keys carry most of the traffic.
        let u = Double(random.next() % 1_000_000) / 1_000_000
        let index = min(states.count - 1, Int(Double(states.count) * u * u * u))
        let state = states[index]
        let roll = random.next() % 100_000
        let payload: EventPayload?
        switch roll {
        case 0..<40:
            payload = try? Decisions.rotate(
                state, gracePeriodSeconds: 3600, secretDigest: Secret.digest("rot-\(random.next())"), now: time)
        case 40..<60: payload = try? Decisions.suspend(state, reason: "investigation", now: time)
        case 60..<100: payload = try? Decisions.reactivate(state, now: time)
        case 100..<110: payload = try? Decisions.revoke(state, reason: "leaked")
        case 110..<150: payload = try? Decisions.addCredits(state, amount: 10_000, now: time)
        default: return access(index)
        }
        guard let payload else { return access(index) }
        if let new = emit(payload, state, id: state.id, owner: state.owner, actor: root, ip: ips[0]) {
            states[index] = new
        }
    }

    mutating func access(_ index: Int) {
        let state = states[index]
        let request = VerifyRequest(
            scope: scopes[Int(random.next() % UInt64(scopes.count))],
            account: random.next() % 4 == 0 ? "acc_\(random.next() % 60)" : nil,
            ip: ips[Int(random.next() % UInt64(ips.count))],
            endpoint: endpoints[Int(random.next() % UInt64(endpoints.count))], cost: 1)
        // Latency: mostly 200-800 µs with a long tail.
        let latency = UInt32(200 + random.next() % 600 + (random.next() % 50 == 0 ? random.next() % 20_000 : 0))
        let decision = VerifyDecision.decide(
            state, match: .current, request: request, latencyMicros: latency, now: time)
        var current: KeyState? = state
        for payload in decision.events {
            current = emit(
                payload, current, id: state.id, owner: state.owner, actor: Actor(kind: .key, id: state.id.description),
                ip: request.ip)
        }
        if let current { states[index] = current }
    }
}
