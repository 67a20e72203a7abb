import Events
import Ledger
import Projections
import Testing

private let hook = WebhookID(raw: KeyID(high: 0x0352_0000_0000_0000, low: 99))
private let webhooks = ["ledger:webhooks"]
private let bound = AccessOutcome.granted(owner: "org_a")

/// Every webhook action, for the root token, keys with and without `ledger:webhooks`,
/// of the webhook's owner and of another.
private let webhookCases: [AccessCase] = [
    AccessCase(
        name: "root creates for any owner", scopes: nil, action: .createWebhook(owner: nil),
        expected: .granted(owner: nil)),
    AccessCase(
        name: "root manages any webhook", scopes: nil, action: .manageWebhook(hook, owner: "org_b"),
        expected: .granted(owner: nil)),
    AccessCase(name: "root reports leaks unsigned", scopes: nil, action: .reportLeaks, expected: .granted(owner: nil)),
    AccessCase(
        name: "ledger:webhooks creates for its owner", scopes: webhooks, action: .createWebhook(owner: nil),
        expected: bound),
    AccessCase(
        name: "ledger:webhooks names its owner", scopes: webhooks, action: .createWebhook(owner: "org_a"),
        expected: bound),
    AccessCase(
        name: "not for another owner", scopes: webhooks, action: .createWebhook(owner: "org_b"),
        expected: .refused(.forbidden("this credential may only manage webhooks of owner org_a"))),
    AccessCase(name: "lists its owner's", scopes: webhooks, action: .listWebhooks(owner: nil), expected: bound),
    AccessCase(
        name: "not another owner's list", scopes: webhooks, action: .listWebhooks(owner: "org_b"),
        expected: .refused(.forbidden("this credential may only manage webhooks of owner org_a"))),
    AccessCase(
        name: "manages its owner's webhook", scopes: webhooks, action: .manageWebhook(hook, owner: "org_a"),
        expected: bound),
    AccessCase(
        name: "not another owner's webhook", scopes: webhooks, action: .manageWebhook(hook, owner: "org_b"),
        expected: .refused(.forbidden("webhook \(hook) belongs to another owner"))),
    AccessCase(
        name: "nor a root's all-owner webhook", scopes: webhooks, action: .manageWebhook(hook, owner: ""),
        expected: .refused(.forbidden("webhook \(hook) belongs to another owner"))),
    AccessCase(
        name: "a missing webhook is 404", scopes: webhooks, action: .manageWebhook(hook, owner: nil),
        expected: .refused(.notFound("no webhook \(hook)"))),
    AccessCase(
        name: "ledger:keys does not manage webhooks", scopes: ["ledger:keys"], action: .listWebhooks(owner: nil),
        expected: .refused(.forbidden("the credential lacks the scope ledger:webhooks"))),
    AccessCase(
        name: "nor creates them", scopes: ["ledger:keys", "ledger:audit"], action: .createWebhook(owner: nil),
        expected: .refused(.forbidden("the credential lacks the scope ledger:webhooks"))),
    AccessCase(
        name: "no ledger key reports leaks", scopes: webhooks + ["ledger:keys"], action: .reportLeaks,
        expected: .refused(
            .forbidden("only the root token or the Unix socket may report leaked keys without a signature"))),
]

@Test(arguments: webhookCases)
func webhookRightsAreDecidedByAccess(_ c: AccessCase) {
    let use = Access.Use(ip: nil, endpoint: "POST /v1/webhooks")
    let caller: Access.Caller =
        c.scopes.map { .key(Sample.key(1, scopes: $0), .current) } ?? .administrator(Actor(kind: .root, id: "root"))
    let outcome: AccessOutcome
    do {
        outcome = .granted(
            owner: try Access.authorize(caller, c.action, target: nil, use: use, now: Sample.seconds(1)).owner)
    } catch {
        outcome = .refused(error)
    }
    #expect(outcome == c.expected)
}

/// A verified leak report's signature grants reporting leaks and nothing else.
@Test func aLeakReportersSignatureGrantsOnlyLeakReports() throws {
    let caller = Access.Caller.leakReporter(keyIdentifier: "abc")
    let use = Access.Use(ip: nil, endpoint: "POST /v1/leaks")
    let grant = try Access.authorize(caller, .reportLeaks, target: nil, use: use, now: Sample.t0)
    #expect(grant.actor == Actor(kind: .system, id: "leak-reporter:abc") && grant.events.isEmpty)
    for action in [Action.readEvents, .listKeys(owner: nil), .createWebhook(owner: nil), .revokeKey(Sample.key(2).id)] {
        #expect(throws: LedgerError.forbidden("a leak report's signature grants nothing else")) {
            try Access.authorize(caller, action, target: Sample.key(2), use: use, now: Sample.t0)
        }
    }
}
