import Events
import Testing

@Test func crc32MatchesZlib() {
    #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    #expect(CRC32.checksum([UInt8]()) == 0)
}

@Test(arguments: ["sk_live_", "fk_user_", "prod_", "a_", "abcdefghijklmnop_abcdefghijklmno_"])
func secretsHaveTheDocumentedShape(prefix: String) throws {
    var rng = SystemRandom()
    let secret = Secret.generate(prefix: prefix, using: &rng)
    #expect(secret.hasPrefix(prefix))
    #expect(secret.utf8.count == prefix.utf8.count + 43)
    let tail = secret.dropFirst(prefix.count)
    #expect(tail.utf8.allSatisfy { Base62.value(of: $0) != nil })
    let body = Array(secret.utf8.dropLast(6))
    let checksum = String(decoding: Base62.encode(UInt64(CRC32.checksum(body)), width: 6), as: UTF8.self)
    #expect(secret.hasSuffix(checksum))
    #expect(Secret.isWellFormed(secret))
}

@Test func aBadChecksumOrShapeIsRefused() {
    var rng = SystemRandom()
    let secret = Secret.generate(prefix: "sk_live_", using: &rng)
    var chars = Array(secret)
    let i = 10
    chars[i] = chars[i] == "A" ? "B" : "A"
    #expect(!Secret.isWellFormed(String(chars)))
    #expect(!Secret.isWellFormed(String(secret.dropLast())))
    #expect(!Secret.isWellFormed(secret + "0"))
    #expect(!Secret.isWellFormed("Sk_live_" + secret.dropFirst(8)))
    #expect(!Secret.isWellFormed(""))
    #expect(!Secret.isWellFormed(String(secret.dropFirst(8))))
}

@Test(arguments: [
    ("sk_live_", true), ("prod_", true), ("a_", true), ("a1_b2_", true),
    ("_", false), ("sk", false), ("Sk_", false), ("1k_", false), ("sk__", false), ("sk_live", false),
    ("sk_live_x_", false), ("abcdefghijklmnopq_", false), ("sk_abcdefghijklmnop_", false), ("sk-live_", false),
])
func prefixesFollowThePattern(prefix: String, valid: Bool) {
    #expect(Secret.isValidPrefix(prefix) == valid)
}

@Test func secretsAreDistinctAndOnlyTheirDigestIsKept() {
    var rng = SystemRandom()
    let a = Secret.generate(prefix: "sk_", using: &rng)
    let b = Secret.generate(prefix: "sk_", using: &rng)
    #expect(a != b)
    #expect(Secret.digest(a) == Secret.digest(a))
    #expect(!Secret.digest(a).constantTimeEquals(Secret.digest(b)))
    #expect(Secret.digest(a).hex.count == 64)
    #expect(!Secret.digest(a).hex.contains(a))
}

@Test func keyIDsRoundTripAndSortByCreationTime() {
    var rng = SystemRandom()
    let early = KeyID.make(at: 1_000_000_000_000, using: &rng)
    let late = KeyID.make(at: 2_000_000_000_000, using: &rng)
    #expect(early < late)
    #expect(early.description < late.description)
    #expect(KeyID(early.description) == early)
    #expect(early.description.count == 26 && early.description.hasPrefix("key_"))
    #expect(KeyID("key_zzzzzzzzzzzzzzzzzzzzzz") == nil)
    #expect(KeyID("key_123") == nil)
    #expect(KeyID(high: .max, low: .max).description == KeyID(KeyID(high: .max, low: .max).description)?.description)
}

@Test func keyIDsRenderAsTheirBase62Digits() {
    /// One digit at a time by long division of the 128-bit value: slow and plainly right.
    func reference(_ id: KeyID) -> String {
        var digits: [Character] = []
        var (h, l) = (id.high, id.low)
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        for _ in 0..<22 {
            let (qh, rh) = h.quotientAndRemainder(dividingBy: 62)
            let (ql, r) = UInt64(62).dividingFullWidth((high: rh, low: l))
            digits.insert(alphabet[Int(r)], at: 0)
            (h, l) = (qh, ql)
        }
        return "key_" + String(digits)
    }
    var rng = SplitMix64(seed: 5)
    let limb: UInt64 = 839_299_365_868_340_224  // 62^10, where the rendering splits
    var ids = [
        KeyID(high: 0, low: 0), KeyID(high: 0, low: 61), KeyID(high: 0, low: 62), KeyID(high: 0, low: limb - 1),
        KeyID(high: 0, low: limb), KeyID(high: 0, low: .max), KeyID(high: 1, low: 0), KeyID(high: .max, low: .max),
    ]
    ids += (0..<2000).map { _ in KeyID(high: rng.next() >> (rng.next() % 64), low: rng.next()) }
    for id in ids {
        #expect(id.description == reference(id))
        #expect(KeyID(id.description) == id)
    }
    // 2^128, one past the largest id: its last digit one above the largest's.
    var past = Array(KeyID(high: .max, low: .max).description.utf8)
    let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    past[25] = alphabet[alphabet.firstIndex(of: past[25])! + 1]
    #expect(KeyID(String(decoding: past, as: UTF8.self)) == nil)
    #expect(KeyID("key_0000000000000000000000") == KeyID(high: 0, low: 0))
    #expect(KeyID("key_000000000000000000000!") == nil)
}

@Test func cidrRangesContainTheirAddresses() throws {
    let v4 = try CIDR.parse("10.0.0.0/8").get()
    #expect(v4.contains(IPAddress("10.200.3.4")!))
    #expect(!v4.contains(IPAddress("11.0.0.1")!))
    #expect(!v4.contains(IPAddress("::ffff:b00:1")!))
    let v6 = try CIDR.parse("2001:db8::/32").get()
    #expect(v6.contains(IPAddress("2001:db8:1::7")!))
    #expect(!v6.contains(IPAddress("2001:db9::1")!))
    #expect(!v6.contains(IPAddress("10.0.0.1")!))
    #expect(try CIDR.parse("203.0.113.7").get().description == "203.0.113.7/32")
    #expect(try CIDR.parse("0.0.0.0/0").get().contains(IPAddress("8.8.8.8")!))
    #expect(CIDR.parse("10.1.0.0/8") == .failure(.hostBitsSet))
    #expect(CIDR.parse("10.0.0.0/33") == .failure(.badPrefixLength))
    #expect(CIDR.parse("10.0.0.0/+8") == .failure(.badPrefixLength))
    #expect(CIDR.parse("example.com") == .failure(.notAnAddress))
    #expect(IPAddress("::ffff:10.0.0.1")?.isV4 == true)
}

/// The seeded generator behind `keyledger generate` and the random tests: the published
/// SplitMix64 sequence, so a seed names the same history on every machine.
@Test func splitMixFollowsTheReferenceSequence() {
    var zero = SplitMix64(seed: 0)
    #expect(zero.next() == 0xE220_A839_7B1D_CDAF)
    var a = SplitMix64(seed: 42)
    var b = SplitMix64(seed: 42)
    var c = SplitMix64(seed: 43)
    let first = (0..<8).map { _ in a.next() }
    #expect(first == (0..<8).map { _ in b.next() })
    #expect(first != (0..<8).map { _ in c.next() })
}

/// The byte-level prefix check agrees with the pattern written out as its parts, over
/// many random strings of the characters that matter (lower, digit, upper, "_").
@Test func thePrefixCheckAgreesWithThePatternOnRandomStrings() {
    func reference(_ text: String) -> Bool {
        let parts = text.split(separator: "_", omittingEmptySubsequences: false)
        guard text.hasSuffix("_"), parts.count == 2 || parts.count == 3, parts.last?.isEmpty == true else { return false }
        func lowerAlnum(_ c: Character) -> Bool { ("a"..."z").contains(c) || ("0"..."9").contains(c) }
        guard let lead = parts[0].first, ("a"..."z").contains(lead), parts[0].count <= 16, parts[0].allSatisfy(lowerAlnum)
        else { return false }
        return parts.count == 2 || ((1...15).contains(parts[1].count) && parts[1].allSatisfy(lowerAlnum))
    }
    var rng = SplitMix64(seed: 7)
    let alphabet = Array("ab09Z_")
    var valid = 0
    for _ in 0..<20_000 {
        let length = Int(rng.next() % 36)
        let text = String((0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
        #expect(Secret.isValidPrefix(text) == reference(text), "\(text)")
        if reference(text) { valid += 1 }
    }
    #expect(valid > 100)
}

/// A key id's text reads back as the same id, keeps the ids' order, and has the documented
/// shape, for ids across the whole 128-bit range (the rendering splits them in limbs).
@Test func keyIDTextRoundTripsAndSorts() throws {
    var rng = SplitMix64(seed: 11)
    var ids = [KeyID(high: 0, low: 0), KeyID(high: 0, low: 61), KeyID(high: .max, low: .max), KeyID(high: 1, low: 0)]
    for _ in 0..<2_000 { ids.append(KeyID(high: rng.next() >> (rng.next() % 64), low: rng.next())) }
    for id in ids {
        let text = id.description
        #expect(text.utf8.count == 26 && text.hasPrefix("key_"))
        #expect(KeyID(text) == id, "\(text)")
    }
    for (a, b) in zip(ids, ids.dropFirst()) { #expect((a < b) == (a.description < b.description)) }
}
