import Events
import HTTP
import JSON
import Ledger
import Projections
import Rendering

extension Call {
    /// `POST /v1/keys/import`: a key whose secret another system issued, known by the
    /// SHA-256 of that secret (`secretHash: "sha256:<64 hex>"`). The answer has no secret.
    func importKey() throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        var body = try RequestBody(request.body)
        guard let hash = try body.string("secretHash", required: true, maxLength: 80) else {
            throw .invalid("secretHash", "is required")
        }
        let spec = try keySpec(&body)
        try body.finish()
        guard let digest = Self.sha256Digest(hash) else {
            throw .invalid("secretHash", "must be sha256: followed by 64 hexadecimal digits")
        }
        let finish = self.finish
        ledger.importKey(spec, secretDigest: digest, context: context) { result in
            switch result {
            case .success(let key): finish(.success(keyResponse(201, key)))
            case .failure(let error): finish(.failure(APIError(error)))
            }
        }
    }

    /// The digest `sha256:<64 hex>` names (either case of hex digits).
    static func sha256Digest(_ text: String) -> Digest? {
        let prefix = "sha256:"
        guard text.hasPrefix(prefix) else { return nil }
        let hex = Array(text.utf8.dropFirst(prefix.utf8.count))
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for i in stride(from: 0, to: 64, by: 2) {
            guard let high = hexValue(hex[i]), let low = hexValue(hex[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes.withUnsafeBytes { Digest(bytes: $0) }
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: b - 48
        case 97...102: b - 87
        case 65...70: b - 55
        default: nil
        }
    }
}
