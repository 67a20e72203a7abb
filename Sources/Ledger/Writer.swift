import CSystem
import Dispatch
import Events
import Glibc
import Logging
import Projections
import Store
import Synchronization

/// The single writer: one thread at a time drains the command queue in batches; each
/// batch is decided in memory, appended to the log's open write transaction and made
/// durable with one synced write of the journal (``JournaledWriter``), and then its
/// callers are answered, on the same thread; every few milliseconds one LMDB commit makes
/// the batches since the last one visible to readers and the projector. Under load,
/// batches grow and the sync is shared; a batch smaller than the last one waits a moment
/// for its peers (``gatherNanos``). The projections are folded behind by the ``Projector``.
///
/// The thread is the writer's own, or an event loop's (``attach(wake:)``): the loop then
/// decides the batches its requests make between its turns (``runDue()``), so a request
/// crosses no thread on its way to the synced write and back. The loop hands the work
/// back to a thread of the writer's when it ends (``detach()``). Either way one thread
/// owns the executor and the log's open write transaction (LMDB binds a write
/// transaction to the thread that began it): ownership passes only with no generation open.
final class Writer: @unchecked Sendable {
    // Safe to share: `queue`, `chores`, `gatherTarget`, `queuedAt`, `stopping`, `finished`,
    // `mode`, `threadRunning`, `attachRequested` and `wake` are only touched with
    // `condition` locked; `executor`, `journal`, `lastBatchSize`, `nextSweep` and
    // `answering` are used by the owning thread only.
    struct Job: Sendable {
        var command: Command
        var context: CommandContext
        /// The result and the log's seq after the command (its last event's, or the
        /// head before it when it appended none). The result is the caller's to keep:
        /// handed over, not copied.
        var completion: @Sendable (consuming Result<Outcome, LedgerError>, UInt64) -> Void
    }

    /// Called once each batch is durable (after its callers are answered), with the new
    /// head seq, the batch size and the nanoseconds the writer took to decide and commit it.
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
    /// Who runs the batches: a thread of the writer's, or the event loop that attached.
    private enum Mode { case thread, loop }
    private var mode = Mode.thread
    /// The writer's own thread runs (it ends when a loop attaches, or at the stop).
    private var threadRunning = true
    /// A loop waits in ``attach(wake:)`` for the writer's thread to hand over.
    private var attachRequested = false
    /// Wakes the attached loop from another thread (its eventfd).
    private var wake: (@Sendable () -> Void)?
    /// When the oldest queued job was queued (monotonic nanoseconds), for the loop's gather.
    private var queuedAt: UInt64 = 0
    /// The writer's thread's nice value.
    private let nice: Int32
    /// The most jobs one transaction takes; bounds latency under a flood.
    let maxBatch = 4096
    /// The most jobs one batch takes on an attached loop: bounds the loop's turn, which its
    /// other connections wait out (a few ms at several µs a decision), at the price of more
    /// synced writes under a flood.
    let loopMaxBatch = 512
    /// With `condition` locked: the most jobs the next batch takes.
    private var batchLimit: Int { mode == .loop ? loopMaxBatch : maxBatch }
    /// Nanoseconds a batch smaller than the last one waits for more jobs before it is
    /// decided (0: none). Its callers' peers are on their way: their answers left with the
    /// last batch. One synced write then covers them all, which spends less of the
    /// kernel's CPU per command (a synced write costs tens of microseconds of it) and so
    /// answers more of them, sooner, on a machine bound by its cores. A lone caller never
    /// waits: its last batch held one job.
    private let gatherNanos: UInt64
    /// The size of the last batch; what a new one waits to reach, for at most `gatherNanos`.
    private var lastBatchSize = 1
    /// While the writer gathers, the queue's length that wakes it; 0 otherwise.
    private var gatherTarget = 0
    /// A reader waits for acknowledged events the log's readers do not see yet: the open
    /// generation commits after the batch under way, not at its deadline (``hurry()``).
    private let hurried = Atomic<Bool>(false)

    /// Nanoseconds between expiry checks while idle; nil: no sweeping.
    private let sweepNanos: UInt64?
    /// When the next expiry check is due (monotonic nanoseconds).
    private var nextSweep: UInt64 = 0
    /// When a check made while busy may scan for expiry warnings again (monotonic ns).
    private var nextBusyWarnings: UInt64 = 0
    /// Nanoseconds between the warnings' scans while the writer is busy: their leads are
    /// days long, and the scan reads every key expiring within the longest.
    private static let busyWarningNanos: UInt64 = 10_000_000_000
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

    /// The writer's thread id, and the seq of the job whose caller it answers now.
    private let writerThread = Atomic<UInt>(0)
    private var answering: UInt64?

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
        gatherNanos = UInt64(max(0, gatherMicros)) * 1000
        zeroFill = ZeroFill(environment)
        self.executor = executor
        self.projector = projector
        self.observer = observer
        sweepNanos = sweepInterval.map { UInt64(max(0, $0) * 1e9) }
        self.nice = nice
        committed.store(head, ordering: .releasing)
        visible.store(head, ordering: .releasing)
        startThread()
    }

    /// Starts the writer's thread (`threadRunning` already true).
    private func startThread() {
        let nice = self.nice
        // A serial queue of its own: the block holds one thread until the writer stops or
        // a loop attaches. A raised priority (a negative nice) is put back to 0 at the end:
        // the thread returns to Dispatch's pool.
        DispatchQueue(label: "keyledger-writer", qos: .userInteractive).async { [unowned self] in
            // Its pool name back at the end, so `ps -L` shows no writer thread after a loop took over.
            var poolName = [CChar](repeating: 0, count: 16)
            _ = csys_get_thread_name(&poolName, poolName.count)
            if nice != 0 { _ = csys_set_thread_nice(nice) }
            self.run()
            if nice != 0 { _ = csys_set_thread_nice(0) }
            _ = csys_set_thread_name(poolName)
        }
    }

    /// True on the thread that runs the batches now.
    private var onOwnerThread: Bool { pthread_self() == writerThread.load(ordering: .acquiring) }

    /// The attached loop's wake-up when it must be woken to run what the caller (on
    /// another thread) just queued; nil in thread mode or on the loop itself. With
    /// `condition` locked.
    private func loopToWake() -> (@Sendable () -> Void)? {
        mode == .loop && !onOwnerThread ? wake : nil
    }

    /// The seq of the job whose completion runs now, when called from that completion
    /// (on the writer's thread); nil elsewhere.
    var seqOfAnswer: UInt64? { onOwnerThread ? answering : nil }

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
        hurried.store(true, ordering: .releasing)
        condition.lock()
        condition.signal()
        let wakeLoop = loopToWake()
        condition.unlock()
        wakeLoop?()
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
        var wakeLoop: (@Sendable () -> Void)?
        if queue.count == 1 || queue.count == gatherTarget {
            if mode == .loop {
                if queue.count == 1 { queuedAt = csys_monotonic_nanos() }
                wakeLoop = loopToWake()
            } else {
                condition.signal()
            }
        }
        condition.unlock()
        wakeLoop?()
    }

    /// Runs `body` on the writer's thread between two batches and waits for it.
    func onWriterThread(_ body: @escaping @Sendable (CommandExecutor) -> Void) {
        condition.lock()
        if mode == .loop && onOwnerThread {
            // Called on the attached loop, between its turns: the loop is the writer's thread.
            condition.unlock()
            commitGeneration()
            body(executor)
            return
        }
        let done = DispatchSemaphore(value: 0)
        let executor = self.executor
        chores.append {
            body(executor)
            done.signal()
        }
        condition.signal()
        let wakeLoop = loopToWake()
        condition.unlock()
        wakeLoop?()
        done.wait()
    }

    /// Finishes every queued job and answers it, then ends the writer's work (its thread,
    /// or its turns on the attached loop). Returns when it has ended.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        let here = mode == .loop && onOwnerThread
        let wakeLoop = loopToWake()
        condition.unlock()
        if here { runDue() }
        wakeLoop?()
        condition.lock()
        while !finished { condition.wait() }
        condition.unlock()
    }

    // MARK: Batches on an event loop

    /// Makes the calling thread (an event loop) the one that runs the batches, from its
    /// turns (``runDue()``), once the writer's thread has committed its open generation
    /// and ended. `wake` wakes that loop from any other thread; a job queued, a chore or a
    /// waiting reader from another thread calls it. Nothing changes after a stop.
    func attach(wake: @escaping @Sendable () -> Void) {
        condition.lock()
        defer { condition.unlock() }
        guard mode == .thread, !finished else { return }
        attachRequested = true
        condition.broadcast()
        while threadRunning { condition.wait() }
        attachRequested = false
        // Another loop may have attached meanwhile: the first keeps the work.
        guard !finished, mode == .thread else { return }
        writerThread.store(UInt(pthread_self()), ordering: .releasing)
        self.wake = wake
        mode = .loop
        queuedAt = queue.isEmpty ? 0 : csys_monotonic_nanos()
    }

    /// The attached loop ends: its open generation commits (on the thread that began it)
    /// and a thread of the writer's runs the batches again, until the stop.
    func detach() {
        condition.lock()
        guard mode == .loop, onOwnerThread else {
            condition.unlock()
            return
        }
        let stopped = finished
        condition.unlock()
        if !stopped { commitGeneration() }
        condition.lock()
        mode = .thread
        wake = nil
        let restart = !finished
        threadRunning = restart
        condition.unlock()
        if restart { startThread() }
    }

    /// What the attached loop does next.
    private enum Step {
        /// Nothing before this many nanoseconds (UInt64.max: until woken).
        case wait(UInt64)
        case chores, commit, sweep, batch, finish
    }

    /// With `condition` locked, on the attached loop: what is due at `now`.
    private func step(_ now: UInt64) -> Step {
        if !chores.isEmpty { return .chores }
        // The expiry check is due by the clock, busy or idle.
        if sweepNanos != nil, !stopping, now >= nextSweep { return .sweep }
        let sweepIn = sweepNanos == nil ? UInt64.max : nextSweep &- now
        if queue.isEmpty {
            if stopping { return .finish }
            if journal.hasUncommitted {
                let deadline = journal.openedAt &+ generationNanos
                if hurried.load(ordering: .acquiring) || now >= deadline { return .commit }
                return .wait(min(deadline &- now, sweepIn))
            }
            return .wait(sweepIn)
        }
        if !stopping, gatherNanos > 0, queue.count < lastBatchSize, now &- queuedAt < gatherNanos {
            // Another thread's job that completes the gather wakes the loop.
            gatherTarget = min(lastBatchSize, batchLimit)
            return .wait(min(gatherNanos &- (now &- queuedAt), sweepIn))
        }
        return .batch
    }

    /// Nanoseconds until the attached loop has work of the writer's to run (0: now;
    /// UInt64.max: nothing until woken); UInt64.max on any other thread.
    func dueIn() -> UInt64 {
        let now = csys_monotonic_nanos()
        condition.lock()
        defer { condition.unlock() }
        guard mode == .loop, !finished, onOwnerThread else { return .max }
        if case .wait(let nanos) = step(now) { return nanos }
        return 0
    }

    /// On the attached loop: runs every batch, chore, commit and expiry check due now, and
    /// returns when nothing more is (see ``dueIn()``). Does nothing on any other thread.
    func runDue() {
        var batch: [Job] = []
        while true {
            let now = csys_monotonic_nanos()
            condition.lock()
            guard mode == .loop, !finished, onOwnerThread else {
                condition.unlock()
                return
            }
            switch step(now) {
            case .wait:
                condition.unlock()
                return
            case .chores:
                let due = chores
                chores.removeAll()
                condition.unlock()
                // A chore may read the log or write it: the open generation commits first.
                commitGeneration()
                for chore in due { chore() }
            case .commit:
                condition.unlock()
                hurried.store(false, ordering: .releasing)
                commitGeneration()
            case .sweep:
                queueSweep()
                condition.unlock()
            case .finish:
                condition.unlock()
                finishStop()
                return
            case .batch:
                takeBatch(into: &batch)
                queuedAt = queue.isEmpty ? 0 : now
                let more = !queue.isEmpty
                condition.unlock()
                runBatch(&batch)
                // A flood: the loop writes this batch's answers out and reads its sockets
                // before it takes the next.
                if more { return }
            }
        }
    }

    // MARK: Batches on the writer's thread

    private func run() {
        _ = csys_set_thread_name("kl-writer")
        writerThread.store(UInt(pthread_self()), ordering: .releasing)
        publishDecisionSize()
        var batch: [Job] = []
        while true {
            condition.lock()
            if attachRequested && !stopping {
                // A loop takes the batches over: it begins its own generation.
                condition.unlock()
                commitGeneration()
                condition.lock()
                threadRunning = false
                condition.broadcast()
                condition.unlock()
                return
            }
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
            // The expiry check is due by the clock, busy or idle (below: the idle wait for it).
            if sweepNanos != nil, !stopping, csys_monotonic_nanos() >= nextSweep { queueSweep() }
            while queue.isEmpty && chores.isEmpty && !stopping && !attachRequested {
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
                guard sweepNanos != nil else {
                    condition.wait()
                    continue
                }
                if !condition.wait(until: MonotonicTime(nanoseconds: nextSweep)) || csys_monotonic_nanos() >= nextSweep
                {
                    queueSweep()
                }
            }
            if !chores.isEmpty || (attachRequested && !stopping) {
                condition.unlock()
                continue
            }
            if !stopping { gather() }
            if queue.isEmpty && stopping {
                condition.unlock()
                finishStop()
                return
            }
            takeBatch(into: &batch)
            condition.unlock()
            runBatch(&batch)
        }
    }

    /// With `condition` locked: queues the expiry check and the expiry warnings that are
    /// due, and sets the next check's time.
    private func queueSweep() {
        let monotonic = csys_monotonic_nanos()
        nextSweep = monotonic &+ (sweepNanos ?? 0)
        // Busy: the warnings' scan (every key expiring within the longest lead) runs at
        // most every `busyWarningNanos`; idle, at every check.
        let busy = !queue.isEmpty || journal.hasUncommitted
        let now = executor.clock.now()
        if executor.decisions.hasExpiring(atOrBefore: now) || executor.quotas.hasDue(atOrBefore: now) {
            queue.append(Job(command: .expireDue, context: CommandContext(actor: .sweeper), completion: { _, _ in }))
        }
        if !busy || monotonic >= nextBusyWarnings {
            nextBusyWarnings = monotonic &+ Self.busyWarningNanos
            if let warn = warningJob() { queue.append(warn) }
        }
        if !queue.isEmpty { queuedAt = monotonic }
    }

    /// With `condition` locked and jobs queued: moves the next batch into `batch` (empty).
    private func takeBatch(into batch: inout [Job]) {
        gatherTarget = 0
        let limit = batchLimit
        if queue.count <= limit {
            // Swap the queue for the spare array: no copy under the lock.
            swap(&queue, &spare)
            batch = spare
            spare.removeAll(keepingCapacity: true)
        } else {
            batch = Array(queue.prefix(limit))
            queue.removeFirst(limit)
        }
    }

    /// Decides, syncs and answers `batch`, empties it, and commits the open generation
    /// when its time has come or a reader waits.
    private func runBatch(_ batch: inout [Job]) {
        lastBatchSize = batch.count
        process(batch)
        batch.removeAll(keepingCapacity: true)
        if journal.hasUncommitted,
            csys_monotonic_nanos() &- journal.openedAt >= generationNanos
                || hurried.exchange(false, ordering: .acquiringAndReleasing)
        {
            commitGeneration()
        }
    }

    /// The stop, once every queued job is answered: the last batches' generation commits
    /// (if that fails, they stay in the journal and the next open applies them), and the
    /// writer's work ends. (No job is queued after a stop.)
    private func finishStop() {
        commitGeneration()
        if journal.hasUncommitted {
            Log.warning("stopping with batches the log's file lacks: the next open applies them from the journal")
        }
        condition.lock()
        finished = true
        threadRunning = false
        condition.broadcast()
        condition.unlock()
    }

    /// With `condition` locked and jobs queued: waits, for at most `gatherNanos`, until the
    /// queue holds as many jobs as the last batch did (or a chore or a stop comes).
    private func gather() {
        guard gatherNanos > 0, queue.count < lastBatchSize else { return }
        gatherTarget = min(lastBatchSize, maxBatch)
        let deadline = MonotonicTime(nanoseconds: csys_monotonic_nanos() &+ gatherNanos)
        while queue.count < gatherTarget && chores.isEmpty && !stopping {
            if !condition.wait(until: deadline) { break }
        }
        gatherTarget = 0
    }

    /// Commits the open generation: its batches become visible to readers, the projector
    /// and the long polls.
    private func commitGeneration() {
        guard journal.hasUncommitted else { return }
        let started = csys_monotonic_nanos()
        do {
            try journal.commitGeneration()
        } catch {
            metrics.recordLogCommit(nanos: 0, failed: true)
            if !commitFailing { Log.error("cannot commit the journal's batches to the log", ["reason": "\(error)"]) }
            commitFailing = true
            return
        }
        metrics.recordLogCommit(nanos: csys_monotonic_nanos() &- started, failed: false)
        commitFailing = false
        becameVisible(committedHead)
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

    private func process(_ batch: [Job]) {
        let started = executor.clock.monotonicNanos()
        var head: UInt64 = 0
        var results: [Result<Outcome, LedgerError>?]
        var seqs: [UInt64]
        var visible = false
        do {
            ((results, seqs), visible) = try journal.batch { txn in
                let run = try executor.run(batch, in: txn)
                head = try executor.log.head(in: txn).seq
                return run
            }
            if journal.lastWriteNanos > 0 { metrics.recordJournalWrite(nanos: journal.lastWriteNanos) }
            if !visible, !executor.keptAnswers.isEmpty {
                pendingAnswers.withLock { pending in
                    for (key, answer) in executor.keptAnswers { pending[key] = answer }
                }
            }
            executor.committed()
        } catch {
            // Nothing of the batch was committed: every caller learns that, and the
            // decision state forgets the batch.
            executor.rollbackBatch()
            let reason = LedgerError.unavailable("the ledger cannot append: \(error)")
            results = Array(repeating: .failure(reason), count: batch.count)
            seqs = Array(repeating: committed.load(ordering: .acquiring), count: batch.count)
            head = 0
        }
        let nanos = executor.clock.monotonicNanos() &- started
        metrics.recordBatch(size: batch.count, nanos: nanos, failed: head == 0)
        if head > 0 {
            publishDecisionSize()
            committed.store(head, ordering: .releasing)
        }
        if visible { becameVisible(head) }
        for i in batch.indices {
            answering = seqs[i]
            // Moved to its caller, not copied: a copy of a verdict retains every field of its key.
            let result = results[i].take() ?? .failure(.unavailable("the writer lost the command's result"))
            batch[i].completion(result, seqs[i])
        }
        answering = nil
        if head > 0 { observer?(head, batch.count, nanos) }
    }
}
