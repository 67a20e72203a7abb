import Events
import Foundation
@testable import Ledger
import Store
import Testing

/// The `keyledger` executable built beside the test bundle.
func keyledgerBinary() throws -> String {
    let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let path = URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("keyledger").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw LedgerError.notFound("keyledger binary not found at \(path); run swift build first")
    }
    return path
}

/// Runs `keyledger` with `args` (and `environment` added to this process's); returns exit
/// status, stdout and stderr.
@discardableResult
func runKeyledger(_ args: [String], environment: [String: String] = [:]) throws -> (
    status: Int32, out: String, err: String
) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try keyledgerBinary())
    process.arguments = args
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (
        process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self)
    )
}

/// Kills a writing child with SIGKILL at random moments (of journal writes, of log
/// commits and of the projector's folds, which run at the same time), several times over
/// the same ledger,
/// deleting the projections' environment after every other kill; after each restart the
/// chain is intact, every acknowledged event is there, the writer's decision state is the
/// fold of the log, and the projections equal a replay.
@Test func aKilledWriterLosesNoAcknowledgedEvent() throws {
    let dir = TempDirectory()
    defer { dir.remove() }
    let binary = try keyledgerBinary()
    var lastHead: UInt64 = 0
    var journalFrames = 0
    for round in 0..<4 {
        let ackFile = dir.path + "-acks-\(round)"
        _ = FileManager.default.createFile(atPath: ackFile, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: ackFile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "bench", "--data", dir.path, "--keys", "40", "--submitters", "16", "--seconds", "60", "--print-acks",
        ]
        process.standardOutput = FileHandle(forWritingAtPath: ackFile)
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: Double.random(in: 0.4...1.6))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        let acks = String(decoding: FileManager.default.contents(atPath: ackFile) ?? Data(), as: UTF8.self)
            .split(separator: "\n").compactMap { $0.hasPrefix("acked ") ? UInt64($0.dropFirst(6)) : nil }
        let acked = acks.max() ?? 0
        #expect(acked > lastHead, "round \(round) acknowledged nothing")

        // Every other round, the projections' environment is deleted while stopped too.
        if round % 2 == 1 {
            let projections = dir.path + "/" + LedgerSchema.projectionsDirectory
            for file in ["data.mdb", "lock.mdb"] { unlink(projections + "/" + file) }
        }
        // Batches acknowledged from the journal whose LMDB commit the kill cut off.
        do {
            var readOnly = EnvironmentOptions()
            readOnly.readOnly = true
            let log = try Environment(path: dir.path, tables: LedgerSchema.tableSpecs, options: readOnly)
            journalFrames += JournaledWriter.pendingFrames(
                log, directory: dir.path, state: log.table(LedgerSchema.metaSpec.name),
                key: LedgerSchema.journalGenerationKey)
        }
        var options = LedgerOptions()
        options.sweepInterval = nil
        let ledger = try Ledger(path: dir.path, options: options)
        let report = try ledger.verifyChain()
        #expect(report.isIntact, "round \(round): \(report.reason ?? "")")
        #expect(report.events >= acked, "round \(round): acknowledged \(acked), found \(report.events)")
        #expect(try ledger.projectionCheckpoints().values.allSatisfy { $0 == report.events })
        // Decisions (rate windows, credits, ...) are exactly what a fold of the log gives.
        try expectDecisionsEqualAFold(ledger, "round \(round)")
        let before = try dumpProjections(ledger)
        try ledger.replay()
        #expect(try dumpProjections(ledger) == before, "round \(round): projections differ from a replay")
        try expectDecisionsEqualAFold(ledger, "round \(round), after a replay")
        lastHead = report.events
        ledger.close()
    }
    #expect(journalFrames > 0, "no kill found batches in the journal that LMDB had not committed")
}

/// Kills `keyledger replay` with SIGKILL at random moments: the projections it left (some
/// chunks committed, the usage checkpoint held before the hour it had open) are caught up
/// by the next writer to exactly what a whole replay builds.
@Test func aKilledReplayIsFinishedByTheNextWriter() throws {
    let dir = TempDirectory()
    defer { dir.remove() }
    let generated = try runKeyledger([
        "generate", "--data", dir.path, "--keys", "40", "--owners", "4", "--events", "12000", "--days", "2",
    ])
    #expect(generated.status == 0, "\(generated.err)")
    let binary = try keyledgerBinary()
    var options = LedgerOptions()
    options.sweepInterval = nil
    let expected = try {
        let ledger = try Ledger(path: dir.path, options: options)
        defer { ledger.close() }
        return try dumpProjections(ledger)
    }()
    var interrupted = 0
    for round in 0..<3 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["replay", "--data", dir.path, "--transaction-events", "300"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: Double.random(in: 0.05...0.3))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        if process.terminationReason == .uncaughtSignal { interrupted += 1 }

        let ledger = try Ledger(path: dir.path, options: options)
        defer { ledger.close() }
        #expect(try ledger.verifyChain().isIntact)
        // The next batch catches every projection up from its checkpoint.
        _ = try ledger.execute(.expireDue, context: CommandContext(actor: .sweeper))
        let head = try ledger.head().seq
        #expect(try ledger.projectionCheckpoints().values.allSatisfy { $0 == head }, "round \(round)")
        let caughtUp = try dumpProjections(ledger)
        try ledger.replay()
        // Compared as booleans: a failure would otherwise print every row.
        let equalToAReplay = try dumpProjections(ledger) == caughtUp
        #expect(equalToAReplay, "round \(round): caught-up projections differ from a replay")
        let usageAsBefore = caughtUp["usage_by_minute"] == expected["usage_by_minute"]
        #expect(usageAsBefore, "round \(round): usage differs from the generated ledger's")
    }
    #expect(interrupted > 0, "every replay finished before it was killed")
}

func dumpProjections(_ ledger: Ledger) throws -> [String: [[UInt8]]] {
    try ledger.projectionEnvironment.read { txn in
        var dump: [String: [[UInt8]]] = [:]
        for spec in LedgerSchema.projectionTableSpecs where spec.name != LedgerSchema.projectionStateSpec.name {
            var rows: [[UInt8]] = []
            try txn.withCursor(ledger.projectionEnvironment.table(spec.name)) { cursor in
                var entry = try cursor.first()
                while let e = entry {
                    rows.append(Array(e.key) + [0xFF] + Array(e.value))
                    entry = try cursor.next()
                }
            }
            dump[spec.name] = rows
        }
        return dump
    }
}

@Test func initPrintsTheRootTokenOnceAndVerifyChainNamesATamperedSeq() throws {
    let dir = TempDirectory()
    defer { dir.remove() }
    let first = try runKeyledger(["init", "--data", dir.path])
    #expect(first.status == 0)
    let lines = first.out.split(separator: "\n")
    #expect(lines.count == 1 && lines[0].hasPrefix("kl_root_") && Secret.isWellFormed(String(lines[0])))
    let second = try runKeyledger(["init", "--data", dir.path])
    #expect(second.status == 1 && second.out.isEmpty && second.err.contains("already holds an initialised ledger"))
    #expect(!second.err.contains(String(lines[0])))

    var options = LedgerOptions()
    options.sweepInterval = nil
    let ledger = try Ledger(path: dir.path, options: options)
    #expect(try ledger.isRootToken(String(lines[0])))
    for i in 0..<5 {
        _ = try wait { done in
            ledger.createKey(KeySpec(owner: "org_1", name: "k\(i)"), context: rootContext, completion: done)
        }
    }
    ledger.close()
    let intact = try runKeyledger(["verify-chain", "--data", dir.path])
    #expect(intact.status == 0 && intact.out.hasPrefix("chain intact: 5 events"))

    let reopened = try Ledger(path: dir.path, options: options)
    try reopened.environment.write { txn in
        let events = reopened.environment.table("events")
        let key = withUnsafeBytes(of: UInt64(3).bigEndian) { Array($0) }
        var value = try #require(try txn.get(events, key))
        value[value.count - 70] ^= 0x80
        try txn.put(events, key, value)
    }
    reopened.close()
    let broken = try runKeyledger(["verify-chain", "--data", dir.path])
    #expect(broken.status == 1 && broken.out.hasPrefix("chain broken at seq 3"))
    let replay = try runKeyledger(["replay", "--data", dir.path])
    #expect(replay.status == 1 && replay.err.contains("broken at seq 3"))
    let help = try runKeyledger(["replay", "--help"])
    #expect(help.status == 0 && help.out.contains("--data DIR"))
    let unknown = try runKeyledger(["verify-chain", "--bogus"])
    #expect(unknown.status == 2 && unknown.err.contains("unknown option --bogus"))
}

/// `keyledger export` of everything reads back as the log: same events, same chain.
@Test func anExportOfEverythingReadsBackAsTheLog() throws {
    let f = try LedgerFixture()
    let (_, secret) = try f.create { $0.metadata = ["note": "a \"quoted\", comma'd value\nwith a line break"] }
    for i in 0..<20 {
        _ = try f.verify(secret, VerifyRequest(scope: i % 3 == 0 ? "x" : nil, ip: IPAddress("10.0.0.\(i)")))
    }
    f.ledger.close()
    let ndjson = try runKeyledger(["export", "--data", f.directory.path])
    #expect(ndjson.status == 0)
    let lines = ndjson.out.split(separator: "\n")
    let log = try Ledger.openReadOnly(path: f.directory.path).events(after: 0, limit: 1000)
    #expect(lines.count == log.count && log.count == 21)
    var previous = String(repeating: "0", count: 64)
    for (line, stored) in zip(lines, log) {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["seq"] as? Int == Int(stored.event.seq))
        #expect(object["type"] as? String == stored.event.type.wireName)
        #expect(object["prevHash"] as? String == previous)
        #expect(object["hash"] as? String == stored.hash.hex)
        previous = stored.hash.hex
    }
    let csv = try runKeyledger(["export", "--data", f.directory.path, "--format", "csv", "--types", "key.created"])
    #expect(csv.status == 0 && csv.out.hasPrefix("seq,id,type,time,keyId"))
    #expect(csv.out.contains(#"\""quoted\"""#))
    let accessed = try runKeyledger(["logs", "--data", f.directory.path, "--types", "key.accessed", "--limit", "5"])
    #expect(accessed.out.split(separator: "\n").count == 5)
    f.ledger = try LedgerFixture.open(f.directory.path, clock: f.clock)
}
