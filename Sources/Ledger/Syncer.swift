import CSystem
import Dispatch
import Events
import Glibc
import Logging
import Store
import Synchronization

/// A batch decided and staged in the log's open generation (``JournaledWriter/stage(_:)``),
/// on its way to its callers: they are answered once it is durable. Noncopyable: its
/// results move to their callers, never copied (a copy of a verdict retains every field of
/// its key).
struct StagedBatch: ~Copyable {
    var jobs: [Writer.Job]
    /// Each job's result (optional only so that each can be moved out) and the log's seq after it.
    var results: [Result<Outcome, LedgerError>?]
    var seqs: [UInt64]
    /// The log's head after the batch.
    let head: UInt64
    /// The journal frame that makes it durable; nil when it wrote nothing.
    let frame: JournaledWriter.Frame?
    /// The answers of its idempotent commands, kept until their generation commits.
    let keptAnswers: [(Digest, IdempotentAnswer)]
    /// The owner, plan and key-quota states it changed, for reads on other threads.
    let quotas: QuotaPublication?
    /// When the writer began to decide it (the ledger clock's monotonic nanoseconds).
    let started: UInt64
    /// Where the decision state and the generation stood before it: what undoes it and
    /// every batch after it when they cannot be made durable.
    let decisionMark: CommandExecutor.Mark
    let stageMark: JournaledWriter.StageMark
}

/// The writer's second thread: it writes each staged batch's frame to the journal (one
/// synced write) while the writer decides the next batch, then answers the batch's
/// callers. One batch at a time: the writer hands the next over once the last is done
/// (``drain()``, ``hand(_:)``), so frames reach the journal in the order they were staged.
///
/// A frame that cannot be written is handed back (``drain()`` returns it): the writer
/// then makes it, and the batch staged after it, durable by committing the generation.
final class Syncer: @unchecked Sendable {
    // Safe to share: `pending`, `busy`, `failed`, `stopping` and `finished` are only
    // touched with `condition` locked; the closures are called on the syncer's thread.
    private let condition = Condition()
    private var pending: StagedBatch?
    /// A batch was handed over and is not done yet.
    private var busy = false
    /// The batch whose frame the journal refused, until the writer takes it back.
    private var failed: StagedBatch?
    private var stopping = false
    private var finished = false
    private var writeFailing = false

    private let write: @Sendable (JournaledWriter.Frame) throws -> Void
    private let deliver: @Sendable (inout StagedBatch) -> Void
    private let refused: @Sendable () -> Void

    /// The syncer's thread id.
    let thread = Atomic<UInt>(0)

    /// - Parameters:
    ///   - write: writes a frame durably (``JournaledWriter/write(_:)``).
    ///   - deliver: answers a durable batch's callers.
    ///   - refused: called after a frame could not be written (to wake the writer).
    init(
        nice: Int32, write: @escaping @Sendable (JournaledWriter.Frame) throws -> Void,
        deliver: @escaping @Sendable (inout StagedBatch) -> Void, refused: @escaping @Sendable () -> Void
    ) {
        self.write = write
        self.deliver = deliver
        self.refused = refused
        DispatchQueue(label: "keyledger-syncer", qos: .userInteractive).async { [unowned self] in
            if nice != 0 { _ = csys_set_thread_nice(nice) }
            self.run()
            if nice != 0 { _ = csys_set_thread_nice(0) }
        }
    }

    /// Hands over the next batch; the last one must be done (``drain()``).
    func hand(_ batch: consuming StagedBatch) {
        condition.lock()
        precondition(!busy && failed == nil, "a batch handed to a busy syncer")
        pending = consume batch
        busy = true
        condition.signal()
        condition.unlock()
    }

    /// Waits until the batch handed over last is done: answered, or handed back because
    /// its frame could not be written (returned then).
    func drain() -> StagedBatch? {
        condition.lock()
        defer { condition.unlock() }
        while busy { condition.wait() }
        return failed.take()
    }

    /// Ends the syncer's thread once the batch under way is done; returns when it has ended.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func run() {
        _ = csys_set_thread_name("kl-syncer")
        thread.store(UInt(pthread_self()), ordering: .releasing)
        while true {
            condition.lock()
            while pending == nil && !stopping { condition.wait() }
            guard var batch = pending.take() else {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()
            var written = true
            if let frame = batch.frame {
                do {
                    try write(frame)
                    writeFailing = false
                } catch {
                    written = false
                    if !writeFailing {
                        Log.error(
                            "cannot write the journal: the log's commit makes its batches durable", ["reason": "\(error)"])
                    }
                    writeFailing = true
                }
            }
            if written { deliver(&batch) }
            condition.lock()
            if !written { failed = consume batch }
            busy = false
            condition.broadcast()
            condition.unlock()
            if !written { refused() }
        }
    }
}
