/// Parses a request head (RFC 9112 sections 2-5) straight from the received bytes.
///
/// Hot path (STYLE.md 12): it walks the bytes once, never splits the buffer into
/// Strings, and allocates at most the header block copy, its index (none when it
/// writes them into the previous request's storage), and the path and query strings
/// (method names and short strings need no heap allocation).
enum RequestHeadParser {
    /// Where the head ends, if it has fully arrived.
    enum Scan: Equatable {
        /// The head ends just before this offset (after its blank line).
        case complete(end: Int)
        /// More bytes are needed; scan again from this offset when they come.
        case incomplete(resumeAt: Int)
    }

    /// What the bytes received so far make of the next head.
    enum Outcome {
        /// The head has not fully arrived; look again from `resumeAt` when more comes.
        case incomplete(resumeAt: Int)
        /// A valid head, `length` bytes long including its blank line.
        case complete(RequestHead, length: Int)
        /// The head is malformed or over a limit.
        case refused(HTTPProtocolError)
    }

    /// Parses the head at the start of `pending` once it has fully arrived.
    ///
    /// - Parameters:
    ///   - pending: the received bytes not yet consumed, starting with the head.
    ///   - resume: a previous `incomplete(resumeAt:)` for the same head, or 0.
    ///   - maxHeaderBytes: the head limit; passing it is 431 even before the head ends.
    ///   - maxBodyBytes: the body limit, checked against a declared `Content-Length`.
    ///   - storage: headers whose storage a complete head's fields are written into
    ///     (see ``parse(_:maxBodyBytes:reusing:)``); left as it is otherwise.
    static func next(
        in pending: UnsafeRawBufferPointer, resumingAt resume: Int, maxHeaderBytes: Int, maxBodyBytes: Int,
        reusing storage: inout HTTPHeaders
    ) -> Outcome {
        switch scan(pending, from: resume) {
        case .incomplete(let resumeAt):
            guard pending.count <= maxHeaderBytes else { return .refused(.headTooLarge(limit: maxHeaderBytes)) }
            return .incomplete(resumeAt: resumeAt)
        case .complete(let end):
            guard end <= maxHeaderBytes else { return .refused(.headTooLarge(limit: maxHeaderBytes)) }
            do {
                let head = try parse(
                    UnsafeRawBufferPointer(rebasing: pending[0..<end]), maxBodyBytes: maxBodyBytes, reusing: &storage)
                return .complete(head, length: end)
            } catch {
                return .refused(error)
            }
        }
    }

    /// Looks for the blank line ending a head in `bytes`, starting at `start` (a previous
    /// `resumeAt`, or 0). A line ends with LF, optionally preceded by CR.
    static func scan(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Scan {
        var index = start
        while index < bytes.count {
            guard let newline = ASCII.firstIndex(of: ASCII.lineFeed, in: bytes[index...]) else { break }
            let next = newline + 1
            if next >= bytes.count { return .incomplete(resumeAt: newline) }
            if bytes[next] == ASCII.lineFeed { return .complete(end: next + 1) }
            if bytes[next] == ASCII.carriageReturn {
                if next + 1 >= bytes.count { return .incomplete(resumeAt: newline) }
                if bytes[next + 1] == ASCII.lineFeed { return .complete(end: next + 2) }
            }
            index = next
        }
        return .incomplete(resumeAt: bytes.count)
    }

    /// Parses a complete head: `head` runs from the request line through the blank line.
    ///
    /// The head's headers take over `storage` (which is left empty) and are written into
    /// its arrays, allocating none when no copy of them is still alive: a connection
    /// hands back each request's headers once it has been handled.
    ///
    /// - Throws: `HTTPProtocolError` 400 for malformed syntax, a missing Host on HTTP/1.1
    ///   or conflicting framing, 413 for a declared body over `maxBodyBytes`, 501 for a
    ///   transfer coding other than chunked, 505 for HTTP/2 and later.
    static func parse(
        _ head: UnsafeRawBufferPointer, maxBodyBytes: Int, reusing storage: inout HTTPHeaders
    ) throws(HTTPProtocolError) -> RequestHead {
        guard let lineEnd = ASCII.firstIndex(of: ASCII.lineFeed, in: head[...]) else {
            throw .badRequest("The request line is not terminated.")
        }
        let contentEnd = lineEnd > 0 && head[lineEnd - 1] == ASCII.carriageReturn ? lineEnd - 1 : lineEnd
        let line = head[0..<contentEnd]

        guard let methodEnd = ASCII.firstIndex(of: ASCII.space, in: line), methodEnd > 0,
            line[0..<methodEnd].allSatisfy(ASCII.isToken)
        else { throw .badRequest("The request line has no valid method.") }
        let targetStart = methodEnd + 1
        guard let targetEnd = ASCII.firstIndex(of: ASCII.space, in: line[targetStart...]), targetEnd > targetStart,
            line[targetStart..<targetEnd].allSatisfy(ASCII.isTarget)
        else { throw .badRequest("The request line has no valid target.") }
        let version = try parseVersion(line[(targetEnd + 1)...])
        let method = methodString(line[0..<methodEnd])
        let (path, query) = try splitTarget(line[targetStart..<targetEnd])

        var framingFields = FramingFields()
        var headers = HTTPHeaders()
        swap(&headers, &storage)
        try parseFields(head[(lineEnd + 1)...], into: &headers, framing: &framingFields)
        let framing = try framingFields.framing(version: version, maxBodyBytes: maxBodyBytes)
        let keepAlive =
            version == .http1_1
            ? !framingFields.connectionClose
            : framingFields.connectionKeepAlive && !framingFields.connectionClose
        return RequestHead(
            method: method, path: path, query: query, version: version, headers: headers, framing: framing,
            keepAlive: keepAlive,
            expectsContinue: framingFields.expectsContinue && version == .http1_1 && framing != .none,
            isHead: method == "HEAD")
    }

    /// `HTTP/1.1` and `HTTP/1.0`; a later 1.x is served as 1.1, other versions
    /// (`HTTP/2`, `HTTP/2.0`, `HTTP/0.9`) are 505, anything else 400.
    private static func parseVersion(_ bytes: UnsafeRawBufferPointer.SubSequence) throws(HTTPProtocolError)
        -> HTTPVersion
    {
        let malformed = HTTPProtocolError.badRequest("The request line has no valid HTTP version.")
        guard bytes.count == 6 || bytes.count == 8, ASCII.equals(bytes.prefix(5), "HTTP/") else {
            throw malformed
        }
        let digits = bytes.dropFirst(5)
        let major = digits[digits.startIndex]
        guard ASCII.isDigit(major) else { throw malformed }
        if digits.count == 1 {
            if major >= UInt8(ascii: "2") { throw .unsupportedVersion }
            throw malformed
        }
        let minor = digits[digits.startIndex + 2]
        guard digits[digits.startIndex + 1] == UInt8(ascii: "."), ASCII.isDigit(minor) else { throw malformed }
        guard major == UInt8(ascii: "1") else { throw .unsupportedVersion }
        return minor == ASCII.zero ? .http1_0 : .http1_1
    }

    /// The method as a String; common ones come from literals, so no allocation.
    private static func methodString(_ bytes: UnsafeRawBufferPointer.SubSequence) -> String {
        switch bytes.count {
        case 3 where ASCII.equals(bytes, "GET"): "GET"
        case 3 where ASCII.equals(bytes, "PUT"): "PUT"
        case 4 where ASCII.equals(bytes, "POST"): "POST"
        case 4 where ASCII.equals(bytes, "HEAD"): "HEAD"
        case 5 where ASCII.equals(bytes, "PATCH"): "PATCH"
        case 6 where ASCII.equals(bytes, "DELETE"): "DELETE"
        case 7 where ASCII.equals(bytes, "OPTIONS"): "OPTIONS"
        default: String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Splits origin-form (`/p?q`), absolute-form (`http://h/p?q`) or asterisk-form
    /// (`*`) into path and query.
    private static func splitTarget(_ target: UnsafeRawBufferPointer.SubSequence) throws(HTTPProtocolError)
        -> (path: String, query: String)
    {
        var pathStart = target.startIndex
        if target.first != ASCII.slash {
            if target.count == 1 && target.first == UInt8(ascii: "*") { return ("*", "") }
            guard let schemeEnd = schemeLength(target) else {
                throw .badRequest("The request target must be a path or an absolute http URI.")
            }
            let authorityStart = target.startIndex + schemeEnd
            pathStart =
                target[authorityStart...].firstIndex { $0 == ASCII.slash || $0 == ASCII.questionMark }
                ?? target.endIndex
            guard pathStart > authorityStart else { throw .badRequest("The request target has no host.") }
        }
        let queryMark = ASCII.firstIndex(of: ASCII.questionMark, in: target[pathStart...]) ?? target.endIndex
        let path = pathStart == queryMark ? "/" : String(decoding: target[pathStart..<queryMark], as: UTF8.self)
        let query = queryMark < target.endIndex ? String(decoding: target[(queryMark + 1)...], as: UTF8.self) : ""
        return (path, query)
    }

    /// The length of `http://` or `https://` at the start of `target`, ignoring case.
    private static func schemeLength(_ target: UnsafeRawBufferPointer.SubSequence) -> Int? {
        if ASCII.equalsIgnoringCase(target.prefix(7), "http://") { return 7 }
        if ASCII.equalsIgnoringCase(target.prefix(8), "https://") { return 8 }
        return nil
    }

    /// The offset, from `start`, past the whole 8-byte words of a field value before
    /// `end` that hold no byte under 0x20 and no DEL: one test per word instead of one
    /// per byte. A word it stops at may still be valid (a tab); the byte-by-byte check
    /// after it decides.
    @inline(__always)
    private static func skipPlainWords(_ bytes: UnsafeRawPointer, from start: Int, to end: Int) -> Int {
        var i = start
        while end - i >= 8 {
            let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            guard !ASCII.word(word, hasByteBelow: ASCII.space), !ASCII.word(word, hasByte: 0x7F) else { return i }
            i += 8
        }
        return i
    }

    /// Parses the field lines of `block` (everything after the request line, through the
    /// blank line) into `headers`, whose fields it replaces, telling `framing` about the
    /// fields the server acts on.
    private static func parseFields(
        _ block: UnsafeRawBufferPointer.SubSequence, into headers: inout HTTPHeaders,
        framing: inout FramingFields
    ) throws(HTTPProtocolError) {
        let base = block.startIndex
        let blockEnd = block.endIndex
        headers.removeAll()
        headers.index.reserveCapacity(16)
        var lineStart = base
        // Bytes are read through the buffer's address: every byte of every field passes
        // these loops, and slice subscripts check bounds and call out for their counts.
        guard let bytes = block.base.baseAddress, base < blockEnd else { return }
        @inline(__always) func byte(_ i: Int) -> UInt8 { bytes.load(fromByteOffset: i, as: UInt8.self) }
        while lineStart < blockEnd {
            let lineEnd = ASCII.firstIndex(of: ASCII.lineFeed, in: block[lineStart...]) ?? blockEnd
            let contentEnd = lineEnd > lineStart && byte(lineEnd - 1) == ASCII.carriageReturn ? lineEnd - 1 : lineEnd
            if contentEnd == lineStart { break }
            let first = byte(lineStart)
            if first == ASCII.space || first == ASCII.tab {
                throw .badRequest("Folded or indented header lines are not allowed.")
            }
            var nameEnd = lineStart
            while nameEnd < contentEnd && ASCII.isToken(byte(nameEnd)) { nameEnd += 1 }
            guard nameEnd < contentEnd, byte(nameEnd) == ASCII.colon else {
                if nameEnd < contentEnd && (byte(nameEnd) == ASCII.space || byte(nameEnd) == ASCII.tab) {
                    throw .badRequest("Whitespace between a header field name and its colon is not allowed.")
                }
                throw .badRequest("A header line is not a valid 'name: value' field.")
            }
            guard nameEnd > lineStart else { throw .badRequest("A header field has an empty name.") }
            var valueStart = nameEnd + 1
            var valueEnd = contentEnd
            while valueStart < valueEnd && (byte(valueStart) == ASCII.space || byte(valueStart) == ASCII.tab) {
                valueStart += 1
            }
            while valueEnd > valueStart && (byte(valueEnd - 1) == ASCII.space || byte(valueEnd - 1) == ASCII.tab) {
                valueEnd -= 1
            }
            var i = Self.skipPlainWords(bytes, from: valueStart, to: valueEnd)
            while i < valueEnd {
                guard ASCII.isFieldValue(byte(i)) else {
                    throw .badRequest("A header field value holds a control character.")
                }
                i += 1
            }
            try framing.record(name: block[lineStart..<nameEnd], value: block[valueStart..<valueEnd])
            headers.index.append(
                HTTPHeaders.Field(
                    nameStart: Int32(lineStart - base), nameEnd: Int32(nameEnd - base),
                    valueStart: Int32(valueStart - base), valueEnd: Int32(valueEnd - base)))
            lineStart = lineEnd + 1
        }
        headers.bytes.append(
            contentsOf: UnsafeBufferPointer(
                start: (bytes + base).assumingMemoryBound(to: UInt8.self), count: Swift.min(lineStart, blockEnd) - base)
        )
    }
}
