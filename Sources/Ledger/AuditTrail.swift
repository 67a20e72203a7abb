public import Events
import Synchronization

/// One ledger-wide audit record to append: a `ledger.request` or an `auth.failed`, with
/// the request facts its event carries. Such events name no key (``KeyID/none``) and
/// no owner.
public struct AuditRecord: Sendable, Equatable {
    public var actor: Actor
    public var ip: IPAddress?
    public var requestID: String?
    public var payload: EventPayload

    public init(actor: Actor, ip: IPAddress?, requestID: String?, payload: EventPayload) {
        self.actor = actor
        self.ip = ip
        self.requestID = requestID
        self.payload = payload
    }
}

extension Actor {
    /// The actor of an `auth.failed`: nobody was authenticated.
    public static let unauthenticated = Actor(kind: .system, id: "unauthenticated")
}

/// The bookkeeping behind the records of API.md "Audit completeness" that are not
/// written one per request: coalesced reads and rate-limited authentication failures.
/// It decides which records to append and when; the writer appends them. Thread-safe.
///
/// Reads by root or the socket with the same actor, method, route and status are one
/// coalescing group. The first read of a group is recorded at once (count 1) before it
/// is answered; identical reads within the next minute are answered at once and counted
/// in the group's pending count; the pending count is appended as one record when the
/// minute is over (by the next identical read, or ``due(now:)``), and at close
/// (``drain()``). So at most one record per group per minute, every request counted,
/// and a crash loses at most the pending counts: under a minute of identical reads per
/// group, none of them the first of its kind.
///
/// Failed authentications are counted per client address: the first ``failuresPerMinute``
/// of a minute are recorded one by one; the rest are counted and appended as one record
/// when the minute is over, or at close. At most ``maxAddresses`` addresses are tracked;
/// beyond them (a flood from many addresses) failures share one overflow group whose
/// summary carries no address.
public final class AuditTrail: Sendable {
    /// Coalescing and rate windows, in µs.
    public static let window: Int64 = 60_000_000
    /// Failed authentications recorded one by one per address and minute.
    public static let failuresPerMinute = 60
    /// Addresses whose failures are tracked at once.
    public let maxAddresses: Int
    /// Coalescing groups tracked at once; reads of groups beyond are recorded one by one.
    public let maxGroups: Int

    struct Group: Hashable {
        var actor: Actor
        var method: String
        var route: String
        var status: UInt16
    }

    /// A group's window: when its last record was appended, and what has been answered since.
    struct Coalesced {
        var windowStart: Int64
        var pending: UInt64 = 0
        /// The target and address shared by every pending read (nil once they differ).
        var target: KeyID?
        var ip: IPAddress?
    }

    /// An address's minute of failures.
    struct Failures {
        var windowStart: Int64
        var recorded = 0
        /// The failures over the limit this minute, merged.
        var suppressed: AuthFailed?
    }

    /// A failure group: a client address, or the overflow group.
    enum Source: Hashable {
        case address(IPAddress?)
        case overflow
    }

    struct State {
        var groups: [Group: Coalesced] = [:]
        var failures: [Source: Failures] = [:]
        var lastPrune: Int64 = .min
    }

    private let state = Mutex(State())

    public init(maxAddresses: Int = 4096, maxGroups: Int = 1024) {
        self.maxAddresses = maxAddresses
        self.maxGroups = maxGroups
    }

    /// Addresses (and the overflow group) whose failures are tracked now.
    public var trackedAddresses: Int { state.withLock { $0.failures.count } }

    /// The record to append before answering a root or socket read answered `request`'s
    /// status; nil when the read is counted in its group's pending record instead.
    ///
    /// When appending the record fails, hand it to ``restore(_:ownRequest:)``.
    public func read(_ request: LedgerRequest, actor: Actor, ip: IPAddress?, requestID: String?, now: Int64)
        -> AuditRecord?
    {
        let group = Group(actor: actor, method: request.method, route: request.route, status: request.status)
        return state.withLock { s -> AuditRecord? in
            guard var entry = s.groups[group] else {
                if s.groups.count < maxGroups { s.groups[group] = Coalesced(windowStart: now) }
                return AuditRecord(actor: actor, ip: ip, requestID: requestID, payload: .request(request))
            }
            if !Self.isOver(entry.windowStart, now) {
                if entry.pending == 0 {
                    (entry.target, entry.ip) = (request.target, ip)
                } else {
                    if entry.target != request.target { entry.target = nil }
                    if entry.ip != ip { entry.ip = nil }
                }
                entry.pending += 1
                s.groups[group] = entry
                return nil
            }
            // The minute is over: this read's record also carries the reads pending.
            var record = request
            var recordIP = ip
            if entry.pending > 0 {
                if entry.target != request.target { record.target = nil }
                if entry.ip != ip { recordIP = nil }
                record.count += entry.pending
            }
            s.groups[group] = Coalesced(windowStart: now)
            return AuditRecord(
                actor: actor, ip: recordIP, requestID: record.count == 1 ? requestID : nil, payload: .request(record))
        }
    }

    /// Gives back the counts of a record that could not be appended, so that a later
    /// record carries them.
    ///
    /// - Parameter ownRequest: true when the record was ``read(_:actor:ip:requestID:now:)``'s
    ///   for a read now answered 503: that read is not counted again (its answer changed).
    public func restore(_ record: AuditRecord, ownRequest: Bool) {
        switch record.payload {
        case .request(let r):
            let count = r.count - (ownRequest ? 1 : 0)
            let group = Group(actor: record.actor, method: r.method, route: r.route, status: r.status)
            state.withLock { s in
                // No window: the next identical read is recorded at once, with these counts.
                var entry = s.groups[group] ?? Coalesced(windowStart: .min)
                entry.windowStart = .min
                if count > 0 {
                    if entry.pending == 0 {
                        (entry.target, entry.ip) = (r.target, record.ip)
                    } else {
                        if entry.target != r.target { entry.target = nil }
                        if entry.ip != record.ip { entry.ip = nil }
                    }
                    entry.pending += count
                }
                s.groups[group] = entry
            }
        case .authFailed(let f):
            // A failure's own record went with its answer (503); a summary's counts stay.
            guard !ownRequest else { return }
            state.withLock { s in
                let source = Source.address(record.ip)
                var entry = s.failures[source] ?? Failures(windowStart: .min)
                entry.suppressed = entry.suppressed?.merged(with: f) ?? f
                s.failures[source] = entry
            }
        default:
            return
        }
    }

    /// The records to append for a failed authentication from `ip`: its own record while
    /// the address is under ``failuresPerMinute`` this minute (else none: it is counted),
    /// and the summaries of minutes now over (this address's previous one, or those of
    /// addresses swept to make room).
    public func failure(_ failure: AuthFailed, ip: IPAddress?, requestID: String?, now: Int64) -> (
        own: AuditRecord?, summaries: [AuditRecord]
    ) {
        state.withLock { s -> (own: AuditRecord?, summaries: [AuditRecord]) in
            var out: [AuditRecord] = []
            var own: AuditRecord?
            var source = Source.address(ip)
            if s.failures[source] == nil, s.failures.count >= maxAddresses {
                // At most one sweep a second while the table is full.
                if Self.isOver(s.lastPrune, now, after: 1_000_000) { prune(&s, now: now, into: &out) }
                if s.failures.count >= maxAddresses { source = .overflow }
            }
            var entry = s.failures[source] ?? Failures(windowStart: now)
            if Self.isOver(entry.windowStart, now) {
                if let summary = entry.suppressed { out.append(Self.summary(summary, source)) }
                entry = Failures(windowStart: now)
            }
            if entry.recorded < Self.failuresPerMinute {
                entry.recorded += 1
                own = AuditRecord(actor: .unauthenticated, ip: ip, requestID: requestID, payload: .authFailed(failure))
            } else {
                entry.suppressed = entry.suppressed?.merged(with: failure) ?? failure
            }
            s.failures[source] = entry
            return (own, out)
        }
    }

    /// The pending records whose minute is over; forgets groups and addresses idle for a minute.
    public func due(now: Int64) -> [AuditRecord] {
        state.withLock { s -> [AuditRecord] in
            var out: [AuditRecord] = []
            for (group, entry) in s.groups where Self.isOver(entry.windowStart, now) {
                if entry.pending > 0 {
                    out.append(Self.summary(group, entry))
                    s.groups[group] = Coalesced(windowStart: now)
                } else {
                    s.groups[group] = nil
                }
            }
            prune(&s, now: now, into: &out)
            return out
        }
    }

    /// Every pending record, whatever its minute (at close): nothing stays uncounted.
    public func drain() -> [AuditRecord] {
        state.withLock { s -> [AuditRecord] in
            var out: [AuditRecord] = []
            for (group, entry) in s.groups where entry.pending > 0 { out.append(Self.summary(group, entry)) }
            for (source, entry) in s.failures {
                if let summary = entry.suppressed { out.append(Self.summary(summary, source)) }
            }
            s = State()
            return out
        }
    }

    /// Drops addresses whose minute is over, appending their summaries.
    private func prune(_ s: inout State, now: Int64, into out: inout [AuditRecord]) {
        for (source, entry) in s.failures where Self.isOver(entry.windowStart, now) {
            if let summary = entry.suppressed { out.append(Self.summary(summary, source)) }
            s.failures[source] = nil
        }
        s.lastPrune = now
    }

    /// True when a window that started at `start` (`.min`: none) is over at `now`.
    static func isOver(_ start: Int64, _ now: Int64, after length: Int64 = window) -> Bool {
        start == .min || now >= start + length
    }

    private static func summary(_ group: Group, _ entry: Coalesced) -> AuditRecord {
        AuditRecord(
            actor: group.actor, ip: entry.ip, requestID: nil,
            payload: .request(
                LedgerRequest(
                    method: group.method, route: group.route, status: group.status, target: entry.target,
                    count: entry.pending)))
    }

    private static func summary(_ failures: AuthFailed, _ source: Source) -> AuditRecord {
        var ip: IPAddress?
        if case .address(let address) = source { ip = address }
        return AuditRecord(actor: .unauthenticated, ip: ip, requestID: nil, payload: .authFailed(failures))
    }
}
