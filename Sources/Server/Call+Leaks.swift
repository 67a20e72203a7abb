import Events
import HTTP
import JSON
import Ledger
import Notify

extension Call {
    /// `POST /v1/leaks`: GitHub's secret scanning partner format. A report signed
    /// (`Github-Public-Key-Identifier`, `Github-Public-Key-Signature`) with a configured
    /// key is a leak reporter's; otherwise the request needs a principal (root or the
    /// socket; ``Access`` refuses ledger keys). The answer is a bare array, GitHub's
    /// feedback format, not the envelope.
    func reportLeaks() throws(APIError) {
        try Query(request.query).finish()
        let context: CommandContext
        if let identifier = request.headers["Github-Public-Key-Identifier"],
            let signature = request.headers["Github-Public-Key-Signature"]
        {
            guard notifications.leakReporters.verify(identifier: identifier, signature: signature, body: request.body)
            else {
                throw APIError(
                    .unauthorized("the report's signature does not verify with a configured leak-reporter key"))
            }
            context = CommandContext(
                actor: Actor(kind: .system, id: "leak-reporter:\(identifier.prefix(80))"), ip: request.clientIP,
                requestID: requestID, receivedAtNanos: request.receivedAtNanos)
        } else {
            context = try self.context()
        }
        let reports = try Self.leakReports(request.body)
        let finish = self.finish
        ledger.reportLeaks(reports, policy: notifications.leakPolicy, context: context) { result in
            switch result {
            case .success(let labels): finish(.success(leakAnswer(reports, labels)))
            case .failure(let error):
                finish(.failure(APIError(error)))
            }
        }
    }

    /// GitHub's feedback: per token, in order, its label. A replay renders it again from
    /// the request's reports (the retry repeats the body) and the kept labels.
    func leakAnswer(_ reports: [LeakReport], _ labels: [Bool]) -> HTTPResponse {
        var w = JSONWriter(capacity: 64 + reports.count * 128)
        w.beginArray()
        for (report, truePositive) in zip(reports, labels) {
            w.beginObject()
            w.field("token_raw", report.token)
            w.field("token_type", report.type)
            w.field("label", truePositive ? "true_positive" : "false_positive")
            w.endObject()
        }
        w.endArray()
        return ok(200, w.finish())
    }

    /// Parses `[{"token", "type", "url", "source"}]` (at most 1000 entries).
    static func leakReports(_ bytes: [UInt8]) throws(APIError) -> [LeakReport] {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw .invalid("body", error.description)
        }
        guard let list = value.arrayValue else {
            throw .invalid("body", "must be an array of {token, type, url, source}")
        }
        guard list.count <= 1000 else { throw .invalid("body", "at most 1000 tokens per report") }
        var reports: [LeakReport] = []
        for (i, item) in list.enumerated() {
            guard let object = item.objectValue else { throw .invalid("body[\(i)]", "must be an object") }
            for member in object.members where !["token", "type", "url", "source"].contains(member.key) {
                throw .invalid("body[\(i)].\(member.key)", "unknown field")
            }
            guard let token = object["token"]?.stringValue, token.utf8.count <= 512 else {
                throw .invalid("body[\(i)].token", "is required: a string of at most 512 bytes")
            }
            func optional(_ name: String) throws(APIError) -> String? {
                guard let v = object[name], !v.isNull else { return nil }
                guard let s = v.stringValue, s.utf8.count <= 2048 else {
                    throw .invalid("body[\(i)].\(name)", "must be a string of at most 2048 bytes")
                }
                return s
            }
            reports.append(
                LeakReport(
                    token: token, type: try optional("type") ?? "", url: try optional("url"),
                    source: try optional("source")))
        }
        return reports
    }
}
