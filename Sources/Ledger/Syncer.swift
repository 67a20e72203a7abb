import CSystem
import Dispatch
import Events
import Glibc
import Logging
import Store
import Synchronization

/// A batch decided and staged in the log's open generation (``JournaledWriter/stage(_:)``),
/// on its way to its callers: they are answered once it is durable. A reference, handed
/// from the writer's thread to the syncer's (under the syncer's lock), so that its results
/// move to their callers and are never copied (a copy of a verdict retains every field of
/// its key).
final class StagedBatch: @unchecked Sendable {
    // Safe to share: used by one thread at a time, handed over under the syncer's lock.
    let jobs: [Writer.Job]
    /// Each job's result (optional only so that each can be moved out) and the log's seq after it.
    var results: [Result<Outcome, LedgerError>?]
    let seqs: [UInt64]
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

    init(
        jobs: [Writer.Job], results: consuming [Result<Outcome, LedgerError>?], seqs: [UInt64], head: UInt64,
        frame: JournaledWriter.Frame?, keptAnswers: [(Digest, IdempotentAnswer)], quotas: QuotaPublication?,
        started: UInt64, decisionMark: CommandExecutor.Mark, stageMark: JournaledWriter.StageMark
    ) {
        self.jobs = jobs
        self.results = results
        self.seqs = seqs
        self.head = head
        self.frame = frame
        self.keptAnswers = keptAnswers
        self.quotas = quotas
        self.started = started
        self.decisionMark = decisionMark
        self.stageMark = stageMark
    }
}

/// The writer's second thread: it writes the frames of the batches staged while it wrote
/// the last ones to the journal with one synced write, while the writer decides the next
/// batches, then answers their callers. Frames reach the journal in the order they were
/// staged (``hand(_:)``), so every write covers what the device took since the last: the
/// sync, not a timer, sets the batches' size.
///
/// Batches whose frames could not be written are handed back (``drain()`` returns them),
/// with every batch handed over after them (none is written after a failed one): the
/// writer then makes them durable by committing the generation.
final class Syncer: @unchecked Sendable {
    // Safe to share: `queue`, `queuedJobs`, `writing`, `refused`, `stopping` and `finished`
    // are only touched with `condition` locked; the closures are called on the syncer's thread.
    private let condition = Condition()
    /// Handed over, not yet taken.
    private var queue: [StagedBatch] = []
    /// The jobs of the batches handed over and not done yet.
    private var queuedJobs = 0
    /// The batches taken and being written.
    private var writing = false
    /// The batches that could not be written, and every one handed over after them, until
    /// the writer takes them back (``drain()``).
    private var refused: [StagedBatch] = []
    /// True while `refused` holds batches: ``drain()`` is due.
    let hasRefused = Atomic<Bool>(false)
    private var stopping = false
    private var finished = false
    private var writeFailing = false
    /// The most jobs of batches handed over and not done; ``hand(_:)`` waits beyond.
    private let maxJobs: Int
    /// Nanoseconds the syncer waits, before a write, for the batches handed over to hold
    /// as many jobs as its last write did (0: it does not wait). Their callers' peers are
    /// on their way: their answers left with the last write. One synced write then covers
    /// them all, which spends less of the kernel's CPU per command (a synced write costs
    /// tens of microseconds of it) and so answers more of them, sooner, on a machine bound
    /// by its cores. A lone caller never waits: the last write held one job.
    private let gatherNanos: UInt64
    /// The jobs the last write made durable.
    private var lastJobs = 1
    /// While the syncer gathers, the jobs handed over that wake it; 0 otherwise.
    private var gatherTarget = 0
    /// The writer waits in ``drain()``: a gather ends.
    private var draining = false

    private let write: @Sendable ([JournaledWriter.Frame]) throws -> Void
    private let deliver: @Sendable (StagedBatch) -> Void
    private let wake: @Sendable () -> Void
    private let metrics: LedgerMetrics

    /// The syncer's thread id.
    let thread = Atomic<UInt>(0)

    /// - Parameters:
    ///   - write: writes frames durably, with one write (``JournaledWriter/write(_:)``).
    ///   - deliver: answers a durable batch's callers.
    ///   - wake: called after frames could not be written (to wake the writer).
    init(
        nice: Int32, maxJobs: Int, gatherNanos: UInt64, metrics: LedgerMetrics,
        write: @escaping @Sendable ([JournaledWriter.Frame]) throws -> Void,
        deliver: @escaping @Sendable (StagedBatch) -> Void, wake: @escaping @Sendable () -> Void
    ) {
        self.maxJobs = maxJobs
        self.gatherNanos = gatherNanos
        self.metrics = metrics
        self.write = write
        self.deliver = deliver
        self.wake = wake
        DispatchQueue(label: "keyledger-syncer", qos: .userInteractive).async { [unowned self] in
            if nice != 0 { _ = csys_set_thread_nice(nice) }
            self.run()
            if nice != 0 { _ = csys_set_thread_nice(0) }
        }
    }

    /// Hands over the next batch (waiting while `maxJobs` jobs are on their way).
    func hand(_ batch: StagedBatch) {
        condition.lock()
        defer { condition.unlock() }
        if !refused.isEmpty {
            refused.append(batch)
            return
        }
        while queuedJobs >= maxJobs && refused.isEmpty { condition.wait() }
        if !refused.isEmpty {
            refused.append(batch)
            return
        }
        queue.append(batch)
        queuedJobs += batch.jobs.count
        if queue.count == 1 || (gatherTarget > 0 && queuedJobs >= gatherTarget) { condition.broadcast() }
    }

    /// Waits until every batch handed over is done: answered, or handed back because its
    /// frame could not be written (returned then, in order).
    func drain() -> [StagedBatch] {
        condition.lock()
        defer { condition.unlock() }
        draining = true
        condition.broadcast()
        while writing || !queue.isEmpty { condition.wait() }
        draining = false
        defer { refused.removeAll() }
        hasRefused.store(false, ordering: .releasing)
        return refused
    }

    /// Ends the syncer's thread once the batches handed over are done; returns when it has ended.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    /// With `condition` locked and batches queued: waits, for at most `gatherNanos`, until
    /// they hold as many jobs as the last write did (or the writer drains, or a stop comes).
    private func gather() {
        guard gatherNanos > 0, queuedJobs < lastJobs else { return }
        gatherTarget = min(lastJobs, maxJobs)
        let deadline = MonotonicTime(nanoseconds: csys_monotonic_nanos() &+ gatherNanos)
        while queuedJobs < gatherTarget && !draining && !stopping {
            if !condition.wait(until: deadline) { break }
        }
        gatherTarget = 0
    }

    private func run() {
        _ = csys_set_thread_name("kl-syncer")
        thread.store(UInt(pthread_self()), ordering: .releasing)
        var taken: [StagedBatch] = []
        var frames: [JournaledWriter.Frame] = []
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            gather()
            lastJobs = max(1, queuedJobs)
            swap(&queue, &taken)
            writing = true
            condition.unlock()
            for batch in taken { if let frame = batch.frame { frames.append(frame) } }
            var written = true
            if !frames.isEmpty {
                do {
                    let started = csys_monotonic_nanos()
                    try write(frames)
                    metrics.recordJournalWrite(commands: lastJobs, nanos: csys_monotonic_nanos() &- started)
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
            if written { for batch in taken { deliver(batch) } }
            condition.lock()
            if !written {
                refused = taken + queue
                queue.removeAll()
                hasRefused.store(true, ordering: .releasing)
            }
            queuedJobs = queue.reduce(0) { $0 + $1.jobs.count }
            writing = false
            condition.broadcast()
            condition.unlock()
            taken.removeAll(keepingCapacity: true)
            frames.removeAll(keepingCapacity: true)
            if !written { wake() }
        }
    }
}
