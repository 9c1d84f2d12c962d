//! Each router's outbox: enqueueing with the router's next sequence number, delivery and
//! receipt marks, results recorded once. Compiled once per backend (see `sql/mod.rs`).

use std::collections::BTreeSet;

use jasiyo_shared::{Command, CommandId, Outcome, RouterId, Seq};
use sqlx::Transaction;

use super::{Db, This};
use crate::model::{CommandState, ResultRecorded, StoredCommand};
use crate::store::sql::rows::{COMMAND_COLUMNS, CommandRow, parse_state};
use crate::store::sql::{Backend, push_list, to_json};
use crate::store::{StoreError, StoreResult};

/// Appends a command to the router's outbox inside `tx` (so it commits, or not, with
/// whatever else the transaction does).
pub(super) async fn enqueue_tx(
    tx: &mut Transaction<'_, Db>,
    router: RouterId,
    command: &Command,
    now_ms: i64,
) -> StoreResult<(Seq, CommandId)> {
    let id = CommandId::new();
    let seq = This::append_command(tx, router, id, command.kind(), &to_json(command), now_ms).await?;
    let seq = seq.ok_or_else(|| StoreError::NotFound(format!("router {router}")))?;
    Ok((Seq(seq as u64), id))
}

pub(super) async fn enqueue_command(store: &This, router: RouterId, command: &Command, now_ms: i64) -> StoreResult<StoredCommand> {
    let mut tx = store.writes().begin().await?;
    let (seq, id) = enqueue_tx(&mut tx, router, command, now_ms).await?;
    tx.commit().await?;
    Ok(StoredCommand {
        router_id: router,
        seq,
        id,
        command: command.clone(),
        state: CommandState::Queued,
        created_at: now_ms,
        delivered_at: None,
        received_at: None,
        finished_at: None,
        outcome: None,
    })
}

pub(super) async fn open_commands(store: &This, router: RouterId, after: Option<Seq>, limit: u32) -> StoreResult<Vec<StoredCommand>> {
    let sql =
        format!("SELECT {COMMAND_COLUMNS} FROM commands WHERE router_id = $1 AND finished_at IS NULL AND seq > $2 ORDER BY seq LIMIT $3");
    let rows: Vec<CommandRow> = sqlx::query_as(&sql)
        .bind(router.to_string())
        .bind(after.map_or(0, |s| s.as_i64()))
        .bind(i64::from(limit))
        .fetch_all(store.reads())
        .await?;
    rows.into_iter().map(StoredCommand::try_from).collect()
}

pub(super) async fn mark_delivered(store: &This, router: RouterId, seqs: &[Seq], now_ms: i64) -> StoreResult<()> {
    if seqs.is_empty() {
        return Ok(());
    }
    let mut query = sqlx::QueryBuilder::<Db>::new(
        "UPDATE commands SET state = CASE WHEN state = 'queued' THEN 'delivered' ELSE state END, delivered_at = ",
    );
    query.push_bind(now_ms).push(" WHERE finished_at IS NULL AND router_id = ");
    query.push_bind(router.to_string()).push(" AND seq IN ");
    push_list(&mut query, seqs.iter().map(|s| s.as_i64()));
    query.build().execute(store.writes()).await?;
    Ok(())
}

pub(super) async fn mark_received(store: &This, router: RouterId, seqs: &[Seq], now_ms: i64) -> StoreResult<()> {
    if seqs.is_empty() {
        return Ok(());
    }
    let mut query = sqlx::QueryBuilder::<Db>::new("UPDATE commands SET state = 'received', received_at = ");
    query.push_bind(now_ms).push(" WHERE router_id = ");
    query.push_bind(router.to_string()).push(" AND state IN ('queued', 'delivered') AND seq IN ");
    push_list(&mut query, seqs.iter().map(|s| s.as_i64()));
    query.build().execute(store.writes()).await?;
    Ok(())
}

pub(super) async fn record_results(
    store: &This,
    router: RouterId,
    results: &[(Seq, &Outcome)],
    now_ms: i64,
) -> StoreResult<Vec<ResultRecorded>> {
    // A result repeated within the batch is a duplicate of the first.
    let mut first = BTreeSet::new();
    let fresh: Vec<_> = results.iter().filter(|(seq, _)| first.insert(*seq)).collect();
    if fresh.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = sqlx::QueryBuilder::<Db>::new("WITH v(seq, state, result) AS (");
    query.push_values(&fresh, |mut row, (seq, outcome)| {
        let state = match outcome {
            Outcome::Applied { .. } => CommandState::Applied,
            Outcome::Failed { .. } => CommandState::Failed,
        };
        row.push_bind(seq.as_i64()).push_bind(state.as_str()).push_bind(to_json(outcome));
    });
    query.push(") UPDATE commands SET state = v.state, result = v.result, finished_at = ");
    query.push_bind(now_ms).push(", received_at = COALESCE(received_at, ");
    query.push_bind(now_ms).push(") FROM v WHERE commands.router_id = ");
    query.push_bind(router.to_string()).push(" AND commands.seq = v.seq AND commands.finished_at IS NULL RETURNING commands.seq");
    let recorded: BTreeSet<i64> = query.build_query_scalar::<i64>().fetch_all(store.writes()).await?.into_iter().collect();
    // Only when something was not recorded: was it known at all?
    let mut known = BTreeSet::new();
    if recorded.len() < fresh.len() {
        let mut query = sqlx::QueryBuilder::<Db>::new("SELECT seq FROM commands WHERE router_id = ");
        query.push_bind(router.to_string()).push(" AND seq IN ");
        push_list(&mut query, fresh.iter().map(|(seq, _)| seq.as_i64()));
        known = query.build_query_scalar::<i64>().fetch_all(store.reads()).await?.into_iter().collect();
    }
    let mut seen = BTreeSet::new();
    Ok(results
        .iter()
        .map(|(seq, _)| {
            let s = seq.as_i64();
            if seen.insert(s) && recorded.contains(&s) {
                ResultRecorded::New
            } else if recorded.contains(&s) || known.contains(&s) {
                ResultRecorded::Duplicate
            } else {
                ResultRecorded::UnknownCommand
            }
        })
        .collect())
}

pub(super) async fn command_state(store: &This, router: RouterId, seq: Seq) -> StoreResult<Option<CommandState>> {
    let state: Option<String> = sqlx::query_scalar("SELECT state FROM commands WHERE router_id = $1 AND seq = $2")
        .bind(router.to_string())
        .bind(seq.as_i64())
        .fetch_optional(store.reads())
        .await?;
    state.map(|s| parse_state(&s)).transpose()
}

pub(super) async fn list_commands(store: &This, router: RouterId, limit: u32) -> StoreResult<Vec<StoredCommand>> {
    let sql = format!("SELECT {COMMAND_COLUMNS} FROM commands WHERE router_id = $1 ORDER BY seq DESC LIMIT $2");
    let rows: Vec<CommandRow> = sqlx::query_as(&sql).bind(router.to_string()).bind(i64::from(limit)).fetch_all(store.reads()).await?;
    rows.into_iter().map(StoredCommand::try_from).collect()
}

pub(super) async fn renumber_command(store: &This, router: RouterId, seq: Seq) -> StoreResult<Option<Seq>> {
    let mut tx = store.writes().begin().await?;
    let moved = move_to_end_tx(&mut tx, router, seq).await?;
    if moved.is_none() {
        tx.rollback().await?;
        return Ok(None);
    }
    tx.commit().await?;
    Ok(moved)
}

/// Gives the unfinished command numbered `seq` the router's next number inside `tx`, as
/// if it had just been enqueued (queued again, for delivery in its new place). `None`: no
/// such unfinished command.
pub(super) async fn move_to_end_tx(tx: &mut Transaction<'_, Db>, router: RouterId, seq: Seq) -> StoreResult<Option<Seq>> {
    let next: Option<i64> = sqlx::query_scalar("UPDATE routers SET next_seq = next_seq + 1 WHERE id = $1 RETURNING next_seq")
        .bind(router.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    let Some(next) = next else { return Ok(None) };
    let moved = sqlx::query(
        "UPDATE commands SET seq = $3, state = 'queued', delivered_at = NULL, received_at = NULL \
         WHERE router_id = $1 AND seq = $2 AND finished_at IS NULL",
    )
    .bind(router.to_string())
    .bind(seq.as_i64())
    .bind(next)
    .execute(&mut **tx)
    .await?;
    if moved.rows_affected() == 0 {
        return Ok(None);
    }
    // What a paid customer's entitlement points at moves with it.
    for column in ["command_seq", "login_seq"] {
        sqlx::query(&format!("UPDATE entitlements SET {column} = $3 WHERE router_id = $1 AND {column} = $2"))
            .bind(router.to_string())
            .bind(seq.as_i64())
            .bind(next)
            .execute(&mut **tx)
            .await?;
    }
    Ok(Some(Seq(next as u64)))
}
