import Events
public import JSON
public import Projections

/// Renders a key object (API.md "Keys"). Never writes a secret or a digest.
public enum KeyJSON {
    /// Writes the key object; `now` decides whether a passed expiry shows as `expired`.
    public static func write(_ key: KeyState, now: Int64, into w: inout JSONWriter) {
        w.beginObject()
        w.field("id", key.id.description)
        w.field("owner", key.owner)
        w.field("name", key.name)
        w.field("prefix", key.prefix)
        w.field("environment", key.environment)
        w.field("status", key.status(at: now).wireName)
        EventJSON.strings("scopes", key.scopes, &w)
        EventJSON.strings("accounts", key.accounts, &w)
        EventJSON.strings("ipAllowlist", key.ipAllowlist.map(\.description), &w)
        w.field("expiresAt", timestamp: key.expiresAt)
        EventJSON.limits(key.rateLimits, &w)
        w.field("credits", key.credits)
        EventJSON.metadata(key.metadata, &w)
        w.field("createdAt", timestamp: key.createdAt)
        w.field("lastUsedAt", timestamp: key.lastUsedAt)
        w.field("rotatedAt", timestamp: key.rotatedAt)
        w.key("version")
        w.uint(key.version)
        w.endObject()
    }

    /// `ETag` for a key: its version, quoted.
    public static func etag(_ key: KeyState) -> (name: String, value: String) { ("ETag", "\"\(key.version)\"") }
}
