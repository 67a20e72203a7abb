import JSON

/// The members of a `POST /v1/verify` body, before the verification's rules
/// (``Call/verification(_:requestID:_:)``) are applied to them: each nil when absent.
///
/// Read in one of two ways that give the same value for every body: a plain body (see
/// ``init(plain:)``) straight from its bytes, without building the general JSON tree and
/// looking each name up in it (every verification reads one, hot path, STYLE.md 12);
/// any other body through ``RequestBody``, which also gives every error that is not the
/// verification's own (bad JSON, not an object).
struct VerifyBody: Equatable {
    var key: JSONValue?
    var scope: JSONValue?
    var scopes: JSONValue?
    var environment: JSONValue?
    var account: JSONValue?
    var ip: JSONValue?
    var endpoint: JSONValue?
    var cost: JSONValue?
    /// The first member, in document order, that is none of these.
    var unknownField: String?

    /// Reads `bytes`, a verification's body.
    /// - Throws: what ``RequestBody/init(_:optional:)`` throws for them.
    init(_ bytes: [UInt8]) throws(APIError) {
        if let body = bytes.withUnsafeBufferPointer({ VerifyBody(plain: $0) }) {
            self = body
            return
        }
        var general = try RequestBody(bytes)
        self.init(general: &general)
    }

    /// The members of `body`, read the general way.
    init(general body: inout RequestBody) {
        key = body.value("key")
        scope = body.value("scope")
        scopes = body.value("scopes")
        environment = body.value("environment")
        account = body.value("account")
        ip = body.value("ip")
        endpoint = body.value("endpoint")
        cost = body.value("cost")
        unknownField = body.firstUnread
    }

    init() {}
}

extension VerifyBody: CustomStringConvertible, CustomDebugStringConvertible {
    /// The members with the secret left out (only whether it is there and a string), so a
    /// body printed anywhere, in a failing test too, never shows it.
    var description: String {
        let key: String =
            switch key {
            case nil: "absent"
            case .string?: "a string (not shown)"
            case let other?: "\(other)"
            }
        return "VerifyBody(key: \(key), scope: \(String(describing: scope)), scopes: \(String(describing: scopes)), "
            + "environment: \(String(describing: environment)), account: \(String(describing: account)), "
            + "ip: \(String(describing: ip)), endpoint: \(String(describing: endpoint)), "
            + "cost: \(String(describing: cost)), unknownField: \(String(describing: unknownField)))"
    }

    var debugDescription: String { description }
}
