public import HTTP
import Ledger

extension APIResponder {
    /// Called by the HTTP server on its event loop. `POST /v1/verify` (without a query)
    /// goes straight to ``verify(_:reply:)``; everything else through
    /// ``handle(_:respond:)``.
    public func handle(_ request: HTTPRequest, reply: HTTPReply) {
        guard request.method == "POST", request.query.isEmpty, request.path == "/v1/verify" else {
            return handle(request, respond: reply.respond)
        }
        verify(request, reply: reply)
    }

    /// The gateway's hot path, the same answer as the general route's (`Call.verify`)
    /// with less on the way: it asks no credential, records no request audit, reads no
    /// projection and takes no `Idempotency-Key`, so none of that machinery runs. The
    /// writer's completion only hands the verdict back (``VerifyAnswer``); the JSON is
    /// rendered on the event loop, off the writer that every verification waits on.
    func verify(_ request: HTTPRequest, reply: HTTPReply) {
        let requestID = Self.requestID(request.headers["X-Request-Id"])
        let answered = AnsweredRequest(request)
        if !request.body.isEmpty, request.headers.withValue("Content-Type", Self.isJSON) == false {
            return reply.respond(
                rendering: VerifyAnswer(answered, requestID, self, .refused(Self.unsupportedMediaType), seq: nil))
        }
        do throws(APIError) {
            try Call.verification(request, requestID: requestID) { secret, verify, context in
                ledger.verify(secret: secret, verify, context: context) { result in
                    // On the writer's thread (or this one, for a secret refused before it):
                    // hand the verdict and its seq to the loop.
                    reply.respond(
                        rendering: VerifyAnswer(
                            answered, requestID, self, .decided(result), seq: self.ledger.seqOfAnswer))
                }
            }
        } catch {
            reply.respond(rendering: VerifyAnswer(answered, requestID, self, .refused(error), seq: nil))
        }
    }
}

/// A verification's outcome on its way from the writer to the event loop, which renders it.
final class VerifyAnswer: HTTPDeferredResponse {
    enum Outcome: Sendable {
        /// Refused before the ledger: bad input.
        case refused(APIError)
        /// The writer's answer.
        case decided(Result<VerifyResult, LedgerError>)
    }

    let request: AnsweredRequest
    let requestID: String
    let responder: APIResponder
    let outcome: Outcome
    /// The log's seq after the verification, when the writer answered.
    let seq: UInt64?

    init(_ request: AnsweredRequest, _ requestID: String, _ responder: APIResponder, _ outcome: Outcome, seq: UInt64?) {
        self.request = request
        self.requestID = requestID
        self.responder = responder
        self.outcome = outcome
        self.seq = seq
    }

    func render() -> HTTPResponse {
        APIResponder.complete(
            Self.result(outcome, fragments: responder.verifyFragments), request, route: "/v1/verify",
            requestID: requestID, seq: seq, ledger: responder.ledger,
            metrics: responder.requestMetrics, log: responder.log)
    }

    /// Borrowed, not copied out of the answer: a copy of the verdict would retain and
    /// release every field of the key.
    private static func result(_ outcome: borrowing Outcome, fragments: VerifyFragments) -> Result<
        HTTPResponse, APIError
    > {
        switch outcome {
        case .refused(let error): .failure(error)
        case .decided(let decided): Call.answer(decided, fragments: fragments)
        }
    }
}
