internal import CSystem
internal import Glibc

/// The journal of a ``JournaledWriter``: a file of fixed size (`journal` in the data
/// directory), written with zeros when it is made, into which each batch's writes
/// (``RedoLog``) are appended as one frame with one durable write (`O_DSYNC`, and
/// `O_DIRECT` where the file system takes it).
///
/// A frame is a 24-byte header (magic `KLJ1`, the payload's length, the generation, a
/// CRC-32C over length, generation and payload, 4 bytes of zeros) and the payload,
/// padded to 8 bytes. Frames of one generation follow each other from the file's start;
/// the next generation starts over at offset 0. Reading stops at the first frame that is
/// torn (CRC), of zeros, or of another generation than the first frame's.
public final class Journal: @unchecked Sendable {
    // Safe to share: used by the one writer thread after init.
    public static let fileName = "journal"
    static let headerSize = 24
    static let magic: UInt32 = 0x314A_4C4B  // "KLJ1" little-endian
    /// The unit of a direct write: a frame's write covers whole blocks of this size.
    static let blockSize = 4096

    private let path: String
    private(set) var fd: Int32
    /// The file's size in bytes (a multiple of ``blockSize``).
    public let capacity: Int
    /// True while frames are written with `O_DIRECT` (past the page cache, whole blocks);
    /// false on a file system that refuses it.
    public private(set) var isDirect: Bool
    /// Where the next frame goes.
    private(set) var offset = 0
    /// The bytes written, block-aligned for `O_DIRECT`: its start holds the frames already
    /// in the block at ``offset`` (`offset % blockSize` bytes), which the next write repeats.
    private var buffer: UnsafeMutableRawPointer
    private var bufferCapacity: Int

    /// Opens the journal in `directory`, making it (`capacity` bytes of zeros, synced,
    /// and the directory synced) when it is missing or of another size.
    public init(directory: String, capacity: Int) throws {
        precondition(capacity % Self.blockSize == 0, "a journal of whole blocks")
        let path = directory + "/" + Self.fileName
        var st = stat()
        if !(stat(path, &st) == 0 && Int(st.st_size) == capacity) { try Self.make(path, directory, capacity) }
        // A synced write that goes past the page cache: one device write of whole blocks,
        // and less of the kernel's CPU than a buffered write and its writeback.
        var direct = true
        var fd = open(path, O_RDWR | O_CLOEXEC | O_DSYNC | csys_o_direct())
        if fd < 0 && errno == EINVAL {
            direct = false
            fd = open(path, O_RDWR | O_CLOEXEC | O_DSYNC)
        }
        guard fd >= 0 else { throw LMDBError(code: errno) }
        self.path = path
        self.fd = fd
        self.capacity = capacity
        isDirect = direct
        bufferCapacity = 1 << 16
        buffer = Self.allocate(bufferCapacity)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// Writes the file: `capacity` bytes of zeros, synced with its directory. Zeros
    /// written, not allocated: each later frame's write overwrites blocks the file
    /// already has, so its sync writes no metadata.
    private static func make(_ path: String, _ directory: String, _ capacity: Int) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LMDBError(code: errno) }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0, count: 1 << 20)
        var written = 0
        while written < capacity {
            let n = chunk.withUnsafeBytes { pwrite(fd, $0.baseAddress, min(chunk.count, capacity - written), off_t(written)) }
            guard n > 0 else {
                let code = errno
                unlink(path)
                throw LMDBError(code: code)
            }
            written += n
        }
        guard ftruncate(fd, off_t(capacity)) == 0, fsync(fd) == 0 else { throw LMDBError(code: errno) }
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            _ = fsync(dir)
            close(dir)
        }
    }

    private static func allocate(_ count: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer.allocate(byteCount: count, alignment: blockSize)
    }

    static func padded(_ count: Int) -> Int { (count + 7) & ~7 }

    /// Whether a frame of `count` payload bytes fits after the frames written.
    public func fits(_ count: Int) -> Bool { offset + Self.headerSize + Self.padded(count) <= capacity }

    /// Writes `payload` as the next frame of `generation`; durable when this returns.
    ///
    /// With `O_DIRECT` the write covers the whole blocks the frame touches: it repeats the
    /// bytes of the frames before it in its first block (the same bytes again, so a torn
    /// write leaves them as they were) and writes zeros after it to its last block's end
    /// (over frames of an earlier generation, which reading stops at either way).
    ///
    /// - Throws: ``LMDBError`` with the `errno` of a failed write; the frame does not
    ///   count then (its header is overwritten with zeros when that still works).
    public func append(_ payload: [UInt8], generation: UInt64) throws {
        precondition(fits(payload.count), "a frame past the journal's end")
        let block = Self.blockSize
        let start = isDirect ? offset & ~(block - 1) : offset
        let before = offset - start
        let total = Self.headerSize + Self.padded(payload.count)
        let length = isDirect ? (before + total + block - 1) & ~(block - 1) : total
        if length > bufferCapacity {
            var grown = bufferCapacity
            while grown < length { grown *= 2 }
            let larger = Self.allocate(grown)
            larger.copyMemory(from: buffer, byteCount: before)
            buffer.deallocate()
            (buffer, bufferCapacity) = (larger, grown)
        }
        Self.header(payload, generation: generation, into: buffer + before)
        payload.withUnsafeBytes { (buffer + before + Self.headerSize).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        let end = before + Self.headerSize + payload.count
        (buffer + end).initializeMemory(as: UInt8.self, repeating: 0, count: length - end)
        var n = pwrite(fd, buffer, length, off_t(start))
        if n < 0, errno == EINVAL, isDirect {
            // The file system took O_DIRECT at open but not this write: buffered from now on.
            try fallBackToBuffered()
            return try append(payload, generation: generation)
        }
        guard n == length else {
            let code = n < 0 ? errno : EIO
            // Undo the header: the block as it was before (the earlier frames, then zeros).
            let undo = isDirect ? block : Self.headerSize
            (buffer + before).initializeMemory(as: UInt8.self, repeating: 0, count: undo - before)
            n = pwrite(fd, buffer, undo, off_t(start))
            throw LMDBError(code: code)
        }
        offset += total
        if isDirect {
            // Keep the frames of the block the next frame starts in.
            let kept = offset & (block - 1)
            buffer.copyMemory(from: buffer + (offset - start - kept), byteCount: kept)
        }
    }

    /// Opens the file again without `O_DIRECT`.
    private func fallBackToBuffered() throws {
        let reopened = open(path, O_RDWR | O_CLOEXEC | O_DSYNC)
        guard reopened >= 0 else { throw LMDBError(code: errno) }
        close(fd)
        fd = reopened
        isDirect = false
    }

    /// The next frame starts at the file's beginning (the frames written are in LMDB now).
    public func restart() { offset = 0 }

    /// Writes the 24-byte header of a frame holding `payload` at `into`.
    static func header(_ payload: [UInt8], generation: UInt64, into: UnsafeMutableRawPointer) {
        var fields: (UInt32, UInt64) = (UInt32(payload.count).littleEndian, generation.littleEndian)
        var crc: UInt32 = 0
        withUnsafeBytes(of: &fields.0) { crc = csys_crc32c(crc, $0.baseAddress, 4) }
        withUnsafeBytes(of: &fields.1) { crc = csys_crc32c(crc, $0.baseAddress, 8) }
        crc = payload.withUnsafeBytes { csys_crc32c(crc, $0.baseAddress, $0.count) }
        into.storeBytes(of: magic.littleEndian, toByteOffset: 0, as: UInt32.self)
        into.storeBytes(of: UInt32(payload.count).littleEndian, toByteOffset: 4, as: UInt32.self)
        into.storeBytes(of: generation.littleEndian, toByteOffset: 8, as: UInt64.self)
        into.storeBytes(of: crc.littleEndian, toByteOffset: 16, as: UInt32.self)
        into.storeBytes(of: UInt32(0), toByteOffset: 20, as: UInt32.self)
    }

    static func header(_ payload: [UInt8], generation: UInt64) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: headerSize) { bytes, count in
            header(payload, generation: generation, into: UnsafeMutableRawPointer(bytes.baseAddress!))
            count = headerSize
        }
    }

    /// The frames at the start of the journal in `directory`: their generation and
    /// payloads, in order. Nil when there is no journal file or its first frame is not whole.
    public static func read(directory: String) -> (generation: UInt64, payloads: [[UInt8]])? {
        let path = directory + "/" + fileName
        // Past the page cache too, where the file system allows it: a page cached by a read
        // that raced a frame's direct write could hold the block as it was before it.
        if let bytes = readAll(path, direct: true) ?? readAll(path, direct: false) { return frames(in: bytes[...]) }
        return nil
    }

    /// The whole file at `path`; nil when it cannot be opened or read (`direct`: with
    /// `O_DIRECT`, into a block-aligned buffer).
    private static func readAll(_ path: String, direct: Bool) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | (direct ? csys_o_direct() : 0))
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        let size = Int(st.st_size)
        let rounded = (size + blockSize - 1) & ~(blockSize - 1)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(rounded, blockSize), alignment: blockSize)
        defer { buffer.deallocate() }
        var got = 0
        while got < size {
            let n = pread(fd, buffer + got, rounded - got, off_t(got))
            if n < 0 && direct { return nil }
            guard n > 0 else { break }
            got += n
        }
        return Array(UnsafeRawBufferPointer(start: buffer, count: min(got, size)))
    }

    /// The frames of one generation from the start of `bytes` (a journal's content).
    static func frames(in bytes: ArraySlice<UInt8>) -> (generation: UInt64, payloads: [[UInt8]])? {
        var offset = bytes.startIndex
        var generation: UInt64?
        var payloads: [[UInt8]] = []
        func word32(_ at: Int) -> UInt32 {
            bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at - bytes.startIndex, as: UInt32.self)) }
        }
        while bytes.endIndex - offset >= headerSize, word32(offset) == magic {
            let count = Int(word32(offset + 4))
            let gen = UInt64(word32(offset + 8)) | UInt64(word32(offset + 12)) << 32
            guard count <= bytes.endIndex - offset - headerSize, generation == nil || generation == gen else { break }
            let payload = Array(bytes[(offset + headerSize)..<(offset + headerSize + count)])
            let check = header(payload, generation: gen)
            guard check[16..<20].elementsEqual(bytes[(offset + 16)..<(offset + 20)]) else { break }
            generation = gen
            payloads.append(payload)
            offset += headerSize + padded(count)
        }
        guard let generation else { return nil }
        return (generation, payloads)
    }
}
