//! What agents report doing on their own (expiries, drift repairs), each stored once.
//! Compiled once per backend (see `sql/mod.rs`).

use jasiyo_shared::{AgentEvent, Report, RouterId};

use super::This;
use crate::model::RouterEvent;
use crate::store::StoreResult;
use crate::store::sql::rows::{EVENT_COLUMNS, EventRow};
use crate::store::sql::{Backend, to_json};

pub(super) async fn record_report(store: &This, router: RouterId, report: &Report, now_ms: i64) -> StoreResult<bool> {
    let kind = match &report.event {
        AgentEvent::UserExpired { .. } => "user_expired",
        AgentEvent::Drift { .. } => "drift",
    };
    let done = sqlx::query(
        "INSERT INTO router_events (router_id, report_id, happened_at, received_at, kind, detail) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (router_id, report_id) DO NOTHING",
    )
    .bind(router.to_string())
    .bind(report.id as i64)
    .bind(report.at.0)
    .bind(now_ms)
    .bind(kind)
    .bind(to_json(&report.event))
    .execute(store.writes())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn list_events(store: &This, router: RouterId, limit: u32) -> StoreResult<Vec<RouterEvent>> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM router_events WHERE router_id = $1 ORDER BY happened_at DESC, report_id DESC LIMIT $2");
    let rows: Vec<EventRow> = sqlx::query_as(&sql).bind(router.to_string()).bind(i64::from(limit)).fetch_all(store.reads()).await?;
    rows.into_iter().map(RouterEvent::try_from).collect()
}
