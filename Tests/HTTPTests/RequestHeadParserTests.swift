import Testing

@testable import HTTP

/// The head parser on bytes in memory.
@Suite("Request head parser")
struct RequestHeadParserTests {
    private func parse(_ head: [UInt8]) -> RequestHeadParser.Outcome {
        var storage = HTTPHeaders()
        return head.withUnsafeBytes { bytes in
            RequestHeadParser.next(
                in: bytes, resumingAt: 0, maxHeaderBytes: 8192, maxBodyBytes: 1 << 20, reusing: &storage)
        }
    }

    /// A control character (other than a tab) or DEL anywhere in a field value, in
    /// values of every length around the eight-byte words the parser reads, is a 400;
    /// a tab, a space, visible ASCII and obs-text are kept as they came.
    @Test(arguments: 1..<20)
    func aFieldValueWithAControlCharacterIsRefused(length: Int) {
        for position in 0..<length {
            for byte in [0x00, 0x01, 0x09, 0x0B, 0x1F, 0x20, 0x41, 0x7E, 0x7F, 0x80, 0xFF] as [UInt8] {
                var value = [UInt8](repeating: UInt8(ascii: "v"), count: length)
                value[position] = byte
                // Trimming would take a space or tab at either end off the value.
                let trimmed = (byte == 0x20 || byte == 0x09) && (position == 0 || position == length - 1)
                guard !trimmed else { continue }
                let head = Array("GET / HTTP/1.1\r\nHost: h\r\nX-V: ".utf8) + value + Array("\r\n\r\n".utf8)
                let allowed = byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
                switch parse(head) {
                case .complete(let parsed, _):
                    #expect(allowed, "\(byte) at \(position)")
                    #expect(parsed.headers.withValue("X-V") { Array($0) } == value)
                case .refused(let error):
                    #expect(!allowed, "\(byte) at \(position): \(error)")
                case .incomplete:
                    Issue.record("incomplete: \(byte) at \(position)")
                }
            }
        }
    }
}
