import Projections
public import Store

/// Every table of a ledger and every projection, in one place.
public enum LedgerSchema {
    /// Settings kept beside the log: the root token's digest.
    public static let metaSpec = TableSpec("meta")

    /// The signed tree checkpoints (size big-endian -> note): not a projection, since
    /// a signature cannot be made again for a past moment; a replay keeps them.
    public static let treeCheckpointsSpec = TableSpec("tree_checkpoints")

    public static let tableSpecs: [TableSpec] =
        [EventLog.tableSpec, Checkpoints.tableSpec, metaSpec, treeCheckpointsSpec]
        + KeyStateProjection.tableSpecs + AuditIndexProjection.tableSpecs + UsageProjection.tableSpecs
        + MerkleTreeProjection.tableSpecs + NotificationProjection.tableSpecs

    /// Tables of earlier layouts, with the projection that replaced them: a writable open
    /// drops them and rebuilds that projection.
    static let retiredTables = [
        (names: UsageProjection.retiredTableNames, projection: "usage"),
        (names: AuditIndexProjection.retiredTableNames, projection: "audit"),
    ]

    /// The projections folded from the log; the key state comes first because the
    /// writer decides against it.
    static func projections(_ environment: Environment) -> (
        keys: KeyStateProjection, audit: AuditIndexProjection,
        usage: UsageProjection, others: [any Projection]
    ) {
        let audit = AuditIndexProjection(environment: environment)
        let usage = UsageProjection(environment: environment)
        return (KeyStateProjection(environment: environment), audit, usage, [audit, usage, tree(environment), NotificationProjection(environment: environment)])
    }

    /// The log's Merkle tree (a projection like the others; proofs and checkpoints read it).
    static func tree(_ environment: Environment) -> MerkleTreeProjection {
        MerkleTreeProjection(environment: environment, log: environment.table(EventLog.tableSpec.name))
    }

    static func sizeKey(_ size: UInt64) -> [UInt8] { withUnsafeBytes(of: size.bigEndian) { Array($0) } }
}
