/// Writes a response's status line, headers and body into a connection's output bytes.
///
/// Hot path (STYLE.md 12): appends straight into the connection's reused output buffer;
/// numbers are written digit by digit, the reason phrase and framing headers come from
/// static strings, and the `Date` value from a once-a-second cache.
enum ResponseEncoder {
    /// Appends `response` to `output`.
    ///
    /// - Parameters:
    ///   - isHead: the request was HEAD: `Content-Length` is sent, the body is not.
    ///   - version: the request's version; an HTTP/1.0 client kept alive is told so.
    ///   - close: the connection closes after this response.
    ///   - date: the current `Date` field value (29 bytes).
    /// - Returns: whether the connection must close after this response: `close`, or
    ///   the response itself said `Connection: close`.
    static func encode(
        _ response: HTTPResponse, isHead: Bool, version: HTTPVersion, close: Bool, date: [UInt8],
        into output: inout [UInt8]
    ) -> Bool {
        let status = (200...999).contains(response.status) ? response.status : 500
        append("HTTP/1.1 ", to: &output)
        appendDecimal(status, to: &output)
        output.append(ASCII.space)
        append(reasonPhrase(status), to: &output)
        append("\r\n", to: &output)

        var closing = close
        var hasDate = false
        for (name, value) in response.headers {
            switch Framing(name) {
            case .contentLength, .transferEncoding:
                continue
            case .connection:
                if value.utf8.split(separator: ASCII.comma).contains(where: isCloseToken) { closing = true }
                continue
            case .date:
                hasDate = true
            case .other:
                break
            }
            appendField(name, value, to: &output)
        }
        if !hasDate {
            append("Date: ", to: &output)
            output.append(contentsOf: date)
            append("\r\n", to: &output)
        }
        let bodyAllowed = status != 204 && status != 304
        if bodyAllowed {
            append("Content-Length: ", to: &output)
            appendDecimal(response.body.count, to: &output)
            append("\r\n", to: &output)
        }
        if closing {
            append("Connection: close\r\n", to: &output)
        } else if version == .http1_0 {
            append("Connection: keep-alive\r\n", to: &output)
        }
        append("\r\n", to: &output)
        if bodyAllowed && !isHead { output.append(contentsOf: response.body) }
        return closing
    }

    /// Appends `name: value` unless the name is not a token or the value holds CR, LF
    /// or NUL; checked and copied on the contiguous bytes, not through `String.UTF8View`.
    private static func appendField(_ name: String, _ value: String, to output: inout [UInt8]) {
        var name = name
        var value = value
        name.withUTF8 { name in
            value.withUTF8 { value in
                guard !name.isEmpty, name.allSatisfy(ASCII.isToken),
                    value.allSatisfy({ $0 != ASCII.carriageReturn && $0 != ASCII.lineFeed && $0 != 0 })
                else { return }
                output.append(contentsOf: name)
                append(": ", to: &output)
                output.append(contentsOf: value)
                append("\r\n", to: &output)
            }
        }
    }

    /// The interim response that invites a client waiting on `Expect: 100-continue`.
    static func appendContinue(to output: inout [UInt8]) {
        append("HTTP/1.1 100 Continue\r\n\r\n", to: &output)
    }

    /// The framing fields the encoder owns, recognised without regard to case.
    private enum Framing {
        case contentLength, transferEncoding, connection, date, other

        init(_ name: String) {
            switch name.utf8.count {
            case 4 where Self.equal(name, "date"): self = .date
            case 10 where Self.equal(name, "connection"): self = .connection
            case 14 where Self.equal(name, "content-length"): self = .contentLength
            case 17 where Self.equal(name, "transfer-encoding"): self = .transferEncoding
            default: self = .other
            }
        }

        private static func equal(_ name: String, _ lowercase: String) -> Bool {
            name.utf8.lazy.map(ASCII.lowercased).elementsEqual(lowercase.utf8)
        }
    }

    private static func isCloseToken(_ token: Substring.UTF8View) -> Bool {
        let trimmed = token.drop { $0 == ASCII.space || $0 == ASCII.tab }
        let word = trimmed.prefix { $0 != ASCII.space && $0 != ASCII.tab }
        return word.count == 5 && word.lazy.map(ASCII.lowercased).elementsEqual("close".utf8)
    }

    @inline(__always)
    private static func append(_ text: StaticString, to output: inout [UInt8]) {
        text.withUTF8Buffer { output.append(contentsOf: $0) }
    }

    /// Appends a non-negative integer in decimal without making a String.
    static func appendDecimal(_ value: Int, to output: inout [UInt8]) {
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            output.append(ASCII.zero + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    private static func reasonPhrase(_ status: Int) -> StaticString {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 206: "Partial Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 422: "Unprocessable Content"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: ""
        }
    }
}
