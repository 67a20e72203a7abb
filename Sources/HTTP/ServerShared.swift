import Dispatch

/// What a server's event loops share: configuration, responder, the connection counts
/// and the group they leave when they stop.
final class ServerShared: Sendable {
    let configuration: HTTPServerConfiguration
    let limits: ConnectionLimits
    let responder: any HTTPResponder
    /// Open connections across all loops, lingering ones included.
    let connections: ConnectionCounts
    /// Entered by each loop before its thread starts, left when it stops.
    let running = DispatchGroup()

    init(configuration: HTTPServerConfiguration, responder: any HTTPResponder) {
        self.configuration = configuration
        self.limits = ConnectionLimits(configuration)
        self.connections = ConnectionCounts(limits: limits)
        self.responder = responder
    }
}

/// The configuration in the units the event loop works in: bytes and nanoseconds.
struct ConnectionLimits: Sendable {
    var maxHeaderBytes: Int
    var maxBodyBytes: Int
    var maxPipelinedRequests: Int
    var maxUnsentResponses: Int
    var maxUnsentBytes: Int
    var maxConnections: Int
    var maxSocketConnections: Int
    var maxConnectionsPerAddress: Int
    var headerTimeout: UInt64
    var bodyTimeout: UInt64
    var idleTimeout: UInt64
    var writeTimeout: UInt64
    /// How long a lingering close waits for the client to close its side.
    var lingerTimeout: UInt64
    /// The input buffer grows to this, enough for the largest head plus one byte.
    var inputBufferLimit: Int
    /// How often the loop checks timeouts: a quarter of the shortest, within 10 ms...1 s.
    var sweepInterval: UInt64

    init(_ configuration: HTTPServerConfiguration) {
        maxHeaderBytes = max(configuration.maxHeaderBytes, 64)
        maxBodyBytes = max(configuration.maxBodyBytes, 0)
        maxPipelinedRequests = max(configuration.maxPipelinedRequests, 1)
        maxUnsentResponses = max(configuration.maxUnsentResponses, 1)
        maxUnsentBytes = max(configuration.maxUnsentBytes, 1)
        maxConnections = max(configuration.maxConnections, 1)
        maxSocketConnections = max(configuration.maxSocketConnections, 1)
        maxConnectionsPerAddress = max(configuration.maxConnectionsPerAddress, 1)
        headerTimeout = configuration.headerTimeout.nanoseconds
        bodyTimeout = configuration.bodyTimeout.nanoseconds
        idleTimeout = configuration.idleTimeout.nanoseconds
        writeTimeout = configuration.writeTimeout.nanoseconds
        lingerTimeout = 2_000_000_000
        inputBufferLimit = maxHeaderBytes + 1
        let shortest = min(headerTimeout, bodyTimeout, idleTimeout, writeTimeout, lingerTimeout)
        sweepInterval = min(max(shortest / 4, 10_000_000), 1_000_000_000)
    }
}
