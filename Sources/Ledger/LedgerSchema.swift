import Projections
public import Store

/// Every table of a ledger and every projection, in one place.
///
/// A ledger is two LMDB environments: the log's at the data directory (the truth: the
/// log, settings, signed tree checkpoints; every commit synced) and the projections' in
/// its `projections` subdirectory (everything folded from the log, with the
/// checkpoints saying how far; committed without sync, rebuilt when lost).
public enum LedgerSchema {
    /// Settings kept beside the log: the root token's digest, the chain's verified point.
    public static let metaSpec = TableSpec("meta")

    /// The signed tree checkpoints (size big-endian -> note): not a projection, since
    /// a signature cannot be made again for a past moment; a replay keeps them.
    public static let treeCheckpointsSpec = TableSpec("tree_checkpoints")

    /// The log environment's tables (the kept answers of idempotent requests commit with
    /// the events of their commands, so they live here).
    public static let tableSpecs: [TableSpec] =
        [EventLog.tableSpec, metaSpec, treeCheckpointsSpec] + IdempotencyStore.tableSpecs

    /// The projections environment's subdirectory of the data directory.
    public static let projectionsDirectory = "projections"
    /// The `meta` row holding the last journal generation LMDB has committed (``JournaledWriter``).
    static let journalGenerationKey = "journal-generation"

    /// The projections environment's own settings: the boot it was written under and
    /// whether it was closed cleanly (``ProjectionStore``).
    public static let projectionStateSpec = TableSpec("projection_state")

    /// The projections environment's tables.
    public static let projectionTableSpecs: [TableSpec] =
        [Checkpoints.tableSpec, projectionStateSpec]
        + KeyStateProjection.tableSpecs + AuditIndexProjection.tableSpecs + UsageProjection.tableSpecs
        + MerkleTreeProjection.tableSpecs + NotificationProjection.tableSpecs + QuotaProjection.tableSpecs

    /// Tables the log environment held in earlier layouts: every projection's (before
    /// projections had an environment of their own) and the ones those replaced. A
    /// writable open drops them; the projections are rebuilt in their own environment.
    static let retiredLogTables: [String] =
        ([Checkpoints.tableSpec] + KeyStateProjection.tableSpecs + AuditIndexProjection.tableSpecs
            + UsageProjection.tableSpecs + MerkleTreeProjection.tableSpecs).map(\.name)
        + UsageProjection.retiredTableNames + AuditIndexProjection.retiredTableNames

    /// The projections folded from the log; the key state comes first (the writer loads
    /// its decision state from it).
    static func projections(_ environment: Environment, log: Environment) -> (
        keys: KeyStateProjection, audit: AuditIndexProjection,
        usage: UsageProjection, others: [any Projection]
    ) {
        let audit = AuditIndexProjection(environment: environment)
        let usage = UsageProjection(environment: environment)
        return (
            KeyStateProjection(environment: environment), audit, usage,
            [
                audit, usage, tree(environment, log: log), NotificationProjection(environment: environment),
                QuotaProjection(environment: environment),
            ]
        )
    }

    /// The log's Merkle tree (a projection like the others; proofs and checkpoints read it).
    static func tree(_ environment: Environment, log: Environment) -> MerkleTreeProjection {
        MerkleTreeProjection(environment: environment, logEnvironment: log, log: log.table(EventLog.tableSpec.name))
    }

    static func sizeKey(_ size: UInt64) -> [UInt8] { withUnsafeBytes(of: size.bigEndian) { Array($0) } }
}
