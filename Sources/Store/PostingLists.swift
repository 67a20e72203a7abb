internal import CLMDB
internal import Glibc

/// Posting lists in blocks: ascending lists of `UInt64` (event seqs) in a plain table.
///
/// Each block is one row. Its key is the list's key, then the block's first value as 8
/// big-endian bytes; its value holds the gaps between consecutive values as LEB128
/// varints, at most ``capacity`` bytes. A list's blocks are thus consecutive rows in
/// value order, and a list's tail is one row: appending rewrites at most ``capacity``
/// bytes on one leaf page, however long the list. Dense lists cost 1 to 3 bytes a value
/// instead of 8, and a bulk load puts one row per block instead of one per value.
///
/// - Important: list keys must be prefix-free (no list key begins with another), so
///   that no other list's rows can sort between two rows of one list.
public enum PostingBlock {
    /// The most bytes of gaps a block holds.
    public static let capacity = 256
    /// The longest list key: LMDB's key limit less the 8 bytes of the first value.
    public static let maxListKey = 511 - 8

    /// The bytes `gap` takes as a varint.
    @inline(__always)
    static func size(_ gap: UInt64) -> Int { max(1, (64 - gap.leadingZeroBitCount + 6) / 7) }

    /// Appends `gap` to `block` as a varint.
    static func append(_ gap: UInt64, to block: inout [UInt8]) {
        // Byte by byte, the bytes ``store(_:at:)`` writes: a gap is one or two bytes
        // nearly always, and a generic `append(contentsOf:)` costs more than the bytes.
        var rest = gap
        while rest >= 0x80 {
            block.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        block.append(UInt8(rest))
    }

    /// Writes `gap` as a varint at `at` (room for 10 bytes); returns the bytes written.
    static func store(_ gap: UInt64, at: UnsafeMutableRawPointer) -> Int {
        var rest = gap
        var count = 0
        while rest >= 0x80 {
            at.storeBytes(of: UInt8(truncatingIfNeeded: rest) | 0x80, toByteOffset: count, as: UInt8.self)
            rest >>= 7
            count += 1
        }
        at.storeBytes(of: UInt8(rest), toByteOffset: count, as: UInt8.self)
        return count + 1
    }

    /// Calls `body` with every value of the block that starts at `first`, in order; stops
    /// when `body` returns false. Throws on a truncated or overlong varint and on a gap
    /// of zero or one that overflows.
    static func forEach(first: UInt64, _ gaps: UnsafeRawBufferPointer, _ body: (UInt64) -> Bool)
        throws(PostingListError)
    {
        var value = first
        guard body(value) else { return }
        var i = 0
        while i < gaps.count {
            var gap: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard i < gaps.count, shift < 64 else { throw PostingListError() }
                let byte = gaps[i]
                i += 1
                gap |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { break }
                shift += 7
            }
            let (next, overflow) = value.addingReportingOverflow(gap)
            guard gap > 0, !overflow else { throw PostingListError() }
            value = next
            guard body(value) else { return }
        }
    }

    /// The last value of the block that starts at `first`: the sum of its gaps, checked
    /// as ``forEach(first:_:_:)`` checks them (an append reads it for every list it
    /// continues, so the one-byte gaps of dense lists take a step of their own).
    static func last(first: UInt64, _ gaps: UnsafeRawBufferPointer) throws(PostingListError) -> UInt64 {
        var value = first
        var i = 0
        while i < gaps.count {
            var gap = UInt64(gaps[i])
            i += 1
            if gap >= 0x80 {
                gap &= 0x7F
                var shift: UInt64 = 7
                while true {
                    guard i < gaps.count, shift < 64 else { throw PostingListError() }
                    let byte = gaps[i]
                    i += 1
                    gap |= UInt64(byte & 0x7F) << shift
                    if byte < 0x80 { break }
                    shift += 7
                }
            }
            let (next, overflow) = value.addingReportingOverflow(gap)
            guard gap > 0, !overflow else { throw PostingListError() }
            value = next
        }
        return value
    }
}

/// Packs many posting lists, by number, into blocks in memory, from empty, exactly as
/// ``Cursor/appendPostings(_:_:)`` packs each in a table: a rebuild makes its rows without
/// reading any back. Every list's open block sits in one arena, ``PostingBlock/capacity``
/// bytes per list, and its first and last values in one array: an add touches two places
/// in memory and allocates nothing (a builder per list, with a buffer of its own, spent most
/// of its time in cache misses).
public struct PostingListPacker: Sendable {
    private struct Head {
        var first: UInt64 = 0
        var last: UInt64 = 0
        var length = 0
        var isEmpty = true
    }

    private var heads: [Head] = []
    private var arena: [UInt8] = []
    /// The block the last ``add(_:to:)`` that returned true closed.
    public private(set) var closedFirst: UInt64 = 0
    public private(set) var closedGaps: [UInt8] = []

    public init() {}

    /// Adds an empty list; returns its number.
    public mutating func addList() -> Int {
        heads.append(Head())
        arena.append(contentsOf: repeatElement(0, count: PostingBlock.capacity))
        return heads.count - 1
    }

    /// Adds `value` to list `list`; it must be above every value added to it before (others
    /// are skipped, as a table's list skips them). True when it closed the list's open
    /// block, which ``closedFirst`` and ``closedGaps`` then hold until the next one closes.
    public mutating func add(_ value: UInt64, to list: Int) -> Bool {
        var head = heads[list]
        defer { heads[list] = head }
        guard !head.isEmpty else {
            head = Head(first: value, last: value, length: 0, isEmpty: false)
            return false
        }
        guard value > head.last else { return false }
        let gap = value - head.last
        head.last = value
        let size = PostingBlock.size(gap)
        let slot = list * PostingBlock.capacity
        if head.length + size <= PostingBlock.capacity {
            arena.withUnsafeMutableBytes { _ = PostingBlock.store(gap, at: $0.baseAddress! + slot + head.length) }
            head.length += size
            return false
        }
        closedFirst = head.first
        closedGaps.removeAll(keepingCapacity: true)
        closedGaps.append(contentsOf: arena[slot..<(slot + head.length)])
        head.first = value
        head.length = 0
        return true
    }

    /// Calls `body` with list `list`'s open block (its first value and gaps); not for an
    /// empty list.
    @discardableResult
    public func withOpenBlock<T>(_ list: Int, _ body: (UInt64, UnsafeRawBufferPointer) throws -> T) rethrows -> T? {
        let head = heads[list]
        guard !head.isEmpty else { return nil }
        let slot = list * PostingBlock.capacity
        return try arena.withUnsafeBytes {
            try body(head.first, UnsafeRawBufferPointer(rebasing: $0[slot..<(slot + head.length)]))
        }
    }
}

/// A posting block that does not decode: the table is damaged.
public struct PostingListError: Error, CustomStringConvertible {
    public var description: String { "a posting list block does not decode" }
}

/// Buffers for ``Cursor/appendPostings(_:_:using:)`` to reuse from one list to the next
/// (a fold that appends to many lists allocates none per list).
public struct PostingScratch {
    var key: [UInt8] = []
    var block: [UInt8] = []

    public init() {
        key.reserveCapacity(PostingBlock.maxListKey + 8)
        block.reserveCapacity(PostingBlock.capacity + 10)
    }
}

extension Cursor {
    /// Appends ascending `values` to the posting list `list`, continuing its last block.
    /// Values at or below the list's last are skipped: they are filed already (a list
    /// only grows at its end, in log order).
    public mutating func appendPostings(_ list: UnsafeRawBufferPointer, _ values: UnsafeBufferPointer<UInt64>) throws {
        var scratch = PostingScratch()
        try appendPostings(list, values, using: &scratch)
    }

    /// ``appendPostings(_:_:)`` through buffers of `scratch`.
    public mutating func appendPostings(
        _ list: UnsafeRawBufferPointer, _ values: UnsafeBufferPointer<UInt64>, using scratch: inout PostingScratch
    ) throws {
        guard !values.isEmpty else { return }
        scratch.key.removeAll(keepingCapacity: true)
        scratch.key.append(contentsOf: list)
        scratch.key.append(contentsOf: repeatElement(0xFF, count: 8))
        scratch.block.removeAll(keepingCapacity: true)
        var first: UInt64 = 0
        var last: UInt64 = 0
        var open = false
        // True while the cursor is on the list's last block and the open block is that
        // one: writing it replaces the entry in place, without a second search.
        var onTail = false
        if let tail = try lastBlock(of: scratch.key) {
            first = tail.first
            // Copied before any put moves the row.
            scratch.block.append(contentsOf: tail.gaps)
            last = try PostingBlock.last(first: first, tail.gaps)
            open = true
            onTail = true
        }
        var changed = false
        for value in values {
            if open {
                guard value > last else { continue }
                let gap = value - last
                if scratch.block.count + PostingBlock.size(gap) <= PostingBlock.capacity {
                    PostingBlock.append(gap, to: &scratch.block)
                    last = value
                    changed = true
                    continue
                }
                if changed { try put(block: scratch.block, first: first, key: &scratch.key, replacing: onTail) }
                onTail = false
            }
            scratch.block.removeAll(keepingCapacity: true)
            first = value
            last = value
            open = true
            changed = true
        }
        if changed { try put(block: scratch.block, first: first, key: &scratch.key, replacing: onTail) }
    }

    /// The last block of the list whose key is `key` less its last 8 bytes, or nil for an
    /// empty list; its gaps point into the map (valid until the next write).
    private mutating func lastBlock(of key: [UInt8]) throws -> (first: UInt64, gaps: UnsafeRawBufferPointer)? {
        // Every block of the list sorts before the list's key followed by 8 × 0xFF.
        let entry: Entry?
        if try seek(atLeast: key) != nil { entry = try previous() } else { entry = try last() }
        guard let entry, let first = Self.first(of: entry.key, inListOf: key) else { return nil }
        return (first, entry.value)
    }

    /// Writes `block` under the list's key with `first`; `replacing`: the cursor is on
    /// that very entry (``replaceCurrent(_:_:)``).
    private mutating func put(block: [UInt8], first: UInt64, key: inout [UInt8], replacing: Bool) throws {
        key.withUnsafeMutableBytes { $0.storeBytes(of: first.bigEndian, toByteOffset: $0.count - 8, as: UInt64.self) }
        try key.withUnsafeBytes { (k) throws in
            try block.withUnsafeBytes { (v) throws in
                if replacing { try replaceCurrent(k, v) } else { try put(k, v) }
            }
        }
    }

    /// The first value of the block whose row key is `rowKey`, when that row belongs to
    /// the list keyed by `key` less its last 8 bytes.
    static func first(of rowKey: UnsafeRawBufferPointer, inListOf key: [UInt8]) -> UInt64? {
        guard rowKey.count == key.count,
            key.withUnsafeBytes({ memcmp($0.baseAddress!, rowKey.baseAddress!, key.count - 8) == 0 })
        else { return nil }
        return UInt64(bigEndian: rowKey.loadUnaligned(fromByteOffset: key.count - 8, as: UInt64.self))
    }
}

extension Transaction {
    /// Appends `value` to the posting list `list` of `table` (see ``Cursor/appendPostings(_:_:)``).
    public func appendPosting(_ table: Table, _ list: [UInt8], _ value: UInt64) throws {
        var one = value
        try withCursor(table) { (cursor) throws in
            try list.withUnsafeBytes { (list) throws in
                try withUnsafePointer(to: &one) { (p) throws in
                    try cursor.appendPostings(list, UnsafeBufferPointer(start: p, count: 1))
                }
            }
        }
    }
}

/// Reads posting lists through one cursor. Each list keeps the block it was last read
/// at, so a walk down a list decodes each of its blocks once.
public struct PostingReader {
    var cursor: Cursor
    private var blocks: [[UInt8]: [UInt64]] = [:]
    private var key: [UInt8] = []

    public init(_ cursor: Cursor) { self.cursor = cursor }

    /// The largest value of `list` at most `bound`, or nil.
    public mutating func largest(in list: [UInt8], atMost bound: UInt64) throws -> UInt64? {
        if let values = blocks[list], let first = values.first, let last = values.last, first <= bound, bound <= last {
            return Self.largest(in: values, atMost: bound)
        }
        guard list.count <= PostingBlock.maxListKey else { return nil }
        setKey(list, bound)
        // The block that starts at or below `bound` holds the answer: every later block
        // starts above it, and this one starts at or below it.
        guard let entry = try cursor.seek(atMost: key), let first = Cursor.first(of: entry.key, inListOf: key) else {
            return nil
        }
        var values: [UInt64] = []
        try PostingBlock.forEach(first: first, entry.value) { value in
            values.append(value)
            return true
        }
        blocks[list] = values
        return Self.largest(in: values, atMost: bound)
    }

    /// Calls `body` with each value of `list` from `low` upwards, in order, until it
    /// returns false.
    public mutating func forEach(in list: [UInt8], from low: UInt64, _ body: (UInt64) -> Bool) throws {
        guard list.count <= PostingBlock.maxListKey else { return }
        setKey(list, low)
        var entry = try cursor.seek(atMost: key)
        if entry.flatMap({ Cursor.first(of: $0.key, inListOf: key) }) == nil { entry = try cursor.seek(atLeast: key) }
        while let row = entry, let first = Cursor.first(of: row.key, inListOf: key) {
            var going = true
            try PostingBlock.forEach(first: first, row.value) { value in
                guard value >= low else { return true }
                going = body(value)
                return going
            }
            guard going else { return }
            entry = try cursor.next()
        }
    }

    private mutating func setKey(_ list: [UInt8], _ value: UInt64) {
        key.removeAll(keepingCapacity: true)
        key.append(contentsOf: list)
        withUnsafeBytes(of: value.bigEndian) { key.append(contentsOf: $0) }
    }

    /// The largest of ascending `values` at most `bound` (the first is).
    private static func largest(in values: [UInt64], atMost bound: UInt64) -> UInt64? {
        var (low, high) = (0, values.count)
        while low < high {
            let mid = (low + high) / 2
            if values[mid] <= bound { low = mid + 1 } else { high = mid }
        }
        return low > 0 ? values[low - 1] : nil
    }
}
