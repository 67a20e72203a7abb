internal import CLMDB

/// An error returned by LMDB, carrying its return code and LMDB's own text for it.
///
/// The code is either one of LMDB's `MDB_*` codes or an `errno` value (LMDB passes
/// system errors through); `message` comes from `mdb_strerror`, which knows both.
public struct LMDBError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The raw return code of the failing LMDB call.
    public let code: Int32
    /// What LMDB says about the code (`mdb_strerror`).
    public var message: String { String(cString: mdb_strerror(code)) }

    public init(code: Int32) { self.code = code }

    /// The map (the configured size of the data file) is full.
    public static let mapFull = LMDBError(code: MDB_MAP_FULL)
    /// The read-only data file is missing, or another process grew the map.
    public static let mapResized = LMDBError(code: MDB_MAP_RESIZED)
    /// `MDB_APPEND` was asked with a key not above the last one, or a key exists
    /// under `MDB_NOOVERWRITE`.
    public static let keyExists = LMDBError(code: MDB_KEYEXIST)

    /// A commit found no room on the data directory's device (`ENOSPC`; a short write
    /// that LMDB reports as `EIO` on a full device is reported as this too, see
    /// ``Environment/write(_:)``).
    public static let noSpace = LMDBError(code: 28 /* ENOSPC */)

    /// What happened and what to do, for the failures an operator can fix; LMDB's own
    /// text for the rest.
    public var description: String {
        switch code {
        case 28 /* ENOSPC */:
            "no space left on the data directory's device: free space or move the ledger; nothing was changed"
        case 122 /* EDQUOT */:
            "the disk quota of the data directory is used up: raise it or free space; nothing was changed"
        case 30 /* EROFS */:
            "the data directory's filesystem is read-only: remount it writable; nothing was changed"
        case MDB_MAP_FULL:
            "the ledger's map size is used up and could not grow: free memory or address space; nothing was changed"
        default: "LMDB error \(code): \(message)"
        }
    }

    /// Turns an LMDB return code into a thrown error.
    @inline(__always)
    static func check(_ rc: Int32) throws(LMDBError) {
        if rc != 0 { throw LMDBError(code: rc) }
    }
}
