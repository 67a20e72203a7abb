import Events
import Ledger

extension ServerFixture {
    /// The events appended after `seq`, oldest first.
    func events(after seq: UInt64) throws -> [Event] {
        let head = eventCount
        guard head > seq else { return [] }
        return try (seq + 1...head).compactMap { try ledger.event(at: $0)?.event }
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
