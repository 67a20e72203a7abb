internal import CCurl
internal import Glibc

/// How outbound requests are made.
public struct OutboundOptions: Sendable {
    /// Seconds to connect (TCP and TLS handshake) at most.
    public var connectTimeout: Int = 5
    /// Seconds for the whole request at most.
    public var totalTimeout: Int = 10
    /// A PEM file of extra trusted CAs, beside the system's.
    public var caFile: String?
    /// Allow plain `http://` and private, loopback or link-local destinations.
    public var allowPrivate = false

    public init() {}
}

/// What came of one request: the HTTP status (0 when no response came) or why not.
public struct OutboundResult: Sendable, Equatable {
    public var status: Int
    public var durationMs: Int
    /// Why no acceptable response came; nil for a response of any status.
    public var error: String?

    public var isSuccess: Bool { error == nil && (200..<300).contains(status) }
}

/// POSTs over HTTPS through libcurl: certificates verified against the system CAs (and
/// ``OutboundOptions/caFile``), connect and total timeouts, no redirects, no proxies, and
/// the destination resolved here, checked by address (``AddressPolicy``) and pinned, so
/// the connection goes to the address that was checked. Thread-safe: each request has
/// a handle of its own.
public enum OutboundClient {
    private static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    /// POSTs `body` to `url` with `headers`; never throws: failures are results.
    public static func post(
        url: String, headers: [(String, String)], body: [UInt8], options: OutboundOptions, nowMs: () -> Int
    ) -> OutboundResult {
        let started = nowMs()
        func fail(_ reason: String) -> OutboundResult {
            OutboundResult(status: 0, durationMs: nowMs() - started, error: reason)
        }
        guard initialized else { return fail("libcurl did not initialize") }
        guard let destination = Destination(url: url) else { return fail("not an http(s) URL") }
        guard destination.isHTTPS || options.allowPrivate else {
            return fail("refused: plain http needs --webhook-allow-private")
        }
        let address: String
        switch resolve(destination, allowPrivate: options.allowPrivate) {
        case .success(let a): address = a
        case .failure(let reason): return fail(reason.text)
        }
        guard let handle = curl_easy_init() else { return fail("libcurl handle") }
        defer { curl_easy_cleanup(handle) }
        var pins: UnsafeMutablePointer<curl_slist>?
        var list: UnsafeMutablePointer<curl_slist>?
        defer {
            curl_slist_free_all(pins)
            curl_slist_free_all(list)
        }
        let literal = IPv4or6.parse(destination.host) != nil
        if !literal {
            let bracketed = address.contains(":") ? "[\(address)]" : address
            pins = curl_slist_append(nil, "\(destination.host):\(destination.port):\(bracketed)")
        }
        for (name, value) in headers { list = curl_slist_append(list, "\(name): \(value)") }
        list = curl_slist_append(list, "Content-Type: application/json")
        list = curl_slist_append(list, "Expect:")
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let code: CURLcode = url.withCString { urlText in
            body.withUnsafeBufferPointer { bodyBytes in
                errorBuffer.withUnsafeMutableBufferPointer { errors in
                    let protocols = options.allowPrivate ? "http,https" : "https"
                    return protocols.withCString { protocolText in
                        "*".withCString { noProxy in
                            "/etc/ssl/certs".withCString { caPath in
                                (options.caFile ?? "").withCString { caFile in
                                    var setup = [
                                        kl_curl_setopt_pointer(handle, CURLOPT_URL, urlText),
                                        kl_curl_setopt_pointer(handle, CURLOPT_PROTOCOLS_STR, protocolText),
                                        kl_curl_setopt_pointer(handle, CURLOPT_REDIR_PROTOCOLS_STR, protocolText),
                                        kl_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0),
                                        kl_curl_setopt_pointer(handle, CURLOPT_NOPROXY, noProxy),
                                        kl_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1),
                                        kl_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, options.connectTimeout),
                                        kl_curl_setopt_long(handle, CURLOPT_TIMEOUT, options.totalTimeout),
                                        kl_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1),
                                        kl_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2),
                                        kl_curl_setopt_pointer(handle, CURLOPT_CAPATH, caPath),
                                        kl_curl_setopt_long(handle, CURLOPT_POST, 1),
                                        kl_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, bodyBytes.baseAddress),
                                        kl_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, bodyBytes.count),
                                        kl_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, list),
                                        kl_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errors.baseAddress),
                                        kl_curl_setopt_write_function(handle) { _, size, count, _ in size * count },
                                    ]
                                    if options.caFile != nil {
                                        setup.append(kl_curl_setopt_pointer(handle, CURLOPT_CAINFO, caFile))
                                    }
                                    if let pins { setup.append(kl_curl_setopt_pointer(handle, CURLOPT_RESOLVE, pins)) }
                                    if let bad = setup.first(where: { $0 != CURLE_OK }) { return bad }
                                    return curl_easy_perform(handle)
                                }
                            }
                        }
                    }
                }
            }
        }
        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return fail(detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        var status = 0
        _ = kl_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return OutboundResult(status: status, durationMs: nowMs() - started, error: nil)
    }

    struct Refusal: Error {
        let text: String
    }

    /// The address to connect to: every address the host resolves to must be allowed
    /// (a name with one private address among public ones is refused too).
    static func resolve(_ destination: Destination, allowPrivate: Bool) -> Result<String, Refusal> {
        if let literal = IPv4or6.parse(destination.host) {
            guard allowPrivate || AddressPolicy.isPublic(literal.bytes) else {
                return .failure(Refusal(text: "refused: \(destination.host) is not a public address"))
            }
            return .success(destination.host)
        }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(destination.host, nil, &hints, &found)
        guard status == 0, let first = found else {
            return .failure(
                Refusal(text: "cannot resolve \(destination.host): \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(first) }
        var chosen: String?
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let e = entry {
            if let address = IPv4or6(sockaddr: e.pointee.ai_addr, family: e.pointee.ai_family) {
                guard allowPrivate || AddressPolicy.isPublic(address.bytes) else {
                    return .failure(
                        Refusal(text: "refused: \(destination.host) resolves to \(address.text), not a public address"))
                }
                if chosen == nil { chosen = address.text }
            }
            entry = e.pointee.ai_next
        }
        guard let chosen else { return .failure(Refusal(text: "\(destination.host) has no IP address")) }
        return .success(chosen)
    }
}

/// An IPv4 or IPv6 address: its bytes and its text.
struct IPv4or6 {
    let bytes: [UInt8]
    let text: String

    static func parse(_ text: String) -> IPv4or6? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return IPv4or6(bytes: withUnsafeBytes(of: v4) { Array($0) }, text: text)
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return IPv4or6(bytes: withUnsafeBytes(of: v6) { Array($0) }, text: text)
        }
        return nil
    }

    init(bytes: [UInt8], text: String) {
        self.bytes = bytes
        self.text = text
    }

    init?(sockaddr: UnsafeMutablePointer<sockaddr>?, family: Int32) {
        guard let sockaddr else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        if family == AF_INET {
            var address = sockaddr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            bytes = withUnsafeBytes(of: address) { Array($0) }
            inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count))
        } else if family == AF_INET6 {
            var address = sockaddr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
            bytes = withUnsafeBytes(of: address) { Array($0) }
            inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
        } else {
            return nil
        }
        text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
