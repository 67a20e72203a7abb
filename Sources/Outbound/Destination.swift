/// The scheme, host and port of an outbound URL, parsed strictly: what the address
/// checks and the connection pin need.
public struct Destination: Sendable, Equatable {
    public var isHTTPS: Bool
    /// The host as written, without brackets for an IPv6 literal.
    public var host: String
    public var port: UInt16

    /// Parses `https://host[:port][/...]` (or `http://`); nil for anything else.
    public init?(url: String) {
        let lower = url.lowercased()
        var rest: Substring
        if lower.hasPrefix("https://") {
            isHTTPS = true
            rest = lower.dropFirst(8)
        } else if lower.hasPrefix("http://") {
            isHTTPS = false
            rest = lower.dropFirst(7)
        } else {
            return nil
        }
        rest = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !rest.isEmpty, !rest.contains("@") else { return nil }
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else if let colon = rest.firstIndex(of: ":") {
            host = String(rest[..<colon])
            portText = rest[rest.index(after: colon)...]
        } else {
            host = String(rest)
        }
        guard !host.isEmpty else { return nil }
        if let portText {
            guard let port = UInt16(portText), port > 0 else { return nil }
            self.port = port
        } else {
            port = isHTTPS ? 443 : 80
        }
    }
}
