public import Events

/// The limits on key attributes (documented in docs/openapi.yaml). Checked before any
/// event is made, so bad input appends nothing.
public enum KeyRules {
    public static let maxScopes = 100
    public static let maxAccounts = 1000
    public static let maxAllowlist = 100
    public static let maxRateLimits = 10
    public static let maxRateLimit: UInt64 = 1_000_000_000
    public static let maxWindowSeconds: UInt32 = 2_592_000
    public static let maxCredits: Int64 = 1_000_000_000_000
    public static let maxTTLSeconds: Int64 = 315_360_000
    public static let maxGraceSeconds: Int64 = 604_800
    public static let maxMetadataEntries = 50
    public static let maxReasonLength = 500

    public static func owner(_ owner: String) throws(LedgerError) {
        let bytes = Array(owner.utf8)
        guard (1...64).contains(bytes.count) else {
            throw .invalid(field: "owner", reason: "must be 1 to 64 characters")
        }
        func allowed(_ b: UInt8) -> Bool {
            isAlnum(b) || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") || b == UInt8(ascii: ":")
                || b == UInt8(ascii: "-")
        }
        guard isAlnum(bytes[0]), bytes.allSatisfy(allowed) else {
            throw .invalid(field: "owner", reason: "must match ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
        }
    }

    public static func name(_ name: String) throws(LedgerError) {
        guard (1...200).contains(name.count) else {
            throw .invalid(field: "name", reason: "must be 1 to 200 characters")
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalid(field: "name", reason: "must not contain control characters")
        }
    }

    public static func environment(_ environment: String) throws(LedgerError) {
        let bytes = Array(environment.utf8)
        guard (1...15).contains(bytes.count), bytes.allSatisfy({ isLowerAlnum($0) }) else {
            throw .invalid(field: "environment", reason: "must match ^[a-z0-9]{1,15}$")
        }
    }

    /// Prefixes starting with this are the ledger's own credentials' (the root token is
    /// `kl_root_`): no key may take one, so a secret's prefix never passes for the root's.
    public static let reservedPrefix = "kl_"

    /// - Parameter field: the request field the prefix came from (`environment` when it
    ///   was derived from one).
    public static func prefix(_ prefix: String, field: String = "prefix") throws(LedgerError) {
        guard Secret.isValidPrefix(prefix) else {
            throw .invalid(field: field, reason: "must match ^[a-z][a-z0-9]{0,15}_([a-z0-9]{1,15}_)?$")
        }
        guard !prefix.hasPrefix(reservedPrefix) else {
            throw .invalid(
                field: field,
                reason: "prefixes starting with \(reservedPrefix) are reserved for the ledger's own credentials")
        }
    }

    /// Checks a key's scopes like any tokens; a scope in the `ledger:` namespace must be
    /// one the ledger knows (``LedgerScope``).
    public static func scopes(_ scopes: [String]) throws(LedgerError) -> [String] {
        let clean = try tokens(scopes, field: "scopes", max: maxScopes)
        for (i, scope) in scopes.enumerated()
        where LedgerScope.isLedgerScope(scope) && LedgerScope(rawValue: scope) == nil {
            throw .invalid(
                field: "scopes[\(i)]",
                reason: "unknown ledger scope \(scope.prefix(128)); ledger scopes are "
                    + LedgerScope.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return clean
    }

    /// Checks each entry and drops repeats, keeping first occurrences in order.
    public static func tokens(_ list: [String], field: String, max: Int) throws(LedgerError) -> [String] {
        guard list.count <= max else { throw .invalid(field: field, reason: "at most \(max) entries") }
        var seen = Set<String>()
        var out: [String] = []
        for (i, item) in list.enumerated() {
            let bytes = Array(item.utf8)
            guard (1...128).contains(bytes.count), bytes.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
                throw .invalid(
                    field: "\(field)[\(i)]", reason: "must be 1 to 128 printable ASCII characters without spaces")
            }
            if seen.insert(item).inserted { out.append(item) }
        }
        return out
    }

    /// Checks the size and drops repeated ranges, keeping first occurrences in order.
    public static func allowlist(_ list: [CIDR]) throws(LedgerError) -> [CIDR] {
        guard list.count <= maxAllowlist else {
            throw .invalid(field: "ipAllowlist", reason: "at most \(maxAllowlist) entries")
        }
        var seen = Set<CIDR>()
        return list.filter { seen.insert($0).inserted }
    }

    public static func rateLimits(_ limits: [RateLimit]) throws(LedgerError) {
        guard limits.count <= maxRateLimits else {
            throw .invalid(field: "rateLimits", reason: "at most \(maxRateLimits) limits")
        }
        for (i, limit) in limits.enumerated() {
            guard (1...maxRateLimit).contains(limit.limit) else {
                throw .invalid(field: "rateLimits[\(i)].limit", reason: "must be 1 to \(maxRateLimit)")
            }
            guard (1...maxWindowSeconds).contains(limit.windowSeconds) else {
                throw .invalid(field: "rateLimits[\(i)].windowSeconds", reason: "must be 1 to \(maxWindowSeconds)")
            }
            if let name = limit.name {
                let bytes = Array(name.utf8)
                guard (1...64).contains(bytes.count), isAlnum(bytes[0]),
                    bytes.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") })
                else {
                    throw .invalid(field: "rateLimits[\(i)].name", reason: "must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
                }
                guard !limits[..<i].contains(where: { $0.name == name }) else {
                    throw .invalid(field: "rateLimits[\(i)].name", reason: "repeats the name \(name)")
                }
            }
        }
    }

    public static func credits(_ credits: Int64?, field: String = "credits") throws(LedgerError) {
        guard let credits else { return }
        guard (0...maxCredits).contains(credits) else {
            throw .invalid(field: field, reason: "must be 0 to \(maxCredits)")
        }
    }

    public static func metadata(_ metadata: [String: String?]) throws(LedgerError) {
        for (key, value) in metadata {
            guard (1...40).contains(key.count) else {
                throw .invalid(field: "metadata", reason: "keys must be 1 to 40 characters")
            }
            if let value, value.count > 500 {
                throw .invalid(field: "metadata.\(key)", reason: "values must be at most 500 characters")
            }
        }
    }

    public static func metadataSize(_ metadata: [String: String]) throws(LedgerError) {
        guard metadata.count <= maxMetadataEntries else {
            throw .invalid(field: "metadata", reason: "at most \(maxMetadataEntries) entries")
        }
    }

    public static func reason(_ reason: String?) throws(LedgerError) {
        if let reason, reason.count > maxReasonLength {
            throw .invalid(field: "reason", reason: "must be at most \(maxReasonLength) characters")
        }
    }

    static func isAlnum(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
    }

    static func isLowerAlnum(_ b: UInt8) -> Bool { (b >= 48 && b <= 57) || (b >= 97 && b <= 122) }
}
