import Testing

@testable import HTTP

/// The encoder on bytes in memory: which response fields it writes and which it drops.
@Suite("Response encoder")
struct ResponseEncoderTests {
    /// The head `ResponseEncoder` writes for a 200 with one field `name: value`.
    private func head(name: [UInt8], value: [UInt8]) -> [UInt8] {
        let response = HTTPResponse(
            status: 200,
            headers: [(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))])
        var output: [UInt8] = []
        _ = ResponseEncoder.encode(
            response, isHead: false, version: .http1_1, close: false, date: Array("Thu, 03 Dec 2026 14:00:00 GMT".utf8),
            into: &output)
        return output
    }

    private func holds(_ bytes: [UInt8], _ part: [UInt8]) -> Bool {
        guard bytes.count >= part.count else { return false }
        return (0...(bytes.count - part.count)).contains { Array(bytes[$0..<($0 + part.count)]) == part }
    }

    /// A value with CR, LF or NUL anywhere, in values of every length around the
    /// eight-byte words the test reads, drops its field; any other byte there keeps it.
    @Test(arguments: 1..<20)
    func aFieldValueWithALineEndOrNULIsDropped(length: Int) {
        for position in 0..<length {
            for byte in [0x00, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x20, 0x2D, 0x7F] as [UInt8] {
                var value = [UInt8](repeating: UInt8(ascii: "v"), count: length)
                value[position] = byte
                let kept = byte != 0x0A && byte != 0x0D && byte != 0x00
                let field = Array("X-Test: ".utf8) + value + Array("\r\n".utf8)
                #expect(holds(head(name: Array("X-Test".utf8), value: value), field) == kept, "\(byte) at \(position)")
            }
        }
    }

    /// A field name with a byte that is not a token character (RFC 9110 section 5.6.2)
    /// anywhere drops its field.
    @Test func aFieldNameOutsideTheTokenCharactersIsDropped() {
        let tokens = Set(Array("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8))
        for byte in UInt8(0)..<UInt8(128) {
            for position in 0..<3 {
                var name = Array("Xyz".utf8)
                name[position] = byte
                let field = name + Array(": v\r\n".utf8)
                #expect(holds(head(name: name, value: Array("v".utf8)), field) == tokens.contains(byte), "\(byte)")
            }
        }
    }
}
