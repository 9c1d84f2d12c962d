//! A batch of users in one command ([`Command::UpsertHotspotUsers`], protocol 4) waiting
//! for an agent that speaks an older protocol: one sequence number cannot carry several
//! commands to it, so the batch is split in the outbox instead. Compiled once per backend
//! (see `sql/mod.rs`).
//!
//! In one transaction: one command per user is appended (new numbers, in the batch's
//! order); every later unfinished command that touches one of those users (a revocation)
//! is moved behind them, so nothing overtakes what it was enqueued after; and the batch is
//! finished, its note saying where its users went.

use jasiyo_shared::{Outcome, RouterId, Seq};

use super::{Db, This, outbox};
use crate::model::StoredCommand;
use crate::store::sql::rows::{COMMAND_COLUMNS, CommandRow};
use crate::store::sql::{Backend, to_json};
use crate::store::{Split, StoreResult};

pub(super) async fn split_command(store: &This, router: RouterId, seq: Seq, protocol: u16, now_ms: i64) -> StoreResult<Option<Split>> {
    let mut tx = store.writes().begin().await?;
    let Some(batch) = unfinished(&mut tx, router, seq, "seq = $2").await?.pop() else {
        tx.rollback().await?;
        return Ok(None);
    };
    let names: Vec<String> = batch.command.user_names().into_iter().map(str::to_string).collect();
    let later = unfinished(&mut tx, router, seq, "seq > $2").await?;
    let singles = batch.command.clone().singles();
    let mut first = None;
    for single in &singles {
        let (new, _) = outbox::enqueue_tx(&mut tx, router, single, now_ms).await?;
        first.get_or_insert(new);
    }
    let mut moved = 0;
    for command in later.iter().filter(|c| c.command.user_names().iter().any(|n| names.iter().any(|m| m == n))) {
        if outbox::move_to_end_tx(&mut tx, router, command.seq).await?.is_some() {
            moved += 1;
        }
    }
    let first = first.unwrap_or(seq);
    let note = format!(
        "split into {} single commands (from seq {}) for an agent of protocol {protocol}, which cannot take several users in one",
        singles.len(),
        first.0
    );
    sqlx::query("UPDATE commands SET state = 'applied', result = $3, finished_at = $4 WHERE router_id = $1 AND seq = $2")
        .bind(router.to_string())
        .bind(seq.as_i64())
        .bind(to_json(&Outcome::Applied { note: Some(note) }))
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(Split { first, count: singles.len(), moved }))
}

/// The router's unfinished commands matching `seq_filter` (on `$2`), in order.
async fn unfinished(tx: &mut sqlx::Transaction<'_, Db>, router: RouterId, seq: Seq, seq_filter: &str) -> StoreResult<Vec<StoredCommand>> {
    let sql = format!("SELECT {COMMAND_COLUMNS} FROM commands WHERE router_id = $1 AND finished_at IS NULL AND {seq_filter} ORDER BY seq");
    let rows: Vec<CommandRow> = sqlx::query_as(&sql).bind(router.to_string()).bind(seq.as_i64()).fetch_all(&mut **tx).await?;
    rows.into_iter().map(StoredCommand::try_from).collect()
}
