public import Events

/// The sliding-window counters of a set of rate limits whose holder outlives changes to
/// them (an owner's own and plan limits, a key's plan limits), each found by where the
/// limit comes from, its name (or position when unnamed) and its window length: a
/// limit that keeps those keeps its window (API.md, "Owners, plans and quotas").
public struct LimitWindows: Equatable, Sendable {
    /// Where a limit comes from.
    public enum Origin: UInt8, Sendable {
        /// The holder's own limits.
        case own = 0
        /// The limits of the holder's plan.
        case plan = 1
    }

    public struct Slot: Hashable, Sendable, Comparable {
        public var origin: Origin
        public var name: String
        public var windowSeconds: UInt32

        public static func < (a: Slot, b: Slot) -> Bool {
            (a.origin.rawValue, a.name, a.windowSeconds) < (b.origin.rawValue, b.name, b.windowSeconds)
        }
    }

    /// Sorted by slot, so equal windows encode to equal bytes.
    public var entries: [(slot: Slot, window: RateWindow)] = []

    public init() {}

    public static func == (a: LimitWindows, b: LimitWindows) -> Bool {
        a.entries.count == b.entries.count
            && zip(a.entries, b.entries).allSatisfy { $0.slot == $1.slot && $0.window == $1.window }
    }

    /// The slot of the limit at `index` of a list from `origin`.
    public static func slot(_ limit: RateLimit, at index: Int, _ origin: Origin) -> Slot {
        Slot(origin: origin, name: limit.name ?? "#\(index)", windowSeconds: limit.windowSeconds)
    }

    public func window(_ slot: Slot) -> RateWindow {
        entries.first { $0.slot == slot }?.window ?? RateWindow()
    }

    /// Counts one granted request at `time` in every limit of `limits`; windows of
    /// limits no longer among them are dropped.
    public mutating func countGrant(_ limits: [(RateLimit, Origin, Int)], at time: Int64) {
        var next: [(slot: Slot, window: RateWindow)] = []
        for (limit, origin, index) in limits {
            let slot = Self.slot(limit, at: index, origin)
            guard !next.contains(where: { $0.slot == slot }) else { continue }
            var window = window(slot).rolled(to: time, windowMicros: Int64(limit.windowSeconds) * 1_000_000)
            window.current += 1
            next.append((slot, window))
        }
        entries = next.sorted { $0.slot < $1.slot }
    }

    /// The limits (with origin and position) of an own list and a plan's.
    public static func effective(own: [RateLimit], plan: [RateLimit]) -> [(RateLimit, Origin, Int)] {
        own.enumerated().map { ($1, .own, $0) } + plan.enumerated().map { ($1, .plan, $0) }
    }

    func encode(_ w: inout BinaryWriter) {
        w.varint(UInt64(entries.count))
        for (slot, window) in entries {
            w.u8(slot.origin.rawValue)
            w.string(slot.name)
            w.varint(UInt64(slot.windowSeconds))
            w.i64(window.start)
            w.varint(window.current)
            w.varint(window.previous)
        }
    }

    init(decoding r: inout BinaryReader) throws(EventDecodingError) {
        let n = try r.count(limit: 1000)
        for _ in 0..<n {
            guard let origin = Origin(rawValue: try r.u8()) else { throw r.fail("bad limit origin") }
            let name = try r.string()
            let seconds = try r.varint()
            guard seconds <= UInt64(UInt32.max) else { throw r.fail("window out of range") }
            let window = RateWindow(start: try r.i64(), current: try r.varint(), previous: try r.varint())
            entries.append((Slot(origin: origin, name: name, windowSeconds: UInt32(seconds)), window))
        }
    }
}
