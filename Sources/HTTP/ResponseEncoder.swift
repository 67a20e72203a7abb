/// Writes a response's status line, headers and body into a connection's output bytes.
///
/// Hot path (STYLE.md 12): the head is written with plain stores into one stack buffer
/// sized from the response, then copied into the connection's reused output buffer in
/// one append, the body in a second; numbers are written digit by digit, the reason
/// phrase and framing headers come from static strings, and the `Date` value from a
/// once-a-second cache.
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
        let reason = reasonPhrase(status)
        // The longest head this can be: the status line, every field, and the fields the
        // encoder adds (`Content-Length` with up to 20 digits, `Connection: keep-alive`).
        var capacity = 15 + reason.utf8CodeUnitCount + 8 + date.count + 38 + 24 + 2
        for (name, value) in response.headers { capacity += name.utf8.count + value.utf8.count + 4 }
        let bodyAllowed = status != 204 && status != 304
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            var head = HeadWriter(buffer)
            head.put("HTTP/1.1 ")
            head.putDecimal(status)
            head.put(ASCII.space)
            head.put(reason)
            head.put("\r\n")
            var closing = close
            var hasDate = false
            for (name, value) in response.headers {
                var name = name
                var value = value
                name.withUTF8 { name in
                    value.withUTF8 { value in
                        switch Framing(name) {
                        case .contentLength, .transferEncoding:
                            return
                        case .connection:
                            if hasCloseToken(value) { closing = true }
                            return
                        case .date:
                            hasDate = true
                        case .other:
                            break
                        }
                        head.putField(name, value)
                    }
                }
            }
            if !hasDate {
                head.put("Date: ")
                date.withUnsafeBufferPointer { head.put($0) }
                head.put("\r\n")
            }
            if bodyAllowed {
                head.put("Content-Length: ")
                head.putDecimal(response.body.count)
                head.put("\r\n")
            }
            if closing {
                head.put("Connection: close\r\n")
            } else if version == .http1_0 {
                head.put("Connection: keep-alive\r\n")
            }
            head.put("\r\n")
            output.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<head.count]))
            if bodyAllowed && !isHead { output.append(contentsOf: response.body) }
            return closing
        }
    }

    /// Stores into a buffer that the caller made large enough for everything put.
    private struct HeadWriter {
        let buffer: UnsafeMutableBufferPointer<UInt8>
        var count = 0

        init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
            self.buffer = buffer
        }

        @inline(__always)
        mutating func put(_ byte: UInt8) {
            precondition(count < buffer.count)
            buffer[count] = byte
            count += 1
        }

        @inline(__always)
        mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
            guard let source = bytes.baseAddress, let base = buffer.baseAddress else { return }
            precondition(count + bytes.count <= buffer.count)
            (base + count).update(from: source, count: bytes.count)
            count += bytes.count
        }

        @inline(__always)
        mutating func put(_ text: StaticString) {
            text.withUTF8Buffer { put($0) }
        }

        /// A non-negative integer in decimal.
        mutating func putDecimal(_ value: Int) {
            var divisor = 1
            while divisor <= value / 10 { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                put(ASCII.zero + UInt8(rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }

        /// `name: value` unless the name is not a token or the value holds CR, LF or NUL.
        @inline(__always)
        mutating func putField(_ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) {
            guard !name.isEmpty, name.allSatisfy(ASCII.isToken), ResponseEncoder.holdsNoLineEndOrNUL(value) else {
                return
            }
            put(name)
            put(ASCII.colon)
            put(ASCII.space)
            put(value)
            put("\r\n")
        }
    }

    /// Whether `value` holds no CR, LF or NUL: eight bytes at a time, then byte by byte
    /// (every field of every response is tested).
    static func holdsNoLineEndOrNUL(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = value.baseAddress else { return true }
        var i = 0
        while value.count - i >= 8 {
            let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            if ASCII.word(word, hasByte: 0) || ASCII.word(word, hasByte: ASCII.carriageReturn)
                || ASCII.word(word, hasByte: ASCII.lineFeed)
            {
                return false
            }
            i += 8
        }
        while i < value.count {
            let byte = value[i]
            if byte == ASCII.carriageReturn || byte == ASCII.lineFeed || byte == 0 { return false }
            i += 1
        }
        return true
    }

    /// The interim response that invites a client waiting on `Expect: 100-continue`.
    static func appendContinue(to output: inout [UInt8]) {
        append("HTTP/1.1 100 Continue\r\n\r\n", to: &output)
    }

    /// The framing fields the encoder owns, recognised without regard to case.
    private enum Framing {
        case contentLength, transferEncoding, connection, date, other

        init(_ name: UnsafeBufferPointer<UInt8>) {
            let name = UnsafeRawBufferPointer(name)[...]
            switch name.count {
            case 4 where ASCII.equalsIgnoringCase(name, "date"): self = .date
            case 10 where ASCII.equalsIgnoringCase(name, "connection"): self = .connection
            case 14 where ASCII.equalsIgnoringCase(name, "content-length"): self = .contentLength
            case 17 where ASCII.equalsIgnoringCase(name, "transfer-encoding"): self = .transferEncoding
            default: self = .other
            }
        }
    }

    /// Whether a comma-separated `Connection` value holds the token `close` (any case,
    /// optional whitespace around it).
    private static func hasCloseToken(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        let raw = UnsafeRawBufferPointer(value)
        var start = 0
        while start < value.count {
            var end = start
            while end < value.count && value[end] != ASCII.comma { end += 1 }
            var first = start
            while first < end && (value[first] == ASCII.space || value[first] == ASCII.tab) { first += 1 }
            var last = first
            while last < end && value[last] != ASCII.space && value[last] != ASCII.tab { last += 1 }
            if last - first == 5 && ASCII.equalsIgnoringCase(raw[first..<last], "close") { return true }
            start = end + 1
        }
        return false
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
