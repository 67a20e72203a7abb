import Dispatch
public import Events
import Glibc
import Logging
import Store

/// How a ledger's checkpoints are made.
public struct TreeCheckpointOptions: Sendable {
    /// The checkpoints' first line; nil: `keyledger/<ledger id>`.
    public var origin: String?
    /// A directory that receives each stored checkpoint as `<size>.checkpoint`.
    public var publishDirectory: String?

    public init(origin: String? = nil, publishDirectory: String? = nil) {
        self.origin = origin
        self.publishDirectory = publishDirectory
    }
}

/// The ledger's signed tree heads (C2SP tlog-checkpoint notes): made on demand, stored
/// in the `tree_checkpoints` table (size -> note) while the log grows, and published to
/// a directory when asked.
///
/// ``record(_:)`` is the one place a checkpoint is made from a tree size and root; the
/// timer of ``start(interval:)`` calls it, and any thread may.
public final class TreeCheckpoints: @unchecked Sendable {
    // Safe to share: the lets are immutable and Sendable; `stopping` and `finished`
    // are only touched with `condition` locked.
    let ledger: Ledger
    public let signer: NoteSigner
    public let origin: String
    let publishDirectory: String?
    private let condition = Condition()
    private var stopping = false
    private var finished = true

    /// - Throws: ``LedgerError/unavailable(_:)`` when the ledger has no signing key or
    ///   id yet (it was never opened for writing since checkpoints exist).
    public init(ledger: Ledger, options: TreeCheckpointOptions = .init()) throws(LedgerError) {
        self.ledger = ledger
        signer = try ledger.checkpointSigner()
        if let origin = options.origin {
            guard !origin.isEmpty, !origin.contains("\n") else {
                throw .invalid(field: "origin", reason: "must be one non-empty line")
            }
            self.origin = origin
        } else {
            origin = "keyledger/\(try ledger.ledgerID())"
        }
        publishDirectory = options.publishDirectory
    }

    /// The signed note of the tree at `head`.
    public func note(_ head: TreeHead) throws(LedgerError) -> String {
        let body = TreeCheckpoint(origin: origin, size: head.size, root: head.root).body
        guard let note = signer.sign(body: body) else { throw .unavailable("libcrypto cannot sign the checkpoint") }
        return note
    }

    /// The signed note of the tree as folded now.
    public func current() throws(LedgerError) -> String { try note(try ledger.treeHead()) }

    /// Signs the tree at `head`, stores the note, and publishes it; returns the note.
    @discardableResult
    public func record(_ head: TreeHead) throws(LedgerError) -> String {
        let note = try note(head)
        do {
            // A write transaction beside the writer's: LMDB runs one at a time (this one
            // waits for the writer's commit, a row every interval), and a map that fills
            // under either grows once both have let go of it.
            try ledger.environment.write { txn in
                try txn.put(ledger.treeCheckpoints, LedgerSchema.sizeKey(head.size), Array(note.utf8))
            }
        } catch {
            throw .unavailable("cannot store the checkpoint of size \(head.size): \(error)")
        }
        if let directory = publishDirectory {
            let path = "\(directory)/\(head.size).checkpoint"
            if access(path, F_OK) != 0 {
                try Ledger.writeSynced(note, to: path, directory: directory, mode: 0o644)
            }
        }
        return note
    }

    /// Records the current tree when it grew past the newest stored checkpoint.
    public func recordIfGrown() throws(LedgerError) {
        let head = try ledger.treeHead()
        guard head.size > (try ledger.newestCheckpoint()?.size ?? 0) else { return }
        try record(head)
    }

    /// Records a checkpoint every `interval` seconds while the log grows, on a thread
    /// of its own, until ``stop()``. Failures are written to stderr and retried at the
    /// next tick.
    public func start(interval: Double) {
        condition.lock()
        finished = false
        condition.unlock()
        DispatchQueue(label: "keyledger-checkpoints").async { [self] in
            var next = MonotonicTime.now().adding(seconds: interval)
            condition.lock()
            while !stopping {
                if !condition.wait(until: next) || MonotonicTime.now() >= next {
                    condition.unlock()
                    reportingFailure { () throws(LedgerError) in try recordIfGrown() }
                    next = MonotonicTime.now().adding(seconds: interval)
                    condition.lock()
                }
            }
            finished = true
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Ends the timer (waiting for it) and records a last checkpoint of the tree.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
        reportingFailure { () throws(LedgerError) in try recordIfGrown() }
    }

    private func reportingFailure(_ body: () throws(LedgerError) -> Void) {
        do {
            try body()
        } catch {
            Log.error("cannot store a checkpoint", ["reason": "\(error)"])
        }
    }
}

extension Ledger {
    var treeCheckpoints: Table { environment.table(LedgerSchema.treeCheckpointsSpec.name) }

    /// The stored checkpoints of sizes above `after`, oldest first, at most `limit`.
    public func storedCheckpoints(after: UInt64, limit: Int) throws(LedgerError) -> [(size: UInt64, note: String)] {
        try read { txn in
            var result: [(size: UInt64, note: String)] = []
            try txn.withCursor(treeCheckpoints) { cursor in
                var entry = try cursor.seek(atLeast: LedgerSchema.sizeKey(after &+ 1))
                while let e = entry, result.count < limit, after < UInt64.max {
                    let size = UInt64(bigEndian: e.key.loadUnaligned(as: UInt64.self))
                    result.append((size, String(decoding: e.value, as: UTF8.self)))
                    entry = try cursor.next()
                }
            }
            return result
        }
    }

    /// The stored checkpoint of the largest size, if any.
    public func newestCheckpoint() throws(LedgerError) -> (size: UInt64, note: String)? {
        try read { txn in try newestCheckpoint(in: txn) }
    }

    func newestCheckpoint(in txn: borrowing Transaction) throws -> (size: UInt64, note: String)? {
        try txn.withCursor(treeCheckpoints) { cursor in
            guard let last = try cursor.last() else { return nil }
            return (
                UInt64(bigEndian: last.key.loadUnaligned(as: UInt64.self)), String(decoding: last.value, as: UTF8.self)
            )
        }
    }
}
