import Dispatch
import Events
import Glibc
import Ledger
import Logging
import Synchronization

/// `keyledger bench`: drives the writer directly (no HTTP) with concurrent verify
/// submitters and prints durable commands per second.
enum BenchCommand: CLICommand {
    static let name = "bench"
    static let summary = "drive the writer with concurrent verifications; print durable commands/s"
    static let about = """
        Creates --keys keys in a new or existing ledger, then runs --submitters threads, each
        keeping --in-flight verifications outstanding against random keys, for --seconds.
        Every verification is a durable `key.accessed` event. Prints one line:
          verify_durable: N commands in S s = R commands/s (batches B, mean batch M)
        With --print-acks, prints `acked <seq>` on stdout after every durable commit (used by
        the crash test: every event up to that seq must survive a SIGKILL).
        """

    static let options: [Option] = [
        .data,
        .number("keys", default: 1000, "keys created before the run"),
        .number("submitters", default: 32, "threads submitting verifications"),
        .number("in-flight", default: 1, "verifications each submitter keeps outstanding"),
        .number("seconds", default: 5, "how long the run lasts"),
        .number("journal-ms", default: 5, in: 0...1000, "milliseconds batches wait in the journal before an LMDB commit; 0: none"),
        .number("gather-us", default: 100, in: 0...10_000, "microseconds a batch smaller than the last one waits for more; 0: none"),
        .flag("print-acks", "print an `acked SEQ` line on stdout after every durable batch"),
    ]

    static func run(_ args: [String]) throws -> Int32 {
        let parsed = try parse(args)
        let keyCount = try parsed.integer("keys")
        let submitters = try parsed.integer("submitters")
        let inFlight = try parsed.integer("in-flight")
        let duration = Double(try parsed.integer("seconds"))
        let printAcks = parsed.has("print-acks")
        let batches = Counter()
        let writerMicros = Counter()
        var options = LedgerOptions()
        options.sweepInterval = nil
        let journal = try parsed.integer("journal-ms")
        options.journalMillis = journal == 0 ? nil : Double(journal)
        options.gatherMicros = try parsed.integer("gather-us")
        options.onCommit = { head, _, nanos in
            batches.add(1)
            writerMicros.add(Int(nanos / 1000))
            if printAcks {
                let line = Array("acked \(head)\n".utf8)
                _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            }
        }
        let ledger = try Ledger(path: try parsed.dataDirectory(), options: options)
        defer { ledger.close() }
        let secrets = try makeKeys(ledger, count: keyCount)
        batches.reset()
        writerMicros.reset()
        let done = Counter()
        let started = ContinuousClock.now
        let deadline = started + .nanoseconds(Int64(duration * 1e9))
        let group = DispatchGroup()
        for s in 0..<submitters {
            group.enter()
            // A queue of its own per submitter: a thread of its own.
            DispatchQueue(label: "bench-submitter-\(s)").async {
                let window = DispatchSemaphore(value: inFlight)
                var i = s
                while ContinuousClock.now < deadline {
                    window.wait()
                    i = (i &* 1_103_515_245 &+ 12345) & 0x7FFF_FFFF
                    let request = VerifyRequest(scope: "bench:read", endpoint: "GET /bench")
                    ledger.verify(secret: secrets[i % secrets.count], request, context: CommandContext(actor: .sweeper))
                    { _ in
                        done.add(1)
                        window.signal()
                    }
                }
                // Drain every outstanding answer, then give the permits back: libdispatch
                // traps when a semaphore dies below its initial value.
                for _ in 0..<inFlight { window.wait() }
                for _ in 0..<inFlight { window.signal() }
                group.leave()
            }
        }
        group.wait()
        let elapsed = seconds(since: started)
        let n = done.value
        let b = max(batches.value, 1)
        let rate = fixed(Double(n) / elapsed, 0)
        let busy = fixed(Double(writerMicros.value) / (elapsed * 10_000), 0)
        let perBatch = fixed(Double(writerMicros.value) / Double(b), 0)
        let line =
            "verify_durable: \(n) commands in \(fixed(elapsed, 3)) s = \(rate) commands/s (batches \(b), "
            + "mean batch \(fixed(Double(n) / Double(b), 1)), writer busy \(busy)%, \(perBatch) µs per batch, "
            + "submitters \(submitters), in flight each \(inFlight))"
        if printAcks { Log.info(line) } else { print(line) }
        return 0
    }

    static func makeKeys(_ ledger: Ledger, count: Int) throws -> [String] {
        let made = Collector()
        let group = DispatchGroup()
        for i in 0..<count {
            var spec = KeySpec(owner: "org_\(i % 100)", name: "bench key \(i)")
            spec.scopes = ["bench:read"]
            spec.rateLimits = [RateLimit(limit: 1_000_000_000, windowSeconds: 60)]
            group.enter()
            ledger.createKey(spec, context: CommandContext(actor: Actor(kind: .root, id: "root"))) { result in
                if case .success(let (_, secret)) = result { made.append(secret) }
                group.leave()
            }
        }
        group.wait()
        guard made.items.count == count else {
            throw LedgerError.unavailable("only \(made.items.count) of \(count) keys were created")
        }
        return made.items
    }
}

/// A thread-safe counter for the benchmark.
final class Counter: Sendable {
    private let count = Mutex(0)
    func add(_ n: Int) { count.withLock { $0 += n } }
    func reset() { count.withLock { $0 = 0 } }
    var value: Int { count.withLock { $0 } }
}

/// Collects secrets from writer callbacks.
final class Collector: Sendable {
    private let list = Mutex<[String]>([])
    func append(_ s: String) { list.withLock { $0.append(s) } }
    var items: [String] { list.withLock { $0 } }
}
