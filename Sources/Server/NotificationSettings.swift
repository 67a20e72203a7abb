public import Events
import Ledger
public import Notify

/// What the webhook and leak routes need besides the ledger.
public struct NotificationSettings: Sendable {
    /// Derives webhook secrets; nil: webhooks cannot be created or rotated (a read-only
    /// server has no key file to make).
    public var key: WebhookKey?
    /// The deliveries projection (attempts, redeliveries); nil: not delivering.
    public var deliveries: DeliveryStore?
    /// The keys signed leak reports are checked against.
    public var leakReporters = LeakReporterKeys()
    /// `--leak-policy`: what a true positive does (unless the key's owner record sets its own `leakPolicy`).
    public var leakPolicy: LeakPolicy = .suspend

    public init() {}
}
