import Foundation
import Store
import Testing

func withEnvironment(_ tables: [TableSpec], _ body: (Environment) throws -> Void) throws {
    let path = NSTemporaryDirectory() + "keyledger-store-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: path) }
    try body(try Environment(path: path, tables: tables))
}

@Test func writesCommitAndThrowingAborts() throws {
    try withEnvironment([TableSpec("t")]) { env in
        let t = env.table("t")
        try env.write { txn in try txn.put(t, [1], [10]) }
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try env.write { (txn) throws in
                try txn.put(t, [2], [20])
                throw Boom()
            }
        }
        try env.read { (txn) throws in
            #expect(try txn.get(t, [1]) == [10])
            #expect(try txn.get(t, [2]) == nil)
            #expect(try txn.count(t) == 1)
        }
    }
}

@Test func appendRefusesAKeyBelowTheLast() throws {
    try withEnvironment([TableSpec("log")]) { env in
        let log = env.table("log")
        try env.write { (txn) throws in
            try txn.put(log, [0, 2], [1], append: true)
            #expect(throws: LMDBError.keyExists) { try txn.put(log, [0, 1], [1], append: true) }
        }
    }
}

@Test func cursorsSeekBothWays() throws {
    try withEnvironment([TableSpec("t")]) { env in
        let t = env.table("t")
        try env.write { txn in for k: UInt8 in [10, 20, 30] { try txn.put(t, [k], [k]) } }
        try env.read { (txn) throws in
            try txn.withCursor(t) { (c) throws in
                #expect(try c.seek(atLeast: [15]).map { Array($0.key) } == [20])
                #expect(try c.seek(atMost: [15]).map { Array($0.key) } == [10])
                #expect(try c.seek(atMost: [20]).map { Array($0.key) } == [20])
                #expect(try c.seek(atMost: [99]).map { Array($0.key) } == [30])
                #expect(try c.seek(atMost: [5]) == nil)
            }
        }
    }
}

@Test func postingListsAppendAndSeek() throws {
    try withEnvironment([TableSpec("idx", duplicates: true)]) { env in
        let idx = env.table("idx")
        try env.write { (txn) throws in
            try txn.appendDuplicates(idx, [7], [1, 3, 5, 7])
            try txn.addDuplicate(idx, [7], 9)
            try txn.addDuplicate(idx, [8], 2)
        }
        try env.read { (txn) throws in
            #expect(try txn.duplicateCount(idx, [7]) == 5)
            try txn.withCursor(idx) { (c) throws in
                #expect(try c.find([7], atLeast: 4) == 5)
                #expect(try c.find([7], atMost: 4) == 3)
                #expect(try c.find([7], atMost: 100) == 9)
                #expect(try c.previousDuplicate() == 7)
                #expect(try c.find([7], atMost: 0) == nil)
                #expect(try c.find([9]) == nil)
            }
        }
    }
}

@Test func anErrorCarriesLMDBsMessage() {
    #expect(LMDBError.mapFull.message.contains("MDB_MAP_FULL"))
    #expect(LMDBError(code: 28).isStorageRefusal)
}
