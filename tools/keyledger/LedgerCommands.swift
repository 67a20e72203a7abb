import Events
import Glibc
import Ledger
import Logging

/// `keyledger init`: creates a ledger and prints its root token, once.
enum InitCommand: CLICommand {
    static let name = "init"
    static let summary = "create a ledger; print its root token (shown once)"
    static let about = """
        Creates the ledger in DIR (made if missing, mode 0700) and prints the root token as the
        only line on stdout. Only its SHA-256 digest is stored: keep the token, it is never shown
        again. Fails if DIR already holds a ledger.
        """

    static let options: [Option] = [.data]

    static func run(_ args: [String]) throws -> Int32 {
        let parsed = try parse(args)
        print(try Ledger.initialize(path: try parsed.dataDirectory()))
        return 0
    }
}

/// `keyledger replay`: rebuilds every projection from the log.
enum ReplayCommand: CLICommand {
    static let name = "replay"
    static let summary = "rebuild every projection from the log"
    static let about = """
        Clears every projection (key state, audit indexes, usage) and folds the whole log into
        them again, printing progress on stderr. Needs the ledger to itself: stop the server
        first. An interrupted replay is finished by the next start. It first checks the whole
        hash chain and refuses a broken one (exit 1, naming the first bad sequence).
        """

    static let options: [Option] = [
        .data,
        .number(
            "transaction-events", default: 1_000_000, in: 1...100_000_000,
            "events folded per write transaction at most. Fewer commits rewrite fewer index pages; "
                + "what a transaction writes is held in memory until it commits, and an interrupted "
                + "replay resumes from the last commit"),
    ]

    static func run(_ args: [String]) throws -> Int32 {
        let parsed = try parse(args)
        let chunk = try parsed.integer("transaction-events")
        var options = LedgerOptions()
        options.sweepInterval = nil
        options.rebuildLag = .max  // this command rebuilds everything anyway
        options.checkWholeChain = true  // and reads every record anyway
        let path = try parsed.dataDirectory()
        try Ledger.requireExisting(path: path)
        let ledger = try Ledger(path: path, options: options)
        defer { ledger.close() }
        let started = ContinuousClock.now
        try ledger.replay(transactionEvents: chunk) { done, total in
            let percent = total == 0 ? 100 : Int(done * 100 / total)
            Log.info(
                "replay progress",
                ["events": .integer(Int64(done)), "of": .integer(Int64(total)), "percent": .integer(Int64(percent))])
        }
        let seconds = seconds(since: started)
        let total = try ledger.head().seq
        let rate = seconds > 0 ? Int(Double(total) / seconds) : 0
        Log.info(
            "replay done",
            ["events": .integer(Int64(total)), "seconds": .seconds(seconds), "eventsPerSecond": .integer(Int64(rate))])
        return 0
    }
}

/// `keyledger verify-chain`: checks the hash chain.
enum VerifyChainCommand: CLICommand {
    static let name = "verify-chain"
    static let summary = "check the hash chain; exit 1 at the first bad event"
    static let about = """
        Walks the log from seq 1, checking that each record decodes, follows the previous one
        and hashes to its stored hash. Exit 0 and a summary when intact; exit 1 naming the first
        bad sequence otherwise. Opens the ledger read-only (it changes nothing, and a missing
        ledger is an error); safe while a server runs.
        """

    static let options: [Option] = [.data]

    static func run(_ args: [String]) throws -> Int32 {
        let parsed = try parse(args)
        let ledger = try Ledger.openReadOnly(path: try parsed.dataDirectory())
        let report = try ledger.verifyChain()
        if let bad = report.firstBadSeq {
            print("chain broken at seq \(bad): \(report.reason ?? "unknown")")
            return 1
        }
        print("chain intact: \(report.events) events, head \(report.head.hex)")
        return 0
    }
}

enum BackupCommand: CLICommand {
    static let name = "backup"
    static let summary = "write a consistent, compacted copy of a ledger to a new directory"
    static let about = """
        Copies the whole ledger (log, projections, root token digest) as of one moment into
        the --to directory (made with mode 0700; it must not hold a ledger), syncs it, and
        prints the copy's head. Safe while a server runs. The copy is a ledger: serve it,
        or move it in place of the original to restore.

        Compacting leaves out free pages and lays each table out in order: the copy is
        smaller, and on a ledger with a long history its durable commits are faster.
        """

    static let options: [Option] = [
        .data,
        .text("to", "DIR", required: true, "where the copy goes: a new directory, or one holding no ledger"),
        .flag("no-compact", "copy the pages as they are (faster for a fresh ledger)"),
    ]

    static func run(_ args: [String]) throws -> Int32 {
        let parsed = try parse(args)
        guard let target = parsed.value("to") else { throw UsageError("--to DIR is required") }
        let ledger = try Ledger.openReadOnly(path: try parsed.dataDirectory())
        defer { ledger.close() }
        let start = ContinuousClock.now
        let head = try ledger.backup(to: target, compact: !parsed.has("no-compact"))
        let seconds = seconds(since: start)
        var st = stat()
        let bytes = stat(target + "/data.mdb", &st) == 0 ? Int(st.st_size) : 0
        print(
            "backup: \(head.seq) events, head \(head.hash.hex), \(bytes) bytes in \(fixed(seconds, 2)) s -> \(target)")
        return 0
    }
}
