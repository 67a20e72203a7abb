import CSystem
import Dispatch
import Events
import Glibc
import Logging
import Projections
import Store
import Synchronization

/// The single writer: one thread drains the command queue in batches; each batch is
/// decided in memory and appended to the log's open write transaction (``JournaledWriter``),
/// and the ``Syncer``'s thread makes it durable with one synced write of the journal and
/// answers its callers while the writer decides the next batch. Every few milliseconds one
/// LMDB commit makes the batches since the last one visible to readers and the projector.
/// Under load, batches grow and the sync is shared; a batch smaller than the last one
/// waits a moment for its peers (``gatherNanos``). The projections are folded behind by
/// the ``Projector``.
final class Writer: @unchecked Sendable {
    // Safe to share: `queue`, `stopping` and `finished` are only touched
    // with `condition` locked; `executor` and `answering` are used on the
    // writer's thread only, `syncerAnswering` on the syncer's.
    struct Job: Sendable {
        var command: Command
        var context: CommandContext
        /// The result and the log's seq after the command (its last event's, or the
        /// head before it when it appended none). The result is the caller's to keep:
        /// handed over, not copied.
        var completion: @Sendable (consuming Result<Outcome, LedgerError>, UInt64) -> Void
    }

    /// Called once each batch is durable (after its callers are answered), with the new
    /// head seq, the batch size and the nanoseconds from the start of its decision to its
    /// durability.
    typealias CommitObserver = @Sendable (_ headSeq: UInt64, _ batchSize: Int, _ commitNanos: UInt64) -> Void

    private let environment: Environment
    /// The log's open generation and its journal.
    private let journal: JournaledWriter
    /// Nanoseconds a generation stays open after its first durable batch.
    private let generationNanos: UInt64
    /// Answers of idempotent commands durable in the journal, until their generation
    /// commits (readers of the log see them then); guarded by its mutex.
    private let pendingAnswers = Mutex<[Digest: IdempotentAnswer]>([:])
    /// True after a generation's commit failed, until one succeeds (one log line a streak).
    private var commitFailing = false
    /// Keeps the log's file zero-filled ahead of its pages (cheaper commit syncs).
    private let zeroFill: ZeroFill
    let executor: CommandExecutor
    private let projector: Projector
    private let observer: CommitObserver?
    private let condition = Condition()
    private var queue: [Job] = []
    private var spare: [Job] = []
    /// Work for the writer's thread between batches (``onWriterThread(_:)``).
    private var chores: [@Sendable () -> Void] = []
    private var stopping = false
    private var finished = false
    /// The most jobs one transaction takes; bounds latency under a flood.
    let maxBatch = 4096
    /// A reader waits for acknowledged events the log's readers do not see yet: the open
    /// generation commits after the batch under way, not at its deadline (``hurry()``).
    private let hurried = Atomic<Bool>(false)

    /// Seconds between expiry checks while idle; nil: no sweeping.
    private let sweepInterval: Double?
    /// Lead times of expiry warnings, in seconds (Writer+ExpiryWarnings.swift).
    let warningLeads: [Int64]

    let metrics: LedgerMetrics
    let notifier: CommitNotifier
    /// The log's head after the last durable commit.
    private let committed = Atomic<UInt64>(0)
    var committedHead: UInt64 { committed.load(ordering: .acquiring) }
    /// The log's head as its readers see it: after the last LMDB commit.
    private let visible = Atomic<UInt64>(0)
    var visibleHead: UInt64 { visible.load(ordering: .acquiring) }
    private let visibleCondition = Condition()

    /// Keys in the decision state and the bytes its storage holds, as of the last batch.
    let decisionKeys = Atomic<Int>(0)
    let decisionBytes = Atomic<Int>(0)

    private func publishDecisionSize() {
        decisionKeys.store(executor.decisions.count, ordering: .relaxed)
        decisionBytes.store(executor.decisions.approximateBytes, ordering: .relaxed)
    }

    /// The writer's thread id, and the seq of the job whose caller it answers now; the
    /// same for the syncer's thread, which answers the batches it made durable.
    private let writerThread = Atomic<UInt>(0)
    private var answering: UInt64?
    private var syncerAnswering: UInt64?
    /// Makes each batch durable while the writer decides the next (nil until init's end).
    private var syncer: Syncer!
    private let quotaSnapshot: QuotaSnapshot

    init(
        environment: Environment, journal: JournaledWriter, journalMillis: Double, gatherMicros: Int = 0,
        executor: CommandExecutor, projector: Projector, observer: CommitObserver?, sweepInterval: Double?,
        metrics: LedgerMetrics, notifier: CommitNotifier, head: UInt64, nice: Int32 = 0, warningLeads: [Int64] = []
    ) {
        self.warningLeads = warningLeads
        self.metrics = metrics
        self.notifier = notifier
        self.environment = environment
        self.journal = journal
        generationNanos = UInt64(max(0, journalMillis) * 1_000_000)
        zeroFill = ZeroFill(environment)
        self.executor = executor
        self.projector = projector
        self.observer = observer
        self.sweepInterval = sweepInterval
        committed.store(head, ordering: .releasing)
        visible.store(head, ordering: .releasing)
        quotaSnapshot = executor.quotas.snapshot
        syncer = Syncer(
            nice: nice, maxJobs: maxBatch, gatherNanos: UInt64(max(0, gatherMicros)) * 1000, metrics: metrics,
            write: { [journal] frames in try journal.write(frames) },
            deliver: { [unowned self] batch in
                publish(batch, visible: false)
                answer(batch, onSyncer: true)
            },
            wake: { [unowned self] in wake() })
        // A serial queue of its own: the block holds one thread for the writer's life.
        // A raised priority (a negative nice) is put back to 0 at the end: the thread
        // returns to Dispatch's pool.
        DispatchQueue(label: "keyledger-writer", qos: .userInteractive).async { [unowned self] in
            if nice != 0 { _ = csys_set_thread_nice(nice) }
            self.run()
            if nice != 0 { _ = csys_set_thread_nice(0) }
        }
    }

    /// The seq of the job whose completion runs now, when called from that completion
    /// (on the writer's thread); nil elsewhere.
    var seqOfAnswer: UInt64? {
        let thread = UInt(pthread_self())
        if thread == writerThread.load(ordering: .acquiring) { return answering }
        if thread == syncer.thread.load(ordering: .acquiring) { return syncerAnswering }
        return nil
    }

    /// Waits (blocking the caller) until the log's readers see `seq`, for up to `seconds`;
    /// false when they do not by then.
    func awaitVisible(_ seq: UInt64, seconds: Double) -> Bool {
        let deadline = MonotonicTime.now().adding(seconds: seconds)
        if visibleHead < seq { hurry() }
        visibleCondition.lock()
        defer { visibleCondition.unlock() }
        while visibleHead < seq {
            if !visibleCondition.wait(until: deadline) && visibleHead < seq { return false }
        }
        return true
    }

    /// Someone waits to read acknowledged events: the open generation commits once the
    /// batch under way is done (or at once when the writer is idle), not at its deadline.
    /// Readers that pass a command's seq (`minSeq`) thus wait a batch, not `--journal-ms`.
    func hurry() {
        guard visibleHead < committedHead else { return }
        wake()
    }

    /// The open generation commits once the batch under way is done, or at once when the
    /// writer is idle.
    private func wake() {
        hurried.store(true, ordering: .releasing)
        condition.lock()
        condition.signal()
        condition.unlock()
    }

    /// The kept answer of the idempotent command `key`, while it is durable in the journal
    /// and not yet readable from the log.
    func pendingAnswer(_ key: Digest) -> IdempotentAnswer? { pendingAnswers.withLock { $0[key] } }

    /// Queues a job. After ``stop()`` jobs are refused with `unavailable`.
    func submit(_ job: Job) {
        condition.lock()
        guard !stopping else {
            condition.unlock()
            job.completion(.failure(.unavailable("the ledger is shutting down")), committedHead)
            return
        }
        queue.append(job)
        if queue.count == 1 { condition.signal() }
        condition.unlock()
    }

    /// Runs `body` on the writer's thread between two batches and waits for it.
    func onWriterThread(_ body: @escaping @Sendable (CommandExecutor) -> Void) {
        let done = DispatchSemaphore(value: 0)
        let executor = self.executor
        condition.lock()
        chores.append {
            body(executor)
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
    }

    /// Finishes every queued job and answers it, then ends the writer's thread. Returns
    /// when it has ended.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func run() {
        _ = csys_set_thread_name("kl-writer")
        writerThread.store(UInt(pthread_self()), ordering: .releasing)
        publishDecisionSize()
        var nextSweep = MonotonicTime.now()
        var batch: [Job] = []
        while true {
            condition.lock()
            if !chores.isEmpty {
                // A chore may read the log or write it: the open generation commits first.
                condition.unlock()
                commitGeneration()
                condition.lock()
            }
            while !chores.isEmpty {
                let chore = chores.removeFirst()
                condition.unlock()
                chore()
                condition.lock()
            }
            while queue.isEmpty && chores.isEmpty && !stopping {
                if journal.hasUncommitted {
                    // The open generation commits at its deadline, or earlier for a stop, a
                    // chore or a waiting reader.
                    let deadline = MonotonicTime(nanoseconds: journal.openedAt &+ generationNanos)
                    if hurried.exchange(false, ordering: .acquiringAndReleasing) || MonotonicTime.now() >= deadline
                        || !condition.wait(until: deadline)
                    {
                        condition.unlock()
                        commitGeneration()
                        condition.lock()
                    }
                    continue
                }
                guard let interval = sweepInterval else {
                    condition.wait()
                    continue
                }
                if !condition.wait(until: nextSweep) || MonotonicTime.now() >= nextSweep {
                    nextSweep = MonotonicTime.now().adding(seconds: interval)
                    let now = executor.clock.now()
                    if executor.decisions.hasExpiring(atOrBefore: now) || executor.quotas.hasDue(atOrBefore: now) {
                        queue.append(
                            Job(command: .expireDue, context: CommandContext(actor: .sweeper), completion: { _, _ in }))
                    }
                    if let warn = warningJob() { queue.append(warn) }
                }
            }
            if !chores.isEmpty {
                condition.unlock()
                continue
            }
            if queue.isEmpty && stopping {
                // The last batches' generation commits; if that fails, they stay in the
                // journal and the next open applies them. (No job is queued after a stop.)
                if journal.hasUncommitted {
                    condition.unlock()
                    commitGeneration()
                    condition.lock()
                }
                if journal.hasUncommitted {
                    Log.warning("stopping with batches the log's file lacks: the next open applies them from the journal")
                }
                syncer.stop()
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            if queue.count <= maxBatch {
                // Swap the queue for the spare array: no copy under the lock.
                swap(&queue, &spare)
                batch = spare
                spare.removeAll(keepingCapacity: true)
            } else {
                batch = Array(queue.prefix(maxBatch))
                queue.removeFirst(maxBatch)
            }
            condition.unlock()
            process(batch)
            batch.removeAll(keepingCapacity: true)
            if journal.hasUncommitted,
                csys_monotonic_nanos() &- journal.openedAt >= generationNanos
                    || hurried.exchange(false, ordering: .acquiringAndReleasing)
            {
                commitGeneration()
            }
        }
    }

    /// Commits the open generation once the syncer is done: its batches become visible to
    /// readers, the projector and the long polls.
    private func commitGeneration() {
        let refused = syncer.drain()
        guard journal.hasUncommitted else { return }
        settle(refused)
    }

    /// Commits the open generation with `batches` in it (batches whose frames the journal
    /// refused, and the ones staged after them, or one the journal has no room for), and
    /// answers them; when the commit fails they are undone and refused. Called with the
    /// syncer done: every other batch of the generation is durable.
    private func settle(_ batches: [StagedBatch]) {
        let started = csys_monotonic_nanos()
        do {
            try journal.commitGeneration()
        } catch {
            metrics.recordLogCommit(nanos: 0, failed: true)
            if !commitFailing { Log.error("cannot commit the journal's batches to the log", ["reason": "\(error)"]) }
            commitFailing = true
            // The batches not durable are undone, from the first of them on; the ones
            // before stay in the journal, and a later commit writes them again.
            if let first = batches.first {
                executor.rollback(to: first.decisionMark)
                journal.unstage(to: first.stageMark)
                let reason = LedgerError.unavailable("the ledger cannot append: \(error)")
                for batch in batches { refuse(batch.jobs, reason, started: batch.started) }
            }
            executor.committed()
            return
        }
        metrics.recordLogCommit(nanos: csys_monotonic_nanos() &- started, failed: false)
        commitFailing = false
        executor.committed()
        for batch in batches { publish(batch, visible: true) }
        becameVisible(committedHead)
        for batch in batches { answer(batch, onSyncer: false) }
    }

    /// The log's readers see everything up to `head` now.
    private func becameVisible(_ head: UInt64) {
        visibleCondition.lock()
        visible.store(head, ordering: .releasing)
        visibleCondition.broadcast()
        visibleCondition.unlock()
        pendingAnswers.withLock { $0.removeAll() }
        projector.advance(to: head)
        notifier.advance(to: head)
        zeroFill.zeroFillAhead()
    }

    /// Decides `batch` and stages it in the open generation, then hands it to the syncer,
    /// which makes it durable with the batches staged while it wrote the last ones (or
    /// commits the generation, when the journal cannot take it).
    private func process(_ batch: [Job]) {
        let started = executor.clock.monotonicNanos()
        let decisionMark = executor.mark()
        let stageMark = journal.mark
        var head: UInt64 = 0
        let results: [Result<Outcome, LedgerError>?]
        let seqs: [UInt64]
        let staged: JournaledWriter.Staged
        do {
            ((results, seqs), staged) = try journal.stage { txn in
                let run = try executor.run(batch, from: decisionMark, in: txn)
                head = try executor.log.head(in: txn).seq
                return run
            }
        } catch {
            // Nothing of the batch was staged: every caller learns that, and the decision
            // state forgets the batch. (The batches before it are the journal's.)
            executor.rollback(to: decisionMark)
            refuse(batch, .unavailable("the ledger cannot append: \(error)"), started: started)
            return
        }
        publishDecisionSize()
        let frame: JournaledWriter.Frame?
        if case .frame(let f) = staged { frame = f } else { frame = nil }
        let current = StagedBatch(
            jobs: batch, results: results, seqs: seqs, head: head, frame: frame, keptAnswers: executor.keptAnswers,
            quotas: executor.quotas.takePublication(), started: started, decisionMark: decisionMark,
            stageMark: stageMark)
        if case .mustCommit = staged {
            settle(syncer.drain() + [current])
        } else if syncer.hasRefused.load(ordering: .acquiring) {
            settle(syncer.drain() + [current])
        } else {
            syncer.hand(current)
        }
    }

    /// A batch is durable: what it changed is published to reads on other threads (its
    /// kept idempotent answers until its generation commits, unless `visible` already).
    private func publish(_ batch: StagedBatch, visible: Bool) {
        if !visible, !batch.keptAnswers.isEmpty {
            pendingAnswers.withLock { pending in
                for (key, answer) in batch.keptAnswers { pending[key] = answer }
            }
        }
        if let quotas = batch.quotas { quotaSnapshot.publish(quotas) }
        committed.store(batch.head, ordering: .releasing)
    }

    /// Answers a durable batch's callers, on the writer's thread or the syncer's.
    private func answer(_ batch: StagedBatch, onSyncer: Bool) {
        let nanos = executor.clock.monotonicNanos() &- batch.started
        metrics.recordBatch(size: batch.jobs.count, nanos: nanos, failed: false)
        for i in batch.jobs.indices {
            if onSyncer { syncerAnswering = batch.seqs[i] } else { answering = batch.seqs[i] }
            // Moved to its caller, not copied: a copy of a verdict retains every field of its key.
            let result = batch.results[i].take() ?? .failure(.unavailable("the writer lost the command's result"))
            batch.jobs[i].completion(result, batch.seqs[i])
        }
        if onSyncer { syncerAnswering = nil } else { answering = nil }
        observer?(batch.head, batch.jobs.count, nanos)
    }

    /// Answers every caller of a batch that could not be made durable with `reason`.
    private func refuse(_ jobs: [Job], _ reason: LedgerError, started: UInt64) {
        metrics.recordBatch(size: jobs.count, nanos: executor.clock.monotonicNanos() &- started, failed: true)
        let seq = committedHead
        for job in jobs {
            answering = seq
            job.completion(.failure(reason), seq)
        }
        answering = nil
    }
}
