import Events
import JSON
import Notify
import Outbound
import Testing

@Test func backoffFollowsTheScheduleThenTwelveHours() {
    let delays = (1...9).map { Backoff.delay(afterFailures: $0) }
    #expect(delays == [5, 300, 1800, 7200, 18_000, 36_000, 43_200, 43_200, 43_200])
    #expect(Backoff.giveUpMicros == 3 * 86_400 * 1_000_000)
    #expect(Backoff.disableMicros == 5 * 86_400 * 1_000_000)
}

/// The Standard Webhooks specification's own example: secret, id, timestamp and body
/// give exactly this `webhook-signature`.
@Test func signatureHeadersMatchTheStandardWebhooksExample() throws {
    let secret = try #require(Base64.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
    let headers = WebhookSignature.headers(
        id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8),
        secret: secret)
    #expect(headers.map(\.0) == ["webhook-id", "webhook-timestamp", "webhook-signature"])
    #expect(headers[0].1 == "msg_p5jXN8AQM9LWM0D4loKWxJek")
    #expect(headers[1].1 == "1614265330")
    #expect(headers[2].1 == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
}

@Test func webhookSecretsAreDerivedPerIdAndVersion() throws {
    let key = WebhookKey(bytes: Array(repeating: 7, count: 32))
    var random = SystemRandomNumberGenerator()
    let a = WebhookID.make(at: 1_000_000, using: &random)
    let b = WebhookID.make(at: 1_000_000, using: &random)
    let secret = key.secret(a, version: 1)
    #expect(secret.hasPrefix("whsec_"))
    #expect(Base64.decode(secret.dropFirst(6)) == key.secretBytes(a, version: 1))
    #expect(key.secretBytes(a, version: 1).count == 32)
    #expect(key.secret(a, version: 1) == secret)
    #expect(key.secret(a, version: 2) != secret)
    #expect(key.secret(b, version: 1) != secret)
    #expect(WebhookKey(bytes: Array(repeating: 8, count: 32)).secret(a, version: 1) != secret)
}

@Test(arguments: [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "255.255.255.255", "198.18.0.1", "192.0.2.5", "::1", "::", "fe80::1", "fc00::1",
    "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:7f00:1::", "2001:db8::1",
])
func privateAddressesAreRefused(_ text: String) throws {
    let address = try #require(IPAddress(text))
    #expect(!AddressPolicy.isPublic(address.bytes))
}

@Test(arguments: [
    "8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "2a00:1450::1",
])
func publicAddressesAreAllowed(_ text: String) throws {
    let address = try #require(IPAddress(text))
    #expect(AddressPolicy.isPublic(address.bytes))
}

@Test func destinationsParseStrictly() {
    #expect(Destination(url: "https://hooks.example.com/x?y") == Destination(url: "https://hooks.example.com:443"))
    #expect(Destination(url: "https://hooks.example.com/x")?.port == 443)
    #expect(Destination(url: "http://h:8080/x")?.port == 8080)
    #expect(Destination(url: "https://[::1]:9/")?.host == "::1")
    #expect(Destination(url: "ftp://h/") == nil)
    #expect(Destination(url: "https://user@h/") == nil)
    #expect(Destination(url: "https://h:0/") == nil)
    #expect(Destination(url: "https:///x") == nil)
}

/// The SSRF check applies to what a name resolves to: `localhost` is a name, and it
/// is refused by address; plain http is refused before any connection.
@Test func outboundRefusesPrivateDestinationsByResolvedAddress() {
    let options = OutboundOptions()
    let byName = OutboundClient.post(url: "https://localhost:9/", headers: [], body: [], options: options, nowMs: { 0 })
    #expect(byName.status == 0)
    #expect(byName.error?.contains("not a public address") == true)
    let literal = OutboundClient.post(
        url: "https://169.254.169.254/", headers: [], body: [], options: options, nowMs: { 0 })
    #expect(literal.error?.contains("not a public address") == true)
    let plain = OutboundClient.post(url: "http://example.com/", headers: [], body: [], options: options, nowMs: { 0 })
    #expect(plain.error?.contains("plain http") == true)
}
