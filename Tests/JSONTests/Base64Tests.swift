import JSON
import Testing

@Test(arguments: [
    ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
    ("foobar", "Zm9vYmFy"),
])
func base64MatchesTheVectorsOfRFC4648(plain: String, encoded: String) {
    #expect(Base64.encode(Array(plain.utf8)) == encoded)
    #expect(Base64.decode(encoded) == Array(plain.utf8))
}

@Test func base64EncodesEveryByteAndTheHighSymbols() {
    let bytes: [UInt8] = [0xFB, 0xFF, 0xBF, 0x00, 0x10, 0x83]
    #expect(Base64.encode(bytes) == "+/+/ABCD")
    #expect(Base64.decode("+/+/ABCD") == bytes)
    let all = (0...255).map(UInt8.init)
    #expect(Base64.decode(Base64.encode(all)) == all)
}

/// One accepted spelling per byte string: no missing or extra padding, no unused bits set,
/// nothing outside the alphabet, no padding inside.
@Test(arguments: ["Zg", "Zg=", "Zh==", "Zm9=", "Zm9v=", "Z===", "Zg==Zg==", "Zm9v\n", "Zm-v", "Zm_v", "=Zm9"])
func base64RefusesAnythingButTheOneEncoding(text: String) {
    #expect(Base64.decode(text) == nil)
}
