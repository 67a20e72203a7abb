import Events

/// The API's paths, parsed from the request target (query already split off).
enum Route: Equatable {
    case keys
    case key(KeyID)
    case keyAction(KeyID, KeyAction)
    case keyView(KeyID, KeyView)
    case verify
    case audit
    case events
    case ledgerVerify
    case tree(TreeView)
    case auditExport
    case healthz
    case metrics
    case console(ConsoleAsset)
    case importKeys
    case selfRotate
    case owners
    case owner(String)
    case plans
    case plan(String)
    case webhooks
    case webhook(WebhookID)
    case webhookAction(WebhookID, WebhookAction)
    case leaks

    enum WebhookAction: String {
        case rotateSecret = "rotate-secret"
        case redeliver, deliveries
    }

    enum KeyAction: String {
        case rotate, suspend, reactivate, credits
    }

    enum KeyView: String {
        case logs, usage, state
    }

    /// The provable-audit reads under `/v1/ledger/`.
    enum TreeView: String {
        case checkpoint, checkpoints, key
        case inclusion = "proof/inclusion"
        case consistency = "proof/consistency"
    }

    /// The route for `path`, or nil (404). A malformed key id is a 404 too: no such key.
    init?(path: String) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.first == "" else { return nil }
        switch parts.dropFirst().map(String.init) {
        case ["healthz"]: self = .healthz
        case ["metrics"]: self = .metrics
        case ["v1", "keys"]: self = .keys
        case ["v1", "verify"]: self = .verify
        case ["v1", "audit"]: self = .audit
        case ["v1", "events"]: self = .events
        case ["v1", "ledger", "verify"]: self = .ledgerVerify
        case ["v1", "audit", "export"]: self = .auditExport
        case let p where (p.count == 3 || p.count == 4) && p[0] == "v1" && p[1] == "ledger":
            guard let view = TreeView(rawValue: p[2...].joined(separator: "/")) else { return nil }
            self = .tree(view)
        case ["v1", "keys", "import"]: self = .importKeys
        case ["v1", "keys", "self", "rotate"]: self = .selfRotate
        case ["v1", "owners"]: self = .owners
        case ["v1", "plans"]: self = .plans
        case let p where p.count == 3 && p[0] == "v1" && p[1] == "owners" && !p[2].isEmpty: self = .owner(p[2])
        case let p where p.count == 3 && p[0] == "v1" && p[1] == "plans" && !p[2].isEmpty: self = .plan(p[2])
        case ["v1", "webhooks"]: self = .webhooks
        case ["v1", "leaks"]: self = .leaks
        case let p where (p.count == 3 || p.count == 4) && p[0] == "v1" && p[1] == "webhooks":
            guard let id = WebhookID(p[2]) else { return nil }
            if p.count == 3 {
                self = .webhook(id)
            } else {
                guard let action = WebhookAction(rawValue: p[3]) else { return nil }
                self = .webhookAction(id, action)
            }
        case ["console"]: self = .console(.index)
        case let p where p.count == 2 && p[0] == "console":
            guard let asset = ConsoleAsset(rawValue: p[1]) else { return nil }
            self = .console(asset)
        case let p where p.count == 3 && p[0] == "v1" && p[1] == "keys":
            guard let id = KeyID(p[2]) else { return nil }
            self = .key(id)
        case let p where p.count == 4 && p[0] == "v1" && p[1] == "keys":
            guard let id = KeyID(p[2]) else { return nil }
            if let action = KeyAction(rawValue: p[3]) {
                self = .keyAction(id, action)
            } else if let view = KeyView(rawValue: p[3]) {
                self = .keyView(id, view)
            } else {
                return nil
            }
        default: return nil
        }
    }

    /// The methods this route answers (HEAD goes with GET).
    var methods: [String] {
        switch self {
        case .keys: ["GET", "HEAD", "POST"]
        case .key: ["GET", "HEAD", "PATCH", "DELETE"]
        case .keyAction, .verify, .importKeys, .selfRotate, .leaks: ["POST"]
        case .owner, .plan: ["GET", "HEAD", "PUT"]
        case .owners, .plans: ["GET", "HEAD"]
        case .webhooks: ["GET", "HEAD", "POST"]
        case .webhook: ["GET", "HEAD", "PATCH", "DELETE"]
        case .webhookAction(_, .deliveries): ["GET", "HEAD"]
        case .webhookAction: ["POST"]
        case .keyView, .audit, .events, .ledgerVerify, .tree, .auditExport, .healthz, .metrics, .console:
            ["GET", "HEAD"]
        }
    }

    /// The path with ids replaced, for logs and metrics: `/v1/keys/{id}/rotate`.
    var template: String {
        switch self {
        case .keys: "/v1/keys"
        case .key: "/v1/keys/{id}"
        case .keyAction(_, let action): "/v1/keys/{id}/\(action.rawValue)"
        case .keyView(_, let view): "/v1/keys/{id}/\(view.rawValue)"
        case .verify: "/v1/verify"
        case .audit: "/v1/audit"
        case .events: "/v1/events"
        case .ledgerVerify: "/v1/ledger/verify"
        case .tree(let view): "/v1/ledger/\(view.rawValue)"
        case .auditExport: "/v1/audit/export"
        case .healthz: "/healthz"
        case .metrics: "/metrics"
        case .console(let asset): asset.path
        case .importKeys: "/v1/keys/import"
        case .selfRotate: "/v1/keys/self/rotate"
        case .owners: "/v1/owners"
        case .owner: "/v1/owners/{owner}"
        case .plans: "/v1/plans"
        case .plan: "/v1/plans/{plan}"
        case .webhooks: "/v1/webhooks"
        case .webhook: "/v1/webhooks/{id}"
        case .webhookAction(_, let action): "/v1/webhooks/{id}/\(action.rawValue)"
        case .leaks: "/v1/leaks"
        }
    }
}
