internal import CLMDB
internal import CSystem
internal import Glibc

/// Keeps the data file written with zeros some way past the pages LMDB uses.
///
/// LMDB grows its file by writing pages past the end. A commit's sync then also
/// allocates those blocks and writes the inode's new size: on ext4 that is about 40%
/// more CPU and twice the time of a sync that only overwrites blocks already written
/// (measured from C on this file system: 95 us CPU and 0.25 ms per commit of 14 log
/// records, against 60 us and 0.14 ms). So the writer, between two batches, calls
/// ``zeroFillAhead()``: when fewer than `lowWater` bytes are left between the pages in
/// use and the end of the file, it writes one chunk of zeros at the end, around the page
/// cache (`O_DIRECT`, so the chunk leaves nothing dirty for the next commit's sync to
/// wait on), holding the write lock, so no transaction writes there meanwhile. A chunk is
/// 1 MB: about 0.7 ms of the writer's time here (4 MB: 2.3 ms, a stall a p99 would see).
/// LMDB ignores the bytes past its last page; a copy or a compaction leaves them out.
/// It fills only while the device keeps `minimumFree` bytes (1 GiB) free after the chunk:
/// on a nearly full device the space stays for the projections and the deliveries.
public final class ZeroFill: @unchecked Sendable {
    // Safe to share: used by the single writer thread only (between its transactions).
    private let environment: Environment
    private let chunk: Int
    private let lowWater: Int
    private let minimumFree: Int
    /// Calls left before the device's free space is looked at again, after it was short.
    private var skipCalls = 0
    private var fd: Int32 = -1
    private var buffer: UnsafeMutableRawPointer?
    /// The file's size as last seen (the file only grows).
    private var knownEnd = 0
    /// Set when the file cannot be zero-filled (no `O_DIRECT`, a full disk): LMDB grows
    /// it as it always does.
    public private(set) var disabled = false

    public init(_ environment: Environment, chunk: Int = 1 << 20, lowWater: Int = 32 << 20, minimumFree: Int = 1 << 30) {
        self.environment = environment
        self.chunk = chunk
        self.lowWater = lowWater
        self.minimumFree = minimumFree
    }

    deinit {
        if fd >= 0 { close(fd) }
        buffer?.deallocate()
    }

    /// Bytes of the data file in use by LMDB (up to its last page).
    private func usedBytes() -> Int {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        guard mdb_env_info(environment.env, &info) == 0, mdb_env_stat(environment.env, &stat) == 0 else { return 0 }
        return (Int(info.me_last_pgno) + 1) * Int(stat.ms_psize)
    }

    /// Writes at most one chunk of zeros when the file's zeroed tail is short. Cheap
    /// when it is not (no system call). Errors turn zero-filling off; they never fail a
    /// write, which grows the file as LMDB always does.
    public func zeroFillAhead() {
        guard !disabled, usedBytes() + lowWater > knownEnd else { return }
        if skipCalls > 0 {
            skipCalls -= 1
            return
        }
        var device = statvfs()
        guard statvfs(environment.path, &device) == 0,
            Int(device.f_bavail) * Int(device.f_frsize) >= minimumFree + chunk
        else {
            skipCalls = 1024
            return
        }
        do {
            try environment.writeDeferringMetaSync { _ in try fillOnce() }
        } catch {
            disabled = true
        }
    }

    /// Holding the write lock: no transaction writes pages meanwhile, and every page a
    /// later one writes past the file's end lands after this chunk or inside it.
    private func fillOnce() throws {
        if fd < 0 {
            fd = csys_open_direct_write(environment.path + "/data.mdb")
            guard fd >= 0 else { throw LMDBError(code: errno) }
            let memory = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
            memory.initializeMemory(as: UInt8.self, repeating: 0, count: chunk)
            buffer = memory
        }
        var status = Glibc.stat()
        guard fstat(fd, &status) == 0 else { throw LMDBError(code: errno) }
        knownEnd = Int(status.st_size)
        guard usedBytes() + lowWater > knownEnd else { return }
        // O_DIRECT wants the offset aligned; LMDB's file is whole pages, this rounds up.
        let offset = (knownEnd + 4095) & ~4095
        var written = 0
        while written < chunk {
            let n = pwrite(fd, buffer! + written, chunk - written, off_t(offset + written))
            guard n > 0 else { throw LMDBError(code: n < 0 ? errno : EIO) }
            written += n
        }
        knownEnd = offset + chunk
    }
}
