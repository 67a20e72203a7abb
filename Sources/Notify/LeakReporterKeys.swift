import Events
import JSON

/// The public keys secret scanners sign leak reports with, from a file in GitHub's
/// format (`GET https://api.github.com/meta/public_keys/secret_scanning`):
/// `{"public_keys": [{"key_identifier": "...", "key": "-----BEGIN PUBLIC KEY-----...", "is_current": true}]}`.
public struct LeakReporterKeys: Sendable {
    let keys: [String: ECDSAPublicKey]

    /// No keys: only administrators may report.
    public init() { keys = [:] }

    /// The keys of a public-keys JSON text.
    ///
    /// - Throws: ``WebhookKeyError`` saying what is wrong with the text.
    public init(json: [UInt8]) throws(WebhookKeyError) {
        guard let value = try? JSONParser.parse(json), let list = value.objectValue?["public_keys"]?.arrayValue else {
            throw WebhookKeyError("not GitHub's public-keys JSON: {\"public_keys\": [{\"key_identifier\", \"key\"}]}")
        }
        var keys: [String: ECDSAPublicKey] = [:]
        for entry in list {
            guard let object = entry.objectValue, let id = object["key_identifier"]?.stringValue,
                let pem = object["key"]?.stringValue
            else { throw WebhookKeyError("a public key lacks key_identifier or key") }
            guard let key = ECDSAPublicKey(pem: pem) else {
                throw WebhookKeyError("key \(id) is not an ECDSA P-256 public key in PEM")
            }
            keys[id] = key
        }
        self.keys = keys
    }

    public var isEmpty: Bool { keys.isEmpty }

    /// True when `signature` (base64 of DER) is a valid signature of `body` by the key
    /// named `identifier`.
    public func verify(identifier: String, signature: String, body: [UInt8]) -> Bool {
        guard let key = keys[identifier], let der = Base64.decode(signature) else { return false }
        return key.verify(signature: der, message: body)
    }
}
