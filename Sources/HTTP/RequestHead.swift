/// How a request's body is delimited (RFC 9112 section 6).
enum BodyFraming: Equatable {
    /// No body: neither `Content-Length` nor `Transfer-Encoding`, or a length of 0.
    case none
    /// Exactly this many bytes (more than 0, at most the configured limit).
    case length(Int)
    /// `Transfer-Encoding: chunked`.
    case chunked
}

/// What the server learned from a complete, valid request head.
struct RequestHead {
    var method: String
    var path: String
    var query: String
    var version: HTTPVersion
    var headers: HTTPHeaders
    var framing: BodyFraming
    /// Whether the connection may carry another request after this one.
    var keepAlive: Bool
    /// `Expect: 100-continue` on an HTTP/1.1 request that has a body.
    var expectsContinue: Bool
    /// `HEAD`: the response is sent without its body.
    var isHead: Bool
}

/// The header fields the server itself acts on, gathered while the head is parsed.
struct FramingFields {
    var hostCount = 0
    var contentLength: Int?
    var sawTransferEncoding = false
    var chunkedCodings = 0
    var otherCodings = 0
    var connectionClose = false
    var connectionKeepAlive = false
    var expectsContinue = false

    /// Numbers past this are all treated as "too large"; no body limit comes near it.
    static let lengthCeiling = 1 << 53

    /// Takes in one field line whose name is `name` and value `value` (already trimmed).
    mutating func record(name: UnsafeRawBufferPointer.SubSequence, value: UnsafeRawBufferPointer.SubSequence)
        throws(HTTPProtocolError)
    {
        switch name.count {
        case 4 where ASCII.equalsIgnoringCase(name, "host"):
            hostCount += 1
        case 6 where ASCII.equalsIgnoringCase(name, "expect"):
            if ASCII.equalsIgnoringCase(value, "100-continue") { expectsContinue = true }
        case 10 where ASCII.equalsIgnoringCase(name, "connection"):
            Self.forEachListElement(value) { token in
                if ASCII.equalsIgnoringCase(token, "close") { connectionClose = true }
                if ASCII.equalsIgnoringCase(token, "keep-alive") { connectionKeepAlive = true }
            }
        case 14 where ASCII.equalsIgnoringCase(name, "content-length"):
            try recordContentLength(value)
        case 17 where ASCII.equalsIgnoringCase(name, "transfer-encoding"):
            sawTransferEncoding = true
            Self.forEachListElement(value) { coding in
                // A coding may carry parameters ("gzip;q=1"); only its name matters here.
                let end = coding.firstIndex { $0 == ASCII.semicolon || $0 == ASCII.space || $0 == ASCII.tab }
                let name = coding[coding.startIndex..<(end ?? coding.endIndex)]
                if ASCII.equalsIgnoringCase(name, "chunked") { chunkedCodings += 1 } else { otherCodings += 1 }
            }
        default:
            break
        }
    }

    /// The body framing these fields describe, checked against RFC 9112 section 6.
    func framing(version: HTTPVersion, maxBodyBytes: Int) throws(HTTPProtocolError) -> BodyFraming {
        if version == .http1_1 && hostCount == 0 {
            throw .badRequest("An HTTP/1.1 request needs a Host header field.")
        }
        if hostCount > 1 { throw .badRequest("More than one Host header field.") }
        if sawTransferEncoding {
            if contentLength != nil {
                throw .badRequest("A request may not have both Content-Length and Transfer-Encoding.")
            }
            if otherCodings > 0 { throw .unsupportedTransferCoding }
            if chunkedCodings != 1 { throw .badRequest("Transfer-Encoding must be exactly 'chunked'.") }
            return .chunked
        }
        guard let length = contentLength, length > 0 else { return .none }
        if length > maxBodyBytes { throw .bodyTooLarge(limit: maxBodyBytes) }
        return .length(length)
    }

    /// One `Content-Length` field: a number, or a list of equal numbers (RFC 9112
    /// section 6.3); it must agree with any earlier field.
    private mutating func recordContentLength(_ value: UnsafeRawBufferPointer.SubSequence) throws(HTTPProtocolError) {
        var elements = 0
        var invalid = false
        var lengths: (first: Int?, conflict: Bool) = (contentLength, false)
        Self.forEachListElement(value) { element in
            elements += 1
            var number = 0
            for byte in element {
                guard byte >= ASCII.zero && byte <= ASCII.nine else {
                    invalid = true
                    return
                }
                number = min(number * 10 + Int(byte - ASCII.zero), Self.lengthCeiling)
            }
            if let first = lengths.first, first != number { lengths.conflict = true }
            lengths.first = number
        }
        if invalid || elements == 0 { throw .badRequest("Content-Length is not a number.") }
        if lengths.conflict { throw .badRequest("Content-Length values disagree.") }
        contentLength = lengths.first
    }

    /// Calls `body` with each non-empty element of a comma-separated list, trimmed of
    /// optional whitespace.
    private static func forEachListElement(
        _ list: UnsafeRawBufferPointer.SubSequence, _ body: (UnsafeRawBufferPointer.SubSequence) -> Void
    ) {
        var start = list.startIndex
        while start <= list.endIndex {
            let end = ASCII.firstIndex(of: ASCII.comma, in: list[start...]) ?? list.endIndex
            var first = start
            var last = end
            while first < last && (list[first] == ASCII.space || list[first] == ASCII.tab) { first += 1 }
            while last > first && (list[last - 1] == ASCII.space || list[last - 1] == ASCII.tab) { last -= 1 }
            if first < last { body(list[first..<last]) }
            start = end + 1
        }
    }
}
