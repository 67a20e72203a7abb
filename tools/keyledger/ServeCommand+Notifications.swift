import Events
import Glibc
import Ledger
import Notify
import Outbound
import Server

/// The webhook, expiry-warning and leak-report options of `keyledger serve`.
extension ServeCommand {
    /// Declared in one block, appended to ``options``.
    static let notificationOptions: [Option] = [
        .text(
            "webhook-ca-file", "FILE", configuration: true,
            "PEM file of CAs trusted for webhook receivers, beside the system's"),
        .flag(
            "webhook-allow-private",
            "deliver webhooks to plain http:// and to private, loopback and link-local addresses too (SSRF)"),
        .number(
            "webhook-connect-timeout", "S", configuration: true, default: 5, in: 1...300,
            "seconds to connect to a webhook receiver"),
        .number(
            "webhook-timeout", "S", configuration: true, default: 10, in: 1...600,
            "seconds one webhook delivery may take in all"),
        .number(
            "webhook-workers", configuration: true, default: 4, in: 1...256,
            "webhook deliveries in flight at once (one per webhook at a time)"),
        .text(
            "expiry-warnings", "LIST", configuration: true, default: "14d,3d,1d",
            "lead times of key.expiring warnings (units s, m, h, d; off for none)"),
        .text(
            "leak-reporter-keys", "FILE", configuration: true,
            "secret scanners' public keys (GitHub's JSON) that signed POST /v1/leaks reports are checked against"),
        .text(
            "leak-policy", "P", configuration: true, default: "suspend",
            "what a key reported leaked becomes: revoke, suspend or notify"),
    ]

    /// Seconds of `--expiry-warnings` (`14d,3d,1d`), longest first.
    static func expiryWarnings(_ text: String) throws -> [Int64] {
        if text == "off" { return [] }
        var leads: [Int64] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
            guard let unit = part.last.flatMap({ units[$0] }), let n = Int64(part.dropLast()), n > 0,
                n <= 3650 * 86_400 / unit
            else {
                throw UsageError("--expiry-warnings takes lead times such as 14d,3d,1d (units s, m, h, d), not \(text)")
            }
            leads.append(n * unit)
        }
        return Array(Set(leads)).sorted(by: >)
    }

    static func ledgerOptions(_ parsed: Arguments) throws -> LedgerOptions {
        var options = LedgerOptions()
        options.expiryWarnings = try expiryWarnings(parsed.value("expiry-warnings") ?? "")
        let journal = try parsed.integer("journal-ms")
        options.journalMillis = journal == 0 ? nil : Double(journal)
        options.gatherMicros = try parsed.integer("gather-us")
        return options
    }

    static func delivererOptions(_ parsed: Arguments) throws -> DelivererOptions {
        var options = DelivererOptions()
        options.outbound.allowPrivate = parsed.has("webhook-allow-private")
        options.outbound.connectTimeout = try parsed.integer("webhook-connect-timeout")
        options.outbound.totalTimeout = try parsed.integer("webhook-timeout")
        options.workers = try parsed.integer("webhook-workers")
        if let ca = parsed.value("webhook-ca-file") {
            guard access(ca, R_OK) == 0 else { throw UsageError("--webhook-ca-file \(ca) cannot be read") }
            options.outbound.caFile = ca
        }
        return options
    }

    /// The settings of the webhook and leak routes, and the deliverer (none read-only).
    static func notifications(_ ledger: Ledger, path: String, _ parsed: Arguments) throws -> (
        NotificationSettings, Deliverer?
    ) {
        var settings = NotificationSettings()
        let policyText = parsed.value("leak-policy") ?? ""
        guard let policy = LeakPolicy(wireName: policyText) else {
            throw UsageError("--leak-policy takes revoke, suspend or notify, not \(policyText)")
        }
        settings.leakPolicy = policy
        if let file = parsed.value("leak-reporter-keys") {
            guard let bytes = readWhole(file) else { throw UsageError("--leak-reporter-keys \(file) cannot be read") }
            do {
                settings.leakReporters = try LeakReporterKeys(json: bytes)
            } catch {
                throw UsageError("--leak-reporter-keys \(file): \(error)")
            }
        }
        let writable = !parsed.has("read-only")
        do {
            settings.key = try WebhookKey.open(directory: path, create: writable)
        } catch {
            // A read-only server on a ledger never served writable has no key yet: it
            // lists webhooks but cannot show or rotate secrets.
            guard !writable else { throw UsageError("\(error)") }
        }
        guard writable, let key = settings.key else { return (settings, nil) }
        let deliverer = try Deliverer(ledger: ledger, directory: path, key: key, options: try delivererOptions(parsed))
        settings.deliveries = deliverer.store
        return (settings, deliverer)
    }

    static func readWhole(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65_536) }
            if n < 0 { return nil }
            if n == 0 { return out }
            out += buffer.prefix(n)
            if out.count > 1 << 20 { return nil }
        }
    }
}
