internal import CLMDB

/// A named LMDB database ("table") inside an ``Environment``.
///
/// A table handle is a small integer, valid for the lifetime of the environment that
/// opened it and usable from any thread and any transaction of that environment.
public struct Table: Sendable, Hashable, CustomStringConvertible {
    /// The table's name, as given to ``Environment/init(path:tables:options:)``.
    public let name: String
    let dbi: MDB_dbi

    public var description: String { name }
}

/// How a table is created.
public struct TableSpec: Sendable, Hashable {
    public let name: String

    public init(_ name: String) { self.name = name }
}
