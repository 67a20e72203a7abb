import Projections
public import Store

/// Every table of a ledger and every projection, in one place.
public enum LedgerSchema {
    /// Settings kept beside the log: the root token's digest.
    public static let metaSpec = TableSpec("meta")

    public static let tableSpecs: [TableSpec] =
        [EventLog.tableSpec, Checkpoints.tableSpec, metaSpec]
        + KeyStateProjection.tableSpecs + AuditIndexProjection.tableSpecs

    /// The projections folded from the log; the key state comes first because the
    /// writer decides against it.
    static func projections(_ environment: Environment) -> (keys: KeyStateProjection, others: [any Projection]) {
        (KeyStateProjection(environment: environment), [AuditIndexProjection(environment: environment)])
    }
}
