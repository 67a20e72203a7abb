public import Events
import JSON
public import Ledger
public import Projections

/// The moment `?at=` and `keyledger history --at` name: right after an event sequence
/// number, or at an RFC 3339 time.
public enum HistoryPoint: Sendable, Equatable {
    case seq(UInt64)
    case time(Int64)

    /// Parses decimal digits as a sequence number and anything else as RFC 3339; nil
    /// when it is neither.
    public init?(_ text: String) {
        if !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            guard let seq = UInt64(text) else { return nil }
            self = .seq(seq)
        } else if let time = RFC3339.parse(text) {
            self = .time(time)
        } else {
            return nil
        }
    }
}

extension Ledger {
    /// A key as it was at `point` (nil when it did not exist yet) and the time to render
    /// it at: the event's time or the given time, never later than now.
    public func state(of id: KeyID, at point: HistoryPoint) throws(LedgerError) -> (state: KeyState?, asOf: Int64) {
        let state: KeyState?
        let asOf: Int64
        switch point {
        case .seq(let seq):
            state = try self.state(of: id, atSeq: seq)
            asOf = try event(at: seq)?.event.time ?? clock.now()
        case .time(let time):
            state = try self.state(of: id, atTime: time)
            asOf = time
        }
        return (state, min(asOf, clock.now()))
    }
}
