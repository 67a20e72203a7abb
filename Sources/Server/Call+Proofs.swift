import Events
import HTTP
import JSON
import Ledger
import Projections
import Rendering

extension Call {
    /// The checkpoint service; 503 when this ledger has none.
    static func checkpointService(_ checkpoints: TreeCheckpoints?) throws(APIError) -> TreeCheckpoints {
        guard let checkpoints else {
            throw APIError(.unavailable("this ledger has no checkpoint key: open it for writing once"))
        }
        return checkpoints
    }

    /// `GET /v1/ledger/checkpoint`: the signed note of the current tree.
    func checkpoint() throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        let checkpoints = self.checkpoints
        authorized(.readCheckpoints, context) { _ throws(APIError) in
            let service = try Self.checkpointService(checkpoints)
            let note: String
            do throws(LedgerError) {
                note = try service.current()
            } catch {
                throw APIError(error)
            }
            return HTTPResponse(
                status: 200, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array(note.utf8))
        }
    }

    /// `GET /v1/ledger/checkpoints?after=&limit=`: the stored checkpoints, oldest first.
    func storedCheckpoints() throws(APIError) {
        let context = try context()
        var query = try Query(request.query)
        let after = try query.integer("after", in: 0...Int.max, default: 0) ?? 0
        let limit = try query.integer("limit", in: 1...1000, default: 100) ?? 100
        try query.finish()
        let ledger = self.ledger
        authorized(.readCheckpoints, context) { _ throws(APIError) in
            let stored: [(size: UInt64, note: String)]
            do throws(LedgerError) {
                stored = try ledger.storedCheckpoints(after: UInt64(after), limit: limit + 1)
            } catch {
                throw APIError(error)
            }
            let next = stored.count > limit ? stored[limit - 1].size : nil
            return HTTPResponse(
                status: 200, headers: [("Content-Type", "application/json")],
                body: Envelope.list(Array(stored.prefix(limit)), nextCursor: next.map(String.init)) { checkpoint, w in
                    w.beginObject()
                    w.key("size")
                    w.uint(checkpoint.size)
                    w.field("note", checkpoint.note)
                    w.endObject()
                })
        }
    }

    /// `GET /v1/ledger/key`: the checkpoints' verifier key.
    func checkpointKey() throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        let checkpoints = self.checkpoints
        authorized(.readCheckpoints, context) { _ throws(APIError) in
            let verifier = try Self.checkpointService(checkpoints).signer.verifier
            return HTTPResponse(
                status: 200, headers: [("Content-Type", "application/json")],
                body: Envelope.data { w in
                    w.beginObject()
                    w.field("name", verifier.name)
                    w.field("vkey", verifier.vkey)
                    w.field("algorithm", "ed25519")
                    w.field("publicKey", Base64.encode(verifier.publicKey))
                    w.endObject()
                })
        }
    }

    /// `GET /v1/ledger/proof/inclusion?seq=&size=`: RFC 9162 2.1.3; `size` defaults to
    /// the current tree. A ledger key proves only its own owner's events (403 otherwise).
    func inclusionProof() throws(APIError) {
        let context = try context()
        var query = try Query(request.query)
        guard let seq = try query.integer("seq", in: 1...Int.max) else {
            throw .invalid("seq", "is required: the event's sequence number")
        }
        let size = try query.integer("size", in: 1...Int.max)
        try query.finish()
        let ledger = self.ledger
        authorized(.proveInclusion(seq: UInt64(seq)), context) { grant throws(APIError) in
            let proof: InclusionProof
            do throws(LedgerError) {
                if let owner = grant.owner {
                    guard let stored = try ledger.event(at: UInt64(seq)) else {
                        throw LedgerError.notFound("no event \(seq)")
                    }
                    guard stored.event.owner == owner else {
                        throw LedgerError.forbidden("event \(seq) belongs to another owner")
                    }
                }
                let treeSize: UInt64
                if let size { treeSize = UInt64(size) } else { treeSize = try ledger.treeHead().size }
                proof = try ledger.inclusionProof(seq: UInt64(seq), size: treeSize)
            } catch {
                throw APIError(error)
            }
            return HTTPResponse(
                status: 200, headers: [("Content-Type", "application/json")],
                body: Envelope.data { w in
                    w.beginObject()
                    w.key("seq")
                    w.uint(proof.seq)
                    w.key("leafIndex")
                    w.uint(proof.leafIndex)
                    w.key("size")
                    w.uint(proof.size)
                    w.field("leafHash", proof.leafHash.hex)
                    Self.hashes(proof.hashes, &w)
                    w.endObject()
                })
        }
    }

    /// `GET /v1/ledger/proof/consistency?from=&to=`: RFC 9162 2.1.4; `to` defaults to
    /// the current tree.
    func consistencyProof() throws(APIError) {
        let context = try context()
        var query = try Query(request.query)
        guard let from = try query.integer("from", in: 0...Int.max) else {
            throw .invalid("from", "is required: the earlier tree size")
        }
        let toGiven = try query.integer("to", in: 0...Int.max)
        try query.finish()
        let ledger = self.ledger
        authorized(.readCheckpoints, context) { _ throws(APIError) in
            let to: UInt64
            let hashes: [Digest]
            do throws(LedgerError) {
                if let toGiven { to = UInt64(toGiven) } else { to = try ledger.treeHead().size }
                hashes = try ledger.consistencyProof(from: UInt64(from), to: to)
            } catch {
                throw APIError(error)
            }
            return HTTPResponse(
                status: 200, headers: [("Content-Type", "application/json")],
                body: Envelope.data { w in
                    w.beginObject()
                    w.key("from")
                    w.uint(UInt64(from))
                    w.key("to")
                    w.uint(to)
                    Self.hashes(hashes, &w)
                    w.endObject()
                })
        }
    }

    /// `GET /v1/audit/export?format=ndjson` and the filters of `/v1/audit`.
    func auditExport() throws(APIError) {
        let context = try context()
        var query = try Query(request.query)
        guard query.string("format") ?? "ndjson" == "ndjson" else { throw .invalid("format", "must be ndjson") }
        var filter = try auditFilter(&query)
        let window = try auditWindow(&query)
        filter.types = window.types
        try query.finish()
        let ledger = self.ledger
        let checkpoints = self.checkpoints
        let asked = filter
        authorized(.exportAudit(owner: asked.owner), context) { grant throws(APIError) in
            var filter = asked
            if let owner = grant.owner { filter.owner = owner }
            let service = try Self.checkpointService(checkpoints)
            var body: [UInt8] = []
            do throws(LedgerError) {
                try AuditExport.write(
                    ledger, checkpoints: service, filter: filter, start: window.start, end: window.end
                ) {
                    body.append(contentsOf: $0)
                }
            } catch {
                throw APIError(error)
            }
            return HTTPResponse(status: 200, headers: [("Content-Type", "application/x-ndjson")], body: body)
        }
    }

    /// `include=record` (the only value): the event JSON carries its record, base64.
    static func includesRecord(_ query: inout Query) throws(APIError) -> Bool {
        guard let include = query.string("include") else { return false }
        guard include == "record" else { throw .invalid("include", "must be record") }
        return true
    }

    /// An event as the API renders it, with its record when `record`.
    static func writeEvent(_ stored: EventLog.Stored, record: Bool, _ w: inout JSONWriter) {
        EventJSON.write(stored.event, prevHash: stored.prevHash, hash: stored.hash, into: &w) { w in
            if record { w.field("record", Base64.encode(EventCodec.encode(stored.event))) }
        }
    }

    static func hashes(_ hashes: [Digest], _ w: inout JSONWriter) {
        w.key("hashes")
        w.beginArray()
        for hash in hashes { w.string(hash.hex) }
        w.endArray()
    }
}
