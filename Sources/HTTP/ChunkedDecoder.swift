/// Decodes a `Transfer-Encoding: chunked` body (RFC 9112 section 7.1) as its bytes
/// arrive, in any split. Chunk extensions are skipped and trailer fields discarded.
///
/// The body limit applies to the decoded size and is checked as soon as a chunk
/// announces its size, before its data arrives.
struct ChunkedDecoder {
    private enum State {
        case size
        case sizeWhitespace
        case sizeExtension
        case sizeLineFeed
        case data(remaining: Int)
        case dataCarriageReturn
        case dataLineFeed
        case trailerLineStart
        case trailerLine
        case finalLineFeed
        case done
    }

    /// Longest chunk-size line, extensions included, before the request is refused.
    static let maxSizeLineBytes = 4096

    private var state = State.size
    private var size = 0
    private var sizeDigits = 0
    private var sizeLineBytes = 0
    private var trailerBytes = 0

    /// Whether the last chunk and the trailer section have been read.
    var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Decodes from the front of `input`, appending chunk data to `body`.
    ///
    /// - Returns: how many bytes of `input` were used; fewer than all only once complete.
    /// - Throws: 400 for malformed framing, 413 when the body would pass `maxBodyBytes`,
    ///   431 when the trailer section passes `maxTrailerBytes`.
    mutating func decode(
        _ input: UnsafeRawBufferPointer.SubSequence, into body: inout [UInt8], maxBodyBytes: Int, maxTrailerBytes: Int
    ) throws(HTTPProtocolError) -> Int {
        var index = input.startIndex
        while index < input.endIndex {
            if case .data(let remaining) = state {
                let count = min(remaining, input.endIndex - index)
                body.append(contentsOf: input[index..<(index + count)])
                index += count
                state = remaining == count ? .dataCarriageReturn : .data(remaining: remaining - count)
                continue
            }
            let byte = input[index]
            index += 1
            switch state {
            case .size:
                sizeLineBytes += 1
                if sizeLineBytes > Self.maxSizeLineBytes { throw .badRequest("A chunk size line is too long.") }
                if let digit = Self.hexValue(byte) {
                    size = size * 16 + digit
                    sizeDigits += 1
                    if size > maxBodyBytes - body.count { throw .bodyTooLarge(limit: maxBodyBytes) }
                } else if sizeDigits == 0 {
                    throw .badRequest("A chunk size is not a hexadecimal number.")
                } else {
                    try endSizeDigits(byte)
                }
            case .sizeWhitespace:
                sizeLineBytes += 1
                if sizeLineBytes > Self.maxSizeLineBytes { throw .badRequest("A chunk size line is too long.") }
                try endSizeDigits(byte)
            case .sizeExtension:
                sizeLineBytes += 1
                if sizeLineBytes > Self.maxSizeLineBytes { throw .badRequest("A chunk extension is too long.") }
                if byte == ASCII.carriageReturn {
                    state = .sizeLineFeed
                } else if byte == ASCII.lineFeed {
                    endSizeLine()
                }
            case .sizeLineFeed:
                guard byte == ASCII.lineFeed else { throw .badRequest("A chunk size line is not terminated.") }
                endSizeLine()
            case .dataCarriageReturn:
                if byte == ASCII.carriageReturn {
                    state = .dataLineFeed
                } else if byte == ASCII.lineFeed {
                    state = .size
                } else {
                    throw .badRequest("Chunk data is longer than its size.")
                }
            case .dataLineFeed:
                guard byte == ASCII.lineFeed else { throw .badRequest("Chunk data is longer than its size.") }
                state = .size
            case .trailerLineStart:
                if byte == ASCII.carriageReturn {
                    state = .finalLineFeed
                } else if byte == ASCII.lineFeed {
                    state = .done
                    return index - input.startIndex
                } else {
                    try countTrailerByte(limit: maxTrailerBytes)
                    state = .trailerLine
                }
            case .trailerLine:
                try countTrailerByte(limit: maxTrailerBytes)
                if byte == ASCII.lineFeed { state = .trailerLineStart }
            case .finalLineFeed:
                guard byte == ASCII.lineFeed else { throw .badRequest("The chunked body is not terminated.") }
                state = .done
                return index - input.startIndex
            case .data, .done:
                return index - 1 - input.startIndex
            }
        }
        return index - input.startIndex
    }

    /// Handles a byte after the size digits: optional whitespace, then `;` and an
    /// extension, or the end of the line.
    private mutating func endSizeDigits(_ byte: UInt8) throws(HTTPProtocolError) {
        switch byte {
        case ASCII.space, ASCII.tab: state = .sizeWhitespace
        case ASCII.semicolon: state = .sizeExtension
        case ASCII.carriageReturn: state = .sizeLineFeed
        case ASCII.lineFeed: endSizeLine()
        default: throw .badRequest("A chunk size is not a hexadecimal number.")
        }
    }

    private mutating func endSizeLine() {
        state = size == 0 ? .trailerLineStart : .data(remaining: size)
        size = 0
        sizeDigits = 0
        sizeLineBytes = 0
    }

    private mutating func countTrailerByte(limit: Int) throws(HTTPProtocolError) {
        trailerBytes += 1
        if trailerBytes > limit { throw .headTooLarge(limit: limit) }
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case ASCII.zero...ASCII.nine: Int(byte - ASCII.zero)
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }
}
