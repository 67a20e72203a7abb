internal import CSystem
internal import Glibc

/// The journal of a ``JournaledWriter``: a file of fixed size (`journal` in the data
/// directory), written with zeros when it is made, into which each batch's writes
/// (``RedoLog``) are appended as one frame with one durable write (`O_DSYNC`).
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

    let fd: Int32
    /// The file's size in bytes.
    public let capacity: Int
    /// Where the next frame goes.
    private(set) var offset = 0
    private var frame: [UInt8] = []

    /// Opens the journal in `directory`, making it (`capacity` bytes of zeros, synced,
    /// and the directory synced) when it is missing or of another size.
    public init(directory: String, capacity: Int) throws {
        let path = directory + "/" + Self.fileName
        var st = stat()
        let exists = stat(path, &st) == 0 && Int(st.st_size) == capacity
        let flags = O_RDWR | O_CREAT | O_CLOEXEC | O_DSYNC
        let fd = open(path, flags, 0o600)
        guard fd >= 0 else { throw LMDBError(code: errno) }
        if !exists {
            // Zeros written, not allocated: each later frame's write overwrites blocks
            // the file already has, so its sync writes no metadata.
            let chunk = [UInt8](repeating: 0, count: 1 << 20)
            var written = 0
            while written < capacity {
                let n = chunk.withUnsafeBytes { pwrite(fd, $0.baseAddress, min(chunk.count, capacity - written), off_t(written)) }
                guard n > 0 else {
                    let code = errno
                    close(fd)
                    unlink(path)
                    throw LMDBError(code: code)
                }
                written += n
            }
            guard ftruncate(fd, off_t(capacity)) == 0, fsync(fd) == 0 else {
                let code = errno
                close(fd)
                throw LMDBError(code: code)
            }
            let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dir >= 0 {
                _ = fsync(dir)
                close(dir)
            }
        }
        self.fd = fd
        self.capacity = capacity
        frame.reserveCapacity(1 << 16)
    }

    deinit { close(fd) }

    static func padded(_ count: Int) -> Int { (count + 7) & ~7 }

    /// Whether a frame of `count` payload bytes fits after the frames written.
    public func fits(_ count: Int) -> Bool { offset + Self.headerSize + Self.padded(count) <= capacity }

    /// Writes `payload` as the next frame of `generation`; durable when this returns.
    ///
    /// - Throws: ``LMDBError`` with the `errno` of a failed write; the frame does not
    ///   count then (its header is overwritten with zeros when that still works).
    public func append(_ payload: [UInt8], generation: UInt64) throws {
        precondition(fits(payload.count), "a frame past the journal's end")
        frame.removeAll(keepingCapacity: true)
        Self.header(payload, generation: generation, into: &frame)
        frame.append(contentsOf: payload)
        let total = Self.headerSize + Self.padded(payload.count)
        frame.append(contentsOf: repeatElement(0, count: total - frame.count))
        let n = frame.withUnsafeBytes { pwrite(fd, $0.baseAddress, total, off_t(offset)) }
        guard n == total else {
            let code = n < 0 ? errno : EIO
            let zeros = [UInt8](repeating: 0, count: Self.headerSize)
            _ = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, Self.headerSize, off_t(offset)) }
            throw LMDBError(code: code)
        }
        offset += total
    }

    /// The next frame starts at the file's beginning (the frames written are in LMDB now).
    public func restart() { offset = 0 }

    static func header(_ payload: [UInt8], generation: UInt64, into bytes: inout [UInt8]) {
        var fields: (UInt32, UInt64) = (UInt32(payload.count).littleEndian, generation.littleEndian)
        var crc: UInt32 = 0
        withUnsafeBytes(of: &fields.0) { crc = csys_crc32c(crc, $0.baseAddress, 4) }
        withUnsafeBytes(of: &fields.1) { crc = csys_crc32c(crc, $0.baseAddress, 8) }
        crc = payload.withUnsafeBytes { csys_crc32c(crc, $0.baseAddress, $0.count) }
        for word in [magic, UInt32(payload.count)] { withUnsafeBytes(of: word.littleEndian) { bytes.append(contentsOf: $0) } }
        withUnsafeBytes(of: generation.littleEndian) { bytes.append(contentsOf: $0) }
        for word in [crc, 0] { withUnsafeBytes(of: word.littleEndian) { bytes.append(contentsOf: $0) } }
    }

    /// The frames at the start of the journal in `directory`: their generation and
    /// payloads, in order. Nil when there is no journal file or its first frame is not whole.
    public static func read(directory: String) -> (generation: UInt64, payloads: [[UInt8]])? {
        let fd = open(directory + "/" + fileName, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        let size = Int(st.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var got = 0
        while got < size {
            let n = bytes.withUnsafeMutableBytes { buffer in
                buffer.baseAddress.map { pread(fd, $0 + got, size - got, off_t(got)) } ?? 0
            }
            guard n > 0 else { break }
            got += n
        }
        return frames(in: bytes[..<got])
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
            var check: [UInt8] = []
            header(payload, generation: gen, into: &check)
            guard check[16..<20].elementsEqual(bytes[(offset + 16)..<(offset + 20)]) else { break }
            generation = gen
            payloads.append(payload)
            offset += headerSize + padded(count)
        }
        guard let generation else { return nil }
        return (generation, payloads)
    }
}
