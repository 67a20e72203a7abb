import Events
import Ledger
import Testing

extension ServerFixture {
    /// The events appended after `seq`, oldest first.
    func events(after seq: UInt64) throws -> [Event] {
        let head = eventCount
        guard head > seq else { return [] }
        // Every seq up to the head is in the log: a gap is a failure, not a shorter list.
        return try (seq + 1...head).map { try #require(try ledger.event(at: $0), "seq \($0) missing").event }
    }

    /// What the events after `seq` are: their type, and the HTTP status an audit record carries.
    func records(after seq: UInt64) throws -> [String] {
        try events(after: seq).map { event in
            switch event.payload {
            case .accessed(let a): "\(event.type.wireName) \(a.status.map(String.init) ?? "-")"
            case .request(let r): "\(event.type.wireName) \(r.status)"
            case .authFailed(let f): "\(event.type.wireName) \(f.reason?.wireName ?? "-")"
            default: event.type.wireName
            }
        }
    }
}

extension ServerFixture {
    /// A client connecting from another loopback address.
    func client(from source: String) throws -> RawClient { try RawClient(port: port, from: source) }
}
