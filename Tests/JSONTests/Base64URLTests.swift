import Events
import JSON
import Testing

@Suite struct Base64URLTests {
    /// RFC 4648 §10 vectors without padding, plus the two URL-safe symbols.
    static let vectors: [(bytes: [UInt8], text: String)] = [
        ([], ""),
        (Array("f".utf8), "Zg"),
        (Array("fo".utf8), "Zm8"),
        (Array("foo".utf8), "Zm9v"),
        (Array("foob".utf8), "Zm9vYg"),
        (Array("fooba".utf8), "Zm9vYmE"),
        (Array("foobar".utf8), "Zm9vYmFy"),
        ([0xFB, 0xFF], "-_8"),
        ([0x00, 0x00, 0x00], "AAAA"),
    ]

    @Test(arguments: vectors)
    func encodesAndDecodesVectors(bytes: [UInt8], text: String) {
        #expect(Base64URL.encode(bytes) == text)
        #expect(Base64URL.decode(text) == bytes)
    }

    @Test func randomBytesRoundTrip() {
        var random = SplitMix64(seed: 6)
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            let text = Base64URL.encode(bytes)
            #expect(text.utf8.count == (length * 4 + 2) / 3)
            #expect(Base64URL.decode(text) == bytes)
        }
    }

    static let rejected: [String] = [
        "Z",  // one symbol left over carries no whole byte
        "Zm9vY",
        "Zg==",  // padding
        "Zh",  // unused bits set: a second encoding of "f"
        "Zm9",
        "+/8",  // standard alphabet
        "Zm9v Yg",
        "Zm9v\n",
        "Zé",
    ]

    @Test(arguments: rejected)
    func rejectsNonCanonicalText(text: String) {
        #expect(Base64URL.decode(text) == nil)
    }
}
