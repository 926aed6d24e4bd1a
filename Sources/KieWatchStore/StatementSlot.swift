/// The statements on the writer's hot paths (one per recorded row, or per batch), each
/// prepared once per connection and kept in its own slot of an array: an index instead of
/// hashing the SQL text per row (`Database.statement(_:)`).
///
/// Every slot is a case of this one enum, so the compiler numbers them and two can never
/// share an index (a shared index would hand one statement's caller the other's SQL).
package enum StatementSlot: Int, CaseIterable, Sendable {
    case insertCall
    case insertWebhook
    case insertRecovery
    case selectTask
    case upsertTask
    case begin
    case commit
    case rollback
    case savepoint
    case release
    case rollbackToSavepoint

    package var sql: String {
        switch self {
        case .insertCall: RecordSQL.insertCall
        case .insertWebhook: RecordSQL.insertWebhook
        case .insertRecovery: RecordSQL.insertRecovery
        case .selectTask: RecordSQL.selectTask
        case .upsertTask: RecordSQL.upsertTask
        // The writer's transaction statements.
        case .begin: "BEGIN IMMEDIATE"
        case .commit: "COMMIT"
        case .rollback: "ROLLBACK"
        case .savepoint: "SAVEPOINT kw_job"
        case .release: "RELEASE kw_job"
        case .rollbackToSavepoint: "ROLLBACK TO kw_job"
        }
    }
}
