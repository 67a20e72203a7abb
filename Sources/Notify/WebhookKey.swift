public import Events
internal import Glibc
import JSON

/// The ledger's webhook key: 32 random bytes in `DATA/webhook.key` (mode 0600), made at
/// the first writable open. Every webhook's signing secret is derived from it:
/// HMAC-SHA256(key, webhook id bytes || secret version, big-endian), so no secret is
/// ever stored in the log or a projection, and rotating a secret is an event that
/// bumps the version.
public struct WebhookKey: Sendable {
    private let key: [UInt8]

    /// A key from its bytes (tests).
    public init(bytes: [UInt8]) { key = bytes }

    /// Reads `directory/webhook.key`, creating it when missing and `create` is true.
    ///
    /// - Throws: ``WebhookKeyError`` naming the file and what went wrong.
    public static func open(directory: String, create: Bool) throws(WebhookKeyError) -> WebhookKey {
        let path = directory + "/webhook.key"
        var fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0, errno == ENOENT, create {
            let bytes = SystemRandom.bytes(32)
            let temporary = path + ".new"
            fd = Glibc.open(temporary, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw WebhookKeyError("cannot create \(temporary): \(String(cString: strerror(errno)))")
            }
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, 32) }
            let synced = fsync(fd) == 0
            Glibc.close(fd)
            guard written == 32, synced, rename(temporary, path) == 0 else {
                throw WebhookKeyError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            let dir = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dir >= 0 {
                fsync(dir)
                Glibc.close(dir)
            }
            return WebhookKey(bytes: bytes)
        }
        guard fd >= 0 else { throw WebhookKeyError("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        var bytes = [UInt8](repeating: 0, count: 33)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 33) }
        guard count == 32 else { throw WebhookKeyError("\(path) does not hold 32 bytes") }
        return WebhookKey(bytes: Array(bytes.prefix(32)))
    }

    /// The 32 secret bytes of `id`'s secret `version` (what signatures are keyed with).
    public func secretBytes(_ id: WebhookID, version: UInt32) -> [UInt8] {
        HMACSHA256.mac(key: key, message: id.bytes + withUnsafeBytes(of: version.bigEndian) { Array($0) })
    }

    /// The secret as shown once to the subscriber: `whsec_` + base64 of its bytes.
    public func secret(_ id: WebhookID, version: UInt32) -> String {
        "whsec_" + Base64.encode(secretBytes(id, version: version))
    }
}

/// Why the webhook key cannot be read or made.
public struct WebhookKeyError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ text: String) { description = text }
}
