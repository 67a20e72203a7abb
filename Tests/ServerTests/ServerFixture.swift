import Foundation
import HTTP
import Ledger
import Notify
import Server
import Testing

/// A real ledger in a temp directory served by a real HTTP server on an ephemeral
/// loopback port and a Unix socket.
final class ServerFixture {
    let directory: String
    let ledger: Ledger
    let server: HTTPServer
    let port: UInt16
    let socketPath: String
    let root: String

    init(
        configure: (inout HTTPServerConfiguration) -> Void = { _ in },
        ledgerOptions: (inout LedgerOptions) -> Void = { _ in },
        notifications: (inout NotificationSettings) -> Void = { _ in }
    ) throws {
        var template = Array("/tmp/keyledger-server-XXXXXX".utf8CString)
        directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        root = try Ledger.initialize(path: directory)
        var options = LedgerOptions()
        options.sweepInterval = nil
        ledgerOptions(&options)
        ledger = try Ledger(path: directory, options: options)
        var configuration = HTTPServerConfiguration()
        configuration.errorResponse = APIResponder.protocolErrorResponse
        // As `keyledger serve` runs it by default: the writer's batches on the first loop.
        configuration.loopWork = WriterOnLoop(ledger)
        configure(&configuration)
        var settings = NotificationSettings()
        settings.key = WebhookKey(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) })
        settings.deliveries = try DeliveryStore(path: directory + "/deliveries")
        notifications(&settings)
        server = HTTPServer(
            configuration: configuration,
            responder: APIResponder(ledger: ledger, logRequests: false, notifications: settings))
        port = try server.bindTCP(host: "127.0.0.1", port: 0)
        socketPath = directory + "/api.sock"
        try server.bindUnix(path: socketPath)
        try server.start()
    }

    private var closed = false
    private var ledgerClosed = false

    /// Shuts the server down and closes the ledger (what `deinit` does, earlier).
    func close() {
        guard !closed else { return }
        closed = true
        server.shutdown()
        closeLedger()
    }

    /// Closes the ledger under the running server: its writer is gone, nothing can be appended.
    func closeLedger() {
        guard !ledgerClosed else { return }
        ledgerClosed = true
        ledger.close()
    }

    deinit {
        close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A client whose reads include every write made before them (``Ledger/awaitProjections(upTo:seconds:)``).
    func client() throws -> RawClient {
        let client = try RawClient(port: port)
        client.beforeRead = { [ledger] in try? ledger.awaitProjections() }
        return client
    }

    var auth: [String: String] { ["Authorization": "Bearer \(root)"] }

    /// The log's head once its readers see every acknowledged event.
    var eventCount: UInt64 {
        try? ledger.awaitLog()
        return (try? ledger.head().seq) ?? 0
    }

    /// Creates a key through the API; returns its id and secret.
    func createKey(
        _ json: String = #"{"owner":"org_42","name":"CRM Sync","scopes":["accounts:read"]}"#,
        headers: [String: String]? = nil
    ) throws -> (id: String, secret: String) {
        let response = try client().call("POST", "/v1/keys", json: json, headers: headers ?? auth)
        #expect(response.status == 201)
        let data = response.data
        let key = data["key"] as? [String: Any] ?? [:]
        return (key["id"] as? String ?? "", data["secret"] as? String ?? "")
    }
}
