import Events
import Glibc
public import HTTP
import JSON
public import Ledger

/// The KeyLedger API over HTTP: routes each request, checks its credential, calls the
/// ledger and renders the envelope. Holds no domain rules: those live in the ledger.
public final class APIResponder: HTTPResponder {
    let ledger: Ledger
    let log: RequestLog
    let requestMetrics = RequestMetrics()
    let checkpoints: TreeCheckpoints?
    let idempotency = IdempotencyGate()
    /// The verify answers' per-key members, rendered once per key version.
    let verifyFragments = VerifyFragments()
    let notifications: NotificationSettings

    /// - Parameters:
    ///   - ledger: the open ledger to serve.
    ///   - logRequests: write one line per request to stderr.
    ///   - checkpoints: what signs the tree's checkpoints; nil: the ledger's key with the
    ///     default origin (none when the ledger has no key).
    ///   - notifications: webhook secrets, deliveries and leak-report settings.
    public init(
        ledger: Ledger, logRequests: Bool = true, checkpoints: TreeCheckpoints? = nil,
        notifications: NotificationSettings = .init()
    ) {
        self.ledger = ledger
        self.notifications = notifications
        self.log = RequestLog(enabled: logRequests)
        self.checkpoints = checkpoints ?? (try? TreeCheckpoints(ledger: ledger))
    }

    /// Called by the HTTP server on its event loop; answers through `respond`, possibly
    /// from the ledger's writer thread after a durable commit.
    public func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let requestID = Self.requestID(request.headers["X-Request-Id"])
        let route = Route(path: request.path)
        let ledger = self.ledger
        let log = self.log
        let requestMetrics = self.requestMetrics
        let querySeq = QuerySeq()
        let answered = AnsweredRequest(request)
        let finish: Reply = { result in
            // A command's own seq (answered on the writer's thread), a query's projections'
            // seq, else the log's head.
            respond(
                Self.complete(
                    result, answered, route: route?.template ?? "(none)", requestID: requestID,
                    seq: ledger.seqOfAnswer ?? querySeq.seq, ledger: ledger, metrics: requestMetrics, log: log))
        }
        guard let route else {
            finish(.failure(.notFound("no route \(request.path.prefix(200))")))
            return
        }
        guard route.methods.contains(request.method) else {
            finish(
                .failure(
                    APIError(
                        status: 405, code: "METHOD_NOT_ALLOWED",
                        message: "\(route.template) answers \(route.methods.joined(separator: ", "))",
                        headers: [("Allow", route.methods.joined(separator: ", "))])))
            return
        }
        if !request.body.isEmpty, request.headers.withValue("Content-Type", Self.isJSON) == false {
            finish(.failure(Self.unsupportedMediaType))
            return
        }
        // Routes without a credential never ask for the principal (verification stays a
        // single writer round trip).
        let authentication: Result<Principal, AuthenticationFailure> =
            route.authenticates
            ? Call.authenticate(request, ledger) : .failure(AuthenticationFailure(reason: nil, error: .unauthorized))
        let audit = RequestAudit(ledger: ledger)
        let call = Call(
            request: request, route: route, requestID: requestID, ledger: ledger,
            requestMetrics: requestMetrics, checkpoints: checkpoints, gate: idempotency, notifications: notifications,
            verifyFragments: verifyFragments, authentication: authentication,
            finish: { result in
                audit.record(
                    result, request, route: route, requestID: requestID, authentication: authentication,
                    deliver: finish)
            })
        let run = { @Sendable (behind: APIError?) in
            var call = call
            call.projectionsBehind = behind
            do throws(APIError) {
                // Without a credential there is nothing to decide or record: the 503 at once.
                if let behind, !route.authenticates { throw behind }
                try call.dispatchOnce()
            } catch {
                call.finish(.failure(error))
            }
        }
        do throws(APIError) {
            try Consistency.whenReadable(request, ledger: ledger, seq: querySeq, dispatch: run)
        } catch {
            call.finish(.failure(error))
        }
    }

    /// The response for `result` with the headers every answer carries (`X-Request-Id`,
    /// `X-Ledger-Seq`: `seq`, else the log's head), counted in the metrics and logged.
    static func complete(
        _ result: consuming Result<HTTPResponse, APIError>, _ request: AnsweredRequest, route: String,
        requestID: String, seq: UInt64?, ledger: Ledger, metrics: RequestMetrics, log: RequestLog
    ) -> HTTPResponse {
        var response: HTTPResponse
        switch consume result {
        case .success(let ok): response = ok
        case .failure(let error): response = error.response
        }
        response.headers.reserveCapacity(response.headers.count + 2)
        response.headers.append(("X-Request-Id", requestID))
        if let seq = seq ?? (try? ledger.committedSeq()) {
            response.headers.append(("X-Ledger-Seq", Self.decimal(seq)))
        }
        let seconds = Double(ledger.clock.monotonicNanos() &- request.receivedAtNanos) / 1e9
        metrics.record(route: route, method: request.method, status: response.status, seconds: seconds)
        if log.enabled {
            log.record(
                request, route: route, status: response.status, requestID: requestID, nowMicros: ledger.clock.now(),
                nowNanos: ledger.clock.monotonicNanos())
        }
        return response
    }

    /// `value` in decimal. Up to 15 digits it is written straight into a small string,
    /// which needs no allocation, without the standard library's generic integer
    /// printing: every answer carries its seq.
    static func decimal(_ value: UInt64) -> String {
        guard value < 1_000_000_000_000_000 else { return String(value) }
        var digits = 1
        var bound: UInt64 = 10
        while value >= bound {
            digits += 1
            bound *= 10
        }
        return String(unsafeUninitializedCapacity: digits) { buffer in
            var rest = value
            for i in stride(from: digits - 1, through: 0, by: -1) {
                buffer[i] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            }
            return digits
        }
    }

    /// A body sent as something other than JSON.
    static let unsupportedMediaType = APIError(
        status: 415, code: "UNSUPPORTED_MEDIA_TYPE",
        message: "the body must be JSON: send Content-Type: application/json")

    /// True when a `Content-Type` value names `application/json`, with or without
    /// parameters (`application/json; charset=utf-8`); the type is case-insensitive.
    /// Looks at the value's bytes (``HTTPHeaders/withValue(_:_:)``): every verification asks.
    static func isJSON(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        let expected: StaticString = "application/json"
        var i = 0
        while i < utf8.count && (utf8[i] == 32 || utf8[i] == 9) { i += 1 }
        guard utf8.count - i >= expected.utf8CodeUnitCount, let base = utf8.baseAddress else { return false }
        // Mostly sent in lowercase: one comparison of the bytes, else byte by byte.
        if memcmp(base + i, expected.utf8Start, expected.utf8CodeUnitCount) != 0 {
            for j in 0..<expected.utf8CodeUnitCount {
                let a = utf8[i + j]
                if (a >= 65 && a <= 90 ? a | 0x20 : a) != expected.utf8Start[j] { return false }
            }
        }
        for byte in utf8[(i + expected.utf8CodeUnitCount)...] {
            if byte == 59 { return true }
            guard byte == 32 || byte == 9 else { return false }
        }
        return true
    }

    /// The client's `X-Request-Id` when it is 1..128 of `[A-Za-z0-9._:-]`, else a new one.
    static func requestID(_ given: String?) -> String {
        if let given, (1...128).contains(given.utf8.count), given.utf8.allSatisfy(isRequestIDByte) { return given }
        return RequestIDs.next()
    }

    private static func isRequestIDByte(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 46 || b == 95 || b == 58
            || b == 45
    }

    /// The protocol-error renderer for ``HTTPServerConfiguration/errorResponse``.
    public static let protocolErrorResponse: @Sendable (HTTPProtocolError) -> HTTPResponse = { APIError($0).response }
}

typealias Reply = @Sendable (Result<HTTPResponse, APIError>) -> Void

/// One request on its way through the API.
struct Call: Sendable {
    let request: HTTPRequest
    let route: Route
    let requestID: String
    let ledger: Ledger
    let requestMetrics: RequestMetrics
    let checkpoints: TreeCheckpoints?
    let gate: IdempotencyGate
    let notifications: NotificationSettings
    /// The verify answer's cached key fragments (the responder's, shared by every call).
    let verifyFragments: VerifyFragments
    /// The request's principal (a placeholder failure on routes that ask for no credential).
    let authentication: Result<Principal, AuthenticationFailure>
    /// Answers the request, once its audit record, if it needs one, is durable.
    var finish: Reply
    /// The request's `Idempotency-Key` claim, once ``dispatchOnce()`` has made it.
    var idempotency: IdempotencyClaim?
    /// The 503 a query answers instead of reading when the projections did not reach
    /// its `minSeq` in time (``Consistency``): it is decided and recorded as the read.
    var projectionsBehind: APIError?

    var endpoint: String { "\(request.method) \(route.template)" }

    func dispatch() throws(APIError) {
        switch route {
        case .healthz:
            try Query(request.query).finish()
            finish(
                .success(
                    HTTPResponse(
                        status: 200, headers: [("Content-Type", "application/json")],
                        body: Array(#"{"status":"ok"}"#.utf8))))
        case .verify: try verify()
        case .keys: request.method == "POST" ? try createKey() : try listKeys()
        case .key(let id):
            switch request.method {
            case "PATCH": try updateKey(id)
            case "DELETE": try revokeKey(id)
            default: try getKey(id)
            }
        case .keyAction(let id, let action): try keyAction(id, action)
        case .events: try events()
        case .ledgerVerify: try ledgerVerify()
        case .keyView(let id, .logs): try keyLogs(id)
        case .keyView(let id, .state): try keyState(id)
        case .keyView(let id, .usage): try keyUsage(id)
        case .audit: try auditLog()
        case .auditExport: try auditExport()
        case .tree(.checkpoint): try checkpoint()
        case .tree(.checkpoints): try storedCheckpoints()
        case .tree(.key): try checkpointKey()
        case .tree(.inclusion): try inclusionProof()
        case .tree(.consistency): try consistencyProof()
        case .metrics: try metrics()
        case .console(let asset): try console(asset)
        case .owner(let name): request.method == "PUT" ? try putOwner(name) : try getOwner(name)
        case .owners: try listOwners()
        case .plan(let name): request.method == "PUT" ? try putPlan(name) : try getPlan(name)
        case .plans: try listPlans()
        case .importKeys: try importKey()
        case .selfRotate: try selfRotate()
        case .webhooks: request.method == "POST" ? try createWebhook() : try listWebhooks()
        case .webhook(let id): try webhook(id)
        case .webhookAction(let id, let action): try webhookAction(id, action)
        case .leaks: try reportLeaks()
        }
    }

    /// A JSON response with the envelope already rendered.
    func ok(_ status: Int = 200, _ body: [UInt8], headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: body)
    }
}
