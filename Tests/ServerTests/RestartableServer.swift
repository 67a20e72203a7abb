import Events
import Foundation
import HTTP
import Ledger
import Notify
import Server
import Testing

/// A real ledger and server in a temp directory that a test can stop and start again
/// on the same data (a restart loses everything held only in memory).
final class RestartableServer {
    let directory: String
    let root: String
    private(set) var ledger: Ledger
    private(set) var server: HTTPServer
    private(set) var port: UInt16
    private let options: LedgerOptions
    /// Webhook secrets (derived from `DIR/webhook.key`, as the real server does) and
    /// redeliveries; kept across restarts.
    let notifications: NotificationSettings

    init(ledgerOptions: (inout LedgerOptions) -> Void = { _ in }) throws {
        var template = Array("/tmp/keyledger-restart-XXXXXX".utf8CString)
        directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        root = try Ledger.initialize(path: directory)
        var options = LedgerOptions()
        options.sweepInterval = nil
        ledgerOptions(&options)
        self.options = options
        var notifications = NotificationSettings()
        notifications.key = try WebhookKey.open(directory: directory, create: true)
        notifications.deliveries = try DeliveryStore(path: directory + "/deliveries")
        self.notifications = notifications
        (ledger, server, port) = try Self.start(directory, options, notifications)
    }

    private static func start(_ directory: String, _ options: LedgerOptions, _ notifications: NotificationSettings)
        throws -> (Ledger, HTTPServer, UInt16)
    {
        let ledger = try Ledger(path: directory, options: options)
        var configuration = HTTPServerConfiguration()
        configuration.errorResponse = APIResponder.protocolErrorResponse
        configuration.loopWork = WriterOnLoop(ledger)
        let server = HTTPServer(configuration: configuration, responder: APIResponder(ledger: ledger, logRequests: false, notifications: notifications))
        let port = try server.bindTCP(host: "127.0.0.1", port: 0)
        try server.start()
        return (ledger, server, port)
    }

    /// Stops the server and the ledger, then opens both again on the same directory.
    func restart() throws {
        server.shutdown()
        ledger.close()
        (ledger, server, port) = try Self.start(directory, options, notifications)
    }

    deinit {
        server.shutdown()
        ledger.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A client whose reads include every write made before them.
    func client() throws -> RawClient {
        let client = try RawClient(port: port)
        client.beforeRead = { [ledger] in
            do {
                try ledger.awaitProjections()
            } catch {
                Issue.record("the projections did not reach the log's head: \(error)")
            }
        }
        return client
    }

    var auth: [String: String] { ["Authorization": "Bearer \(root)"] }

    /// The log's head once its readers see every acknowledged event.
    var eventCount: UInt64 {
        try? ledger.awaitLog()
        return (try? ledger.head().seq) ?? 0
    }
}

/// The types of the events after `seq`: what a refused request left (at most its own
/// audit record, never a key event).
func eventTypes(_ ledger: Ledger, after seq: UInt64) throws -> [String] {
    let head = try ledger.head().seq
    guard head > seq else { return [] }
    return try (seq + 1...head).compactMap { try ledger.event(at: $0)?.event.type.wireName }
}
