import Events
import HTTP
import JSON
import Ledger
import Testing

@testable import Server

/// A verification's outcome as the general reader alone decided it before the plain
/// reader existed: its getters, in the order `Call.verification` asked them. The oracle
/// the body readers are held to.
private func generalVerification(_ bytes: [UInt8]) throws(APIError) -> VerifyRequest {
    var body = try RequestBody(bytes)
    guard let secret = try body.string("key", required: true, maxLength: 256), !secret.isEmpty else {
        throw .invalid("key", "must be a non-empty string")
    }
    var verify = VerifyRequest()
    verify.scope = try body.string("scope", maxLength: 128)
    verify.scopes = try body.strings("scopes") ?? []
    guard verify.scopes.count <= KeyRules.maxScopes else {
        throw .invalid("scopes", "at most \(KeyRules.maxScopes) entries")
    }
    for (i, scope) in verify.scopes.enumerated() where scope.isEmpty || scope.utf8.count > 128 {
        throw .invalid("scopes[\(i)]", "must be 1 to 128 characters")
    }
    verify.environment = try body.string("environment", maxLength: 15)
    verify.account = try body.string("account", maxLength: 128)
    if let ip = try body.string("ip", maxLength: 64) {
        guard let address = IPAddress(ip) else { throw .invalid("ip", "must be an IPv4 or IPv6 address") }
        verify.ip = address
    }
    verify.endpoint = try body.string("endpoint", maxLength: 256)
    verify.cost = UInt32(try body.integer("cost", in: 0...1_000_000) ?? 1)
    try body.finish()
    if verify.scope?.isEmpty == true { throw .invalid("scope", "must not be empty") }
    if verify.account?.isEmpty == true { throw .invalid("account", "must not be empty") }
    if verify.environment?.isEmpty == true { throw .invalid("environment", "must not be empty") }
    // The secret is compared through its length and digest only: it is no test's text.
    verify.endpoint = "\(verify.endpoint ?? "-")|\(secret.utf8.count)|\(Secret.digest(secret))"
    return verify
}

/// The same through `Call.verification`, which reads the body with ``VerifyBody``.
private func verification(_ bytes: [UInt8]) throws(APIError) -> VerifyRequest {
    let request = HTTPRequest(method: "POST", path: "/v1/verify", body: bytes)
    return try Call.verification(request, requestID: "req_test") { secret, verify, _ in
        var verify = verify
        verify.endpoint = "\(verify.endpoint ?? "-")|\(secret.utf8.count)|\(Secret.digest(secret))"
        return verify
    }
}

private func outcome(_ read: ([UInt8]) throws(APIError) -> VerifyRequest, _ bytes: [UInt8]) -> Result<
    VerifyRequest, APIError
> {
    Result { () throws(APIError) in try read(bytes) }
}

/// Bodies a gateway sends and bodies nobody should: every member in every JSON type,
/// escapes, non-ASCII names and values, duplicates, unknown members, numbers at and past
/// their limits, deep nesting, and random bytes cut in, dropped and changed (SplitMix64,
/// so a failure is made again from its seed).
private struct BodyGenerator {
    var rng: SplitMix64

    static let names = ["key", "scope", "scopes", "environment", "account", "ip", "endpoint", "cost"]
    static let otherNames = [
        "bogus", "Key", "keys", "k\\u0065y", "sc\\u006fpe", "", "é", "e\u{301}", "\u{212A}ey", "cost ", "ke",
    ]
    static let strings = [
        "sk_live_abc", "sk_test_" + String(repeating: "x", count: 40), "", "a:read", "bench:read", "GET /bench",
        "203.0.113.7", "::1", "2001:db8::1", "not an ip", "live", "test", "sixteen-letters!", "fifteen-letters",
        "acc_1", "a\\\"b", "tab\\there", "\\u00e9t\\u00E9", "\\ud83d\\ude00", "\\ud83d", "\\udc00x", "\\x",
        "caf\u{e9}", "e\u{301}", "\u{1F600}", "\u{7F}", "a\\/b", "\\u0000", String(repeating: "s", count: 128),
        String(repeating: "s", count: 129), "0123456789abcdef\\u0041tail", "01234567\\\"89", "0123456789\u{7F}x\u{80}",
        "sk_live_0123456789" + "\u{e9}" + "abcdefgh", "sk_live_0123456789ab\tcd", String(repeating: "p", count: 257),
        String(repeating: "é", count: 130),
    ]
    static let numbers = [
        "0", "1", "-1", "7", "1000000", "1000001", "999999999999999999", "1000000000000000000",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-0", "01", "1.0", "1e2", "1E2",
        "0.5", "1e400", "-", "1.", ".5", "00", "-01", "123456789012345678",
    ]
    static let others = ["null", "true", "false", "{}", "{\"a\":1}", "[]", "nul", "nulll", "tru", "NaN", "Infinity"]
    static let spaces = ["", "", "", " ", "\n", "\t", "\r\n", "  ", "\u{0B}", "\u{A0}"]

    mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }
    mutating func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }
    mutating func space() -> String { chance(70) ? "" : pick(Self.spaces) }

    mutating func stringValue() -> String { "\"" + pick(Self.strings) + "\"" }

    mutating func value(depth: Int = 0) -> String {
        switch rng.next() % 10 {
        case 0...3: return stringValue()
        case 4: return pick(Self.numbers)
        case 5: return pick(Self.others)
        case 6, 7:
            let count = Int(rng.next() % 4)
            let items = (0..<count).map { _ in chance(85) ? stringValue() : value(depth: depth + 1) }
            return "[" + space() + items.joined(separator: space() + "," + space()) + space() + "]"
        case 8 where depth < 3: return "{" + space() + member(depth: depth + 1) + space() + "}"
        default:
            let count = 1 + Int(rng.next() % 20)
            return Array(repeating: "[", count: 30 + count).joined() + Array(repeating: "]", count: 30 + count).joined()
        }
    }

    mutating func member(depth: Int = 0) -> String {
        let name = chance(92) ? pick(Self.names) : pick(Self.otherNames)
        return "\"" + name + "\"" + space() + ":" + space() + value(depth: depth)
    }

    /// A body of members, mostly of the verify names with fitting values.
    mutating func body() -> String {
        var members: [String] = []
        if chance(90) { members.append("\"key\":" + space() + "\"sk_live_" + String(rng.next(), radix: 36) + "\"") }
        for _ in 0..<Int(rng.next() % 5) {
            if chance(70) {
                let name = pick(["scope", "environment", "account", "endpoint"])
                members.append("\"\(name)\":" + space() + pick(["\"a:read\"", "\"live\"", "\"GET /x\"", "\"acc_1\""]))
            } else if chance(60) {
                members.append(
                    pick(["\"cost\":1", "\"cost\":0", "\"ip\":\"203.0.113.7\"", "\"scopes\":[\"a\",\"b\"]"]))
            } else {
                members.append(member())
            }
        }
        if chance(10), let first = members.first { members.append(first) }
        for _ in 0..<Int(rng.next() % UInt64(members.count + 1)) {
            members.swapAt(Int(rng.next() % UInt64(members.count)), Int(rng.next() % UInt64(members.count)))
        }
        var text =
            space() + "{" + space() + members.joined(separator: space() + "," + space()) + space() + "}" + space()
        if chance(3) { text += pick(["x", "{}", ",", "}", "\u{0}"]) }
        if chance(3) { text = text.replacingFirst(",", with: ",,") }
        if chance(3) { text = text.replacingLast("}", with: ",}") }
        return text
    }

    /// `bytes` with a few random bytes dropped, changed or cut in, or cut short.
    mutating func mutate(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        let interesting: [UInt8] = Array(#"{}[]":,\ "0-9enul"#.utf8) + [0, 0x0A, 0x7F, 0x80, 0xC3, 0xE2, 0xFF]
        for _ in 0..<(1 + Int(rng.next() % 3)) {
            let at = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count))
            switch rng.next() % 4 {
            case 0 where !bytes.isEmpty: bytes.remove(at: at)
            case 1 where !bytes.isEmpty: bytes[at] = pick(interesting)
            case 2: bytes.insert(pick(interesting), at: at)
            default: bytes = Array(bytes.prefix(at))
            }
        }
        return bytes
    }
}

extension String {
    fileprivate func replacingFirst(_ target: Character, with replacement: String) -> String {
        guard let at = firstIndex(of: target) else { return self }
        return String(self[..<at]) + replacement + String(self[index(after: at)...])
    }

    fileprivate func replacingLast(_ target: Character, with replacement: String) -> String {
        guard let at = lastIndex(of: target) else { return self }
        return String(self[..<at]) + replacement + String(self[index(after: at)...])
    }
}

/// Both readers of a verify body give the same members, and the verification the same
/// request or the same error as the general reader's getters did, for every body.
@Test(arguments: [1, 2, 3, 4] as [UInt64])
func theBodyReadersAgreeOnGeneratedBodies(seed: UInt64) {
    var generator = BodyGenerator(rng: SplitMix64(seed: seed))
    var plain = 0
    var refused = 0
    for round in 0..<6_000 {
        var bytes = Array(generator.body().utf8)
        if round % 3 == 2 { bytes = generator.mutate(bytes) }
        let general = Result { () throws(APIError) -> VerifyBody in
            var body = try RequestBody(bytes)
            return VerifyBody(general: &body)
        }
        if let scanned = bytes.withUnsafeBufferPointer({ VerifyBody(plain: $0) }) {
            plain += 1
            #expect(general == .success(scanned), "\(String(decoding: bytes, as: UTF8.self))")
        }
        let expected = outcome(generalVerification, bytes)
        let got = outcome(verification, bytes)
        if case .failure = expected { refused += 1 }
        #expect(got == expected, "\(String(decoding: bytes, as: UTF8.self))")
    }
    // The corpus reaches both readers and both answers.
    #expect(plain > 1_000 && plain < 5_000, "\(plain) plain")
    #expect(refused > 1_000 && refused < 5_000, "\(refused) refused")
}

/// Edge cases named one by one: each read the same way by both, and answered as before.
@Test(arguments: [
    "", " ", "{}", "[]", "null", "\"key\"", "{\"key\":\"sk_a\"}", " {\"key\" : \"sk_a\" } ", "{\"key\":\"sk_a\"} x",
    "{\"key\":\"sk_a\",}", "{,\"key\":\"sk_a\"}", "{\"key\":\"sk_a\",\"key\":\"sk_b\"}", "{\"key\":\"sk_a\"",
    "{\"key\":\"sk_a\",\"cost\":-0}", "{\"key\":\"sk_a\",\"cost\":01}", "{\"key\":\"sk_a\",\"cost\":1.0}",
    "{\"key\":\"sk_a\",\"cost\":1e0}", "{\"key\":\"sk_a\",\"cost\":1000000}", "{\"key\":\"sk_a\",\"cost\":1000001}",
    "{\"key\":\"sk_a\",\"cost\":-1}", "{\"key\":\"sk_a\",\"cost\":null}", "{\"key\":\"sk_a\",\"cost\":\"1\"}",
    "{\"key\":\"sk_a\",\"cost\":9223372036854775808}", "{\"key\":\"sk_a\",\"cost\":1e400}",
    "{\"key\":\"sk_a\",\"scopes\":[]}", "{\"key\":\"sk_a\",\"scopes\":[\"\"]}", "{\"key\":\"sk_a\",\"scopes\":[1]}",
    "{\"key\":\"sk_a\",\"scopes\":[\"a\",]}", "{\"key\":\"sk_a\",\"scopes\":\"a\"}",
    "{\"key\":\"sk_a\",\"scopes\":null}",
    "{\"k\\u0065y\":\"sk_a\"}", "{\"key\":\"sk_\\u0061\"}", "{\"key\":\"sk_\u{e9}\"}", "{\"key\":\"sk\ta\"}",
    "{\"key\":null}", "{\"key\":\"\"}", "{\"key\":1}", "{\"key\":true}", "{\"key\":[\"sk_a\"]}", "{\"key\":{}}",
    "{\"key\":\"sk_a\",\"ip\":\"203.0.113.7\"}", "{\"key\":\"sk_a\",\"ip\":\"nope\"}",
    "{\"key\":\"sk_a\",\"scope\":\"\"}",
    "{\"key\":\"sk_a\",\"environment\":\"sixteen-letters!\"}", "{\"key\":\"sk_a\",\"bogus\":1,\"scope\":5}",
    "{\"key\":\"sk_a\",\"\u{212A}ey\":1}", "{\"e\u{301}\":1,\"\u{e9}\":2}", "{\"key\":\"sk_a\",\"cost\":nul}",
    "{\"key\":\"sk_a\",\"cost\":nulll}", "\u{FEFF}{\"key\":\"sk_a\"}", "{\"key\":\"sk_a\"}\u{0}",
    "{\"key\":\"" + String(repeating: "k", count: 257) + "\"}",
    "{\"key\":\"sk_a\",\"endpoint\":" + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "}",
])
func theBodyReadersAgreeOnEdgeCases(body: String) {
    let bytes = Array(body.utf8)
    if let scanned = bytes.withUnsafeBufferPointer({ VerifyBody(plain: $0) }) {
        if var general = try? RequestBody(bytes) {
            #expect(VerifyBody(general: &general) == scanned)
        } else {
            Issue.record("the general reader refused a plain body")
        }
    }
    #expect(outcome(verification, bytes) == outcome(generalVerification, bytes))
}

/// The common gateway body is read by the plain reader, members and all.
@Test func aGatewaysBodyIsReadPlainly() throws {
    let bytes = Array(
        #" {"key": "sk_live_x", "scope":"a:read","scopes":["b", "c"] ,"cost":12,"ip":null,"endpoint":"GET /x"}"#.utf8)
    let body = try #require(bytes.withUnsafeBufferPointer { VerifyBody(plain: $0) })
    #expect(body.key == .string("sk_live_x") && body.scope == .string("a:read"))
    #expect(body.scopes == .array([.string("b"), .string("c")]))
    #expect(body.cost == .int(12) && body.ip == .null && body.endpoint == .string("GET /x"))
    #expect(body.environment == nil && body.account == nil && body.unknownField == nil)
    // Printed, the body leaves the secret out.
    #expect(!"\(body)".contains("sk_live_x") && !String(reflecting: body).contains("sk_live_x"))
    #expect("\(body)".contains("a:read"))
}
