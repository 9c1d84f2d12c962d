//! Agent sessions starting, recorded many at a time: the hub gathers the hellos that
//! arrive while a write is under way (a restarted cloud's whole fleet comes back within
//! seconds) and records them in one transaction, two statements for all of them, rather
//! than several round trips each. Compiled once per backend (see `sql/mod.rs`).

use std::collections::{HashMap, HashSet};

use super::{Db, This};
use crate::store::sql::Backend;
use crate::store::{Connect, Connected, StoreResult};

/// Rows per statement: 5 parameters each, well under both databases' limits.
const CHUNK: usize = 512;

pub(super) async fn routers_connected(store: &This, connects: &[Connect]) -> StoreResult<Vec<Connected>> {
    let mut tx = store.writes().begin().await?;
    let mut moved = HashSet::new();
    let mut recorded = HashMap::new();
    for chunk in connects.chunks(CHUNK) {
        moved.extend(move_counters(&mut tx, chunk).await?);
        recorded.extend(record_sessions(&mut tx, chunk).await?);
    }
    tx.commit().await?;
    Ok(connects
        .iter()
        .map(|connect| {
            let id = connect.router.to_string();
            let pending = recorded.get(&id).copied();
            Connected { recorded: pending.is_some(), pending: pending.unwrap_or(false), seq_moved: moved.contains(&id) }
        })
        .collect())
}

/// Moves each router's sequence counter past its agent's journal where it is behind (see
/// `hub/rollback.rs`); returns the ids of those moved.
async fn move_counters(tx: &mut sqlx::Transaction<'_, Db>, connects: &[Connect]) -> StoreResult<Vec<String>> {
    let highs: Vec<_> = connects.iter().filter_map(|c| c.journal_high.map(|high| (c.router.to_string(), high.as_i64()))).collect();
    if highs.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = sqlx::QueryBuilder::<Db>::new("WITH v(rid, high) AS (VALUES ");
    let mut rows = query.separated(", ");
    for (id, high) in highs {
        rows.push("(").push_bind_unseparated(id).push_unseparated(", ").push_bind_unseparated(high).push_unseparated(")");
    }
    query.push(") UPDATE routers SET next_seq = v.high FROM v WHERE routers.id = v.rid AND routers.next_seq < v.high RETURNING id");
    Ok(query.build_query_scalar().fetch_all(&mut **tx).await?)
}

/// Names each session as its router's link where the token it was opened with is still
/// the router's and unrevoked; returns, for each router recorded, whether it has commands
/// without a result (its outbox is worth reading).
async fn record_sessions(tx: &mut sqlx::Transaction<'_, Db>, connects: &[Connect]) -> StoreResult<Vec<(String, bool)>> {
    let mut query = sqlx::QueryBuilder::<Db>::new("WITH v(rid, session, version, seen, token) AS (VALUES ");
    let mut rows = query.separated(", ");
    for c in connects {
        rows.push("(").push_bind_unseparated(c.router.to_string());
        rows.push_unseparated(", ").push_bind_unseparated(c.session.to_string());
        rows.push_unseparated(", ").push_bind_unseparated(c.agent_version.clone());
        rows.push_unseparated(", ").push_bind_unseparated(c.now_ms);
        rows.push_unseparated(", ").push_bind_unseparated(c.token_hash.clone()).push_unseparated(")");
    }
    query.push(
        ") UPDATE routers SET online_session = v.session, agent_version = v.version, last_seen_at = v.seen, connected_at = v.seen \
         FROM v WHERE routers.id = v.rid AND routers.token_hash = v.token AND routers.revoked_at IS NULL \
         RETURNING id, EXISTS (SELECT 1 FROM commands WHERE commands.router_id = routers.id AND commands.finished_at IS NULL) AS pending",
    );
    Ok(query.build_query_as().fetch_all(&mut **tx).await?)
}
