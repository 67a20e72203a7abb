public import Events
import JSON

/// The Standard Webhooks headers of one delivery.
public enum WebhookSignature {
    /// `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,<base64 of
    /// HMAC-SHA256(secret bytes, "<id>.<timestamp>.<body>")>`).
    public static func headers(id: String, timestamp: Int64, body: [UInt8], secret: [UInt8]) -> [(String, String)] {
        let signed = Array("\(id).\(timestamp).".utf8) + body
        return [
            ("webhook-id", id),
            ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", "v1," + Base64.encode(HMACSHA256.mac(key: secret, message: signed))),
        ]
    }

    /// The body: `{"type", "timestamp", "data": <the event as /v1/events shows it>}`.
    public static func body(_ stored: Stored) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.field("type", stored.event.type.wireName)
        w.field("timestamp", timestamp: stored.event.time)
        w.key("data")
        EventJSON.write(stored.event, prevHash: stored.prevHash, hash: stored.hash, into: &w)
        w.endObject()
        return w.finish()
    }

    public typealias Stored = (event: Event, prevHash: Digest, hash: Digest)
}
