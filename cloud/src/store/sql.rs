//! The SQL both backends share.
//!
//! SQLite and PostgreSQL accept the same statements here (`$N` parameters, `RETURNING`,
//! text ids, integer millisecond times), so the queries are written once in a macro and
//! compiled for each backend's pool type. sqlx's generic `Database` bounds would express
//! the same thing at the cost of a page of trait bounds per function. What really differs
//! (connection set-up, migrations, how other processes' enqueues are noticed) lives in
//! `sqlite.rs` and `postgres.rs`, each of which provides `after_enqueue` (called inside
//! the enqueue transaction) and `spawn_outbox_watcher`.

use jasiyo_shared::{Command, Outcome, RouterStatus};

use super::{CommandState, StoreError, StoreResult};

/// The routers columns, in the order `router_from_row` reads them.
pub(super) const ROUTER_COLUMNS: &str = "id, tenant_id, name, token_hash, created_at, revoked_at, online_session, \
     last_seen_at, agent_version, status_json, status_at";

/// The commands columns, in the order `command_from_row` reads them.
pub(super) const COMMAND_COLUMNS: &str =
    "router_id, seq, id, payload, state, created_at, delivered_at, received_at, finished_at, result";

pub(super) fn parse_uuid(field: &str, value: &str) -> StoreResult<uuid::Uuid> {
    uuid::Uuid::parse_str(value).map_err(|e| StoreError::Corrupt(format!("{field} {value:?}: {e}")))
}

pub(super) fn command_json(command: &Command) -> String {
    serde_json::to_string(command).expect("commands always serialise")
}

pub(super) fn parse_command(payload: &str) -> StoreResult<Command> {
    serde_json::from_str(payload).map_err(|e| StoreError::Corrupt(format!("command payload: {e}")))
}

pub(super) fn outcome_json(outcome: &Outcome) -> String {
    serde_json::to_string(outcome).expect("outcomes always serialise")
}

pub(super) fn parse_outcome(text: &str) -> StoreResult<Outcome> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("command result: {e}")))
}

pub(super) fn status_json(status: &RouterStatus) -> String {
    serde_json::to_string(status).expect("statuses always serialise")
}

pub(super) fn parse_status(text: &str) -> StoreResult<RouterStatus> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("router status: {e}")))
}

pub(super) fn parse_state(text: &str) -> StoreResult<CommandState> {
    CommandState::parse(text).ok_or_else(|| StoreError::Corrupt(format!("command state {text:?}")))
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`].
pub(super) fn conflict_or(err: sqlx::Error, what: impl Into<String>) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.into()),
        _ => StoreError::Database(err),
    }
}

/// Appends `(a, b, c)` with each sequence number bound, for an `IN` list.
pub(super) fn push_seqs<'a, DB: sqlx::Database>(query: &mut sqlx::QueryBuilder<'a, DB>, seqs: impl IntoIterator<Item = i64>)
where
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    query.push("(");
    let mut list = query.separated(", ");
    for seq in seqs {
        list.push_bind(seq);
    }
    list.push_unseparated(")");
}

/// Implements [`super::Store`] for `$store`, whose field `pool` is a `sqlx::Pool<$db>`.
macro_rules! impl_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Appends a command to the router's outbox inside `tx` (so it commits, or not,
            /// with whatever else the transaction does).
            pub(crate) async fn enqueue_tx(
                tx: &mut sqlx::Transaction<'_, $db>,
                router: jasiyo_shared::RouterId,
                command: &jasiyo_shared::Command,
                now_ms: i64,
            ) -> $crate::store::StoreResult<(jasiyo_shared::Seq, jasiyo_shared::CommandId)> {
                let id = jasiyo_shared::CommandId::new();
                let payload = $crate::store::sql::command_json(command);
                let seq = Self::append_command(tx, router, id, command.kind(), &payload, now_ms).await?;
                let seq = seq.ok_or_else(|| $crate::store::StoreError::NotFound(format!("router {router}")))?;
                Ok((jasiyo_shared::Seq(seq as u64), id))
            }

            fn router_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::store::Router> {
                use sqlx::Row;
                use $crate::store::sql::*;
                let id: String = row.try_get(0)?;
                let tenant: String = row.try_get(1)?;
                let session: Option<String> = row.try_get(6)?;
                let status: Option<String> = row.try_get(9)?;
                Ok($crate::store::Router {
                    id: parse_uuid("router id", &id)?.into(),
                    tenant_id: $crate::store::TenantId(parse_uuid("tenant id", &tenant)?),
                    name: row.try_get(2)?,
                    token_hash: row.try_get(3)?,
                    created_at: row.try_get(4)?,
                    revoked_at: row.try_get(5)?,
                    online_session: session.map(|s| parse_uuid("session", &s)).transpose()?,
                    last_seen_at: row.try_get(7)?,
                    agent_version: row.try_get(8)?,
                    status: status.map(|s| parse_status(&s)).transpose()?,
                    status_at: row.try_get(10)?,
                })
            }

            fn command_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::store::StoredCommand> {
                use sqlx::Row;
                use $crate::store::sql::*;
                let router: String = row.try_get(0)?;
                let id: String = row.try_get(2)?;
                let payload: String = row.try_get(3)?;
                let state: String = row.try_get(4)?;
                let result: Option<String> = row.try_get(9)?;
                Ok($crate::store::StoredCommand {
                    router_id: parse_uuid("router id", &router)?.into(),
                    seq: jasiyo_shared::Seq(row.try_get::<i64, _>(1)? as u64),
                    id: parse_uuid("command id", &id)?.into(),
                    command: parse_command(&payload)?,
                    state: parse_state(&state)?,
                    created_at: row.try_get(5)?,
                    delivered_at: row.try_get(6)?,
                    received_at: row.try_get(7)?,
                    finished_at: row.try_get(8)?,
                    outcome: result.map(|r| parse_outcome(&r)).transpose()?,
                })
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            async fn create_tenant(&self, name: &str, now_ms: i64) -> $crate::store::StoreResult<$crate::store::Tenant> {
                let id = uuid::Uuid::new_v4();
                sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
                    .bind(id.to_string())
                    .bind(name)
                    .bind(now_ms)
                    .execute(self.writer())
                    .await
                    .map_err(|e| $crate::store::sql::conflict_or(e, format!("tenant {name:?}")))?;
                Ok($crate::store::Tenant { id: $crate::store::TenantId(id), name: name.to_string(), created_at: now_ms })
            }

            async fn find_tenant(&self, id_or_name: &str) -> $crate::store::StoreResult<Option<$crate::store::Tenant>> {
                use sqlx::Row;
                let row = sqlx::query("SELECT id, name, created_at FROM tenants WHERE id = $1 OR name = $1")
                    .bind(id_or_name)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|row| {
                    let id: String = row.try_get(0)?;
                    Ok($crate::store::Tenant {
                        id: $crate::store::TenantId($crate::store::sql::parse_uuid("tenant id", &id)?),
                        name: row.try_get(1)?,
                        created_at: row.try_get(2)?,
                    })
                })
                .transpose()
            }

            async fn create_router(
                &self,
                tenant: $crate::store::TenantId,
                name: &str,
                token_hash: &str,
                now_ms: i64,
            ) -> $crate::store::StoreResult<$crate::store::Router> {
                let id = jasiyo_shared::RouterId::new();
                sqlx::query("INSERT INTO routers (id, tenant_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(id.to_string())
                    .bind(tenant.to_string())
                    .bind(name)
                    .bind(token_hash)
                    .bind(now_ms)
                    .execute(self.writer())
                    .await
                    .map_err(|e| $crate::store::sql::conflict_or(e, format!("router {name:?}")))?;
                self.router(id).await?.ok_or_else(|| $crate::store::StoreError::NotFound(format!("router {id}")))
            }

            async fn router(&self, id: jasiyo_shared::RouterId) -> $crate::store::StoreResult<Option<$crate::store::Router>> {
                let sql = format!("SELECT {} FROM routers WHERE id = $1", $crate::store::sql::ROUTER_COLUMNS);
                let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::router_from_row).transpose()
            }

            async fn list_routers(
                &self,
                tenant: Option<$crate::store::TenantId>,
            ) -> $crate::store::StoreResult<Vec<$crate::store::Router>> {
                let sql = format!(
                    "SELECT {} FROM routers WHERE $1 IS NULL OR tenant_id = $1 ORDER BY name, id",
                    $crate::store::sql::ROUTER_COLUMNS
                );
                let rows = sqlx::query(&sql).bind(tenant.map(|t| t.to_string())).fetch_all(&self.pool).await?;
                rows.iter().map(Self::router_from_row).collect()
            }

            async fn revoke_router(&self, id: jasiyo_shared::RouterId, now_ms: i64) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query("UPDATE routers SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(id.to_string())
                    .bind(now_ms)
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn router_connected(
                &self,
                id: jasiyo_shared::RouterId,
                session: uuid::Uuid,
                agent_version: &str,
                now_ms: i64,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE routers SET online_session = $2, agent_version = $3, last_seen_at = $4 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(session.to_string())
                    .bind(agent_version)
                    .bind(now_ms)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn router_disconnected(
                &self,
                id: jasiyo_shared::RouterId,
                session: uuid::Uuid,
                now_ms: i64,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE routers SET online_session = NULL, last_seen_at = $3 WHERE id = $1 AND online_session = $2")
                    .bind(id.to_string())
                    .bind(session.to_string())
                    .bind(now_ms)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn routers_seen(&self, ids: &[jasiyo_shared::RouterId], now_ms: i64) -> $crate::store::StoreResult<()> {
                // One short statement per chunk, not one long transaction: other writers
                // (command deliveries) wait a few milliseconds at most.
                for chunk in ids.chunks(500) {
                    let mut query = sqlx::QueryBuilder::<$db>::new("UPDATE routers SET last_seen_at = ");
                    query.push_bind(now_ms).push(" WHERE id IN (");
                    let mut list = query.separated(", ");
                    for id in chunk {
                        list.push_bind(id.to_string());
                    }
                    query.push(")");
                    query.build().execute(self.writer()).await?;
                }
                Ok(())
            }

            async fn record_status(
                &self,
                id: jasiyo_shared::RouterId,
                status: &jasiyo_shared::RouterStatus,
                now_ms: i64,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE routers SET status_json = $2, status_at = $3, last_seen_at = $3 WHERE id = $1")
                    .bind(id.to_string())
                    .bind($crate::store::sql::status_json(status))
                    .bind(now_ms)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn enqueue_command(
                &self,
                router: jasiyo_shared::RouterId,
                command: &jasiyo_shared::Command,
                now_ms: i64,
            ) -> $crate::store::StoreResult<$crate::store::StoredCommand> {
                let mut tx = self.writer().begin().await?;
                let (seq, id) = Self::enqueue_tx(&mut tx, router, command, now_ms).await?;
                tx.commit().await?;
                let seq = seq.as_i64();
                Ok($crate::store::StoredCommand {
                    router_id: router,
                    seq: jasiyo_shared::Seq(seq as u64),
                    id,
                    command: command.clone(),
                    state: $crate::store::CommandState::Queued,
                    created_at: now_ms,
                    delivered_at: None,
                    received_at: None,
                    finished_at: None,
                    outcome: None,
                })
            }

            async fn open_commands(
                &self,
                router: jasiyo_shared::RouterId,
                after: Option<jasiyo_shared::Seq>,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::StoredCommand>> {
                let sql = format!(
                    "SELECT {} FROM commands WHERE router_id = $1 AND finished_at IS NULL AND seq > $2 ORDER BY seq LIMIT $3",
                    $crate::store::sql::COMMAND_COLUMNS
                );
                let rows = sqlx::query(&sql)
                    .bind(router.to_string())
                    .bind(after.map_or(0, |s| s.as_i64()))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::command_from_row).collect()
            }

            async fn mark_delivered(
                &self,
                router: jasiyo_shared::RouterId,
                seqs: &[jasiyo_shared::Seq],
                now_ms: i64,
            ) -> $crate::store::StoreResult<()> {
                if seqs.is_empty() {
                    return Ok(());
                }
                let mut query = sqlx::QueryBuilder::<$db>::new(
                    "UPDATE commands SET state = CASE WHEN state = 'queued' THEN 'delivered' ELSE state END, delivered_at = ",
                );
                query.push_bind(now_ms).push(" WHERE finished_at IS NULL AND router_id = ");
                query.push_bind(router.to_string()).push(" AND seq IN ");
                $crate::store::sql::push_seqs(&mut query, seqs.iter().map(|s| s.as_i64()));
                query.build().execute(self.writer()).await?;
                Ok(())
            }

            async fn mark_received(
                &self,
                router: jasiyo_shared::RouterId,
                seqs: &[jasiyo_shared::Seq],
                now_ms: i64,
            ) -> $crate::store::StoreResult<()> {
                if seqs.is_empty() {
                    return Ok(());
                }
                let mut query = sqlx::QueryBuilder::<$db>::new("UPDATE commands SET state = 'received', received_at = ");
                query.push_bind(now_ms).push(" WHERE router_id = ");
                query.push_bind(router.to_string()).push(" AND state IN ('queued', 'delivered') AND seq IN ");
                $crate::store::sql::push_seqs(&mut query, seqs.iter().map(|s| s.as_i64()));
                query.build().execute(self.writer()).await?;
                Ok(())
            }

            async fn record_result(
                &self,
                router: jasiyo_shared::RouterId,
                seq: jasiyo_shared::Seq,
                outcome: &jasiyo_shared::Outcome,
                now_ms: i64,
            ) -> $crate::store::StoreResult<$crate::store::ResultRecorded> {
                let mut recorded = self.record_results(router, &[(seq, outcome)], now_ms).await?;
                recorded.pop().ok_or_else(|| $crate::store::StoreError::Corrupt("a result went unrecorded".into()))
            }

            async fn record_results(
                &self,
                router: jasiyo_shared::RouterId,
                results: &[(jasiyo_shared::Seq, &jasiyo_shared::Outcome)],
                now_ms: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ResultRecorded>> {
                use $crate::store::ResultRecorded;
                // A result repeated within the batch is a duplicate of the first.
                let mut first = std::collections::BTreeSet::new();
                let fresh: Vec<_> = results.iter().filter(|(seq, _)| first.insert(*seq)).collect();
                if fresh.is_empty() {
                    return Ok(Vec::new());
                }
                let mut query = sqlx::QueryBuilder::<$db>::new("WITH v(seq, state, result) AS (");
                query.push_values(&fresh, |mut row, (seq, outcome)| {
                    let state = match outcome {
                        jasiyo_shared::Outcome::Applied { .. } => $crate::store::CommandState::Applied,
                        jasiyo_shared::Outcome::Failed { .. } => $crate::store::CommandState::Failed,
                    };
                    row.push_bind(seq.as_i64()).push_bind(state.as_str()).push_bind($crate::store::sql::outcome_json(outcome));
                });
                query.push(") UPDATE commands SET state = v.state, result = v.result, finished_at = ");
                query.push_bind(now_ms).push(", received_at = COALESCE(received_at, ");
                query.push_bind(now_ms).push(") FROM v WHERE commands.router_id = ");
                query.push_bind(router.to_string()).push(" AND commands.seq = v.seq AND commands.finished_at IS NULL RETURNING commands.seq");
                let recorded: std::collections::BTreeSet<i64> =
                    query.build_query_scalar::<i64>().fetch_all(self.writer()).await?.into_iter().collect();
                // Only when something was not recorded: was it known at all?
                let mut known = std::collections::BTreeSet::new();
                if recorded.len() < fresh.len() {
                    let mut query = sqlx::QueryBuilder::<$db>::new("SELECT seq FROM commands WHERE router_id = ");
                    query.push_bind(router.to_string()).push(" AND seq IN ");
                    $crate::store::sql::push_seqs(&mut query, fresh.iter().map(|(seq, _)| seq.as_i64()));
                    known = query.build_query_scalar::<i64>().fetch_all(&self.pool).await?.into_iter().collect();
                }
                let mut seen = std::collections::BTreeSet::new();
                Ok(results
                    .iter()
                    .map(|(seq, _)| {
                        let s = seq.as_i64();
                        if !seen.insert(s) || !recorded.contains(&s) {
                            if recorded.contains(&s) || known.contains(&s) { ResultRecorded::Duplicate } else { ResultRecorded::UnknownCommand }
                        } else {
                            ResultRecorded::New
                        }
                    })
                    .collect())
            }

            async fn command_state(
                &self,
                router: jasiyo_shared::RouterId,
                seq: jasiyo_shared::Seq,
            ) -> $crate::store::StoreResult<Option<$crate::store::CommandState>> {
                let state: Option<String> = sqlx::query_scalar("SELECT state FROM commands WHERE router_id = $1 AND seq = $2")
                    .bind(router.to_string())
                    .bind(seq.as_i64())
                    .fetch_optional(&self.pool)
                    .await?;
                state.map(|s| $crate::store::sql::parse_state(&s)).transpose()
            }

            async fn list_commands(
                &self,
                router: jasiyo_shared::RouterId,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::StoredCommand>> {
                let sql = format!(
                    "SELECT {} FROM commands WHERE router_id = $1 ORDER BY seq DESC LIMIT $2",
                    $crate::store::sql::COMMAND_COLUMNS
                );
                let rows = sqlx::query(&sql).bind(router.to_string()).bind(i64::from(limit)).fetch_all(&self.pool).await?;
                rows.iter().map(Self::command_from_row).collect()
            }

            async fn record_report(
                &self,
                router: jasiyo_shared::RouterId,
                report: &jasiyo_shared::Report,
                now_ms: i64,
            ) -> $crate::store::StoreResult<bool> {
                let kind = match &report.event {
                    jasiyo_shared::AgentEvent::UserExpired { .. } => "user_expired",
                    jasiyo_shared::AgentEvent::Drift { .. } => "drift",
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
                .bind(serde_json::to_string(&report.event).expect("events serialise"))
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_events(
                &self,
                router: jasiyo_shared::RouterId,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::RouterEvent>> {
                let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(
                    "SELECT report_id, happened_at, received_at, detail FROM router_events \
                     WHERE router_id = $1 ORDER BY happened_at DESC, report_id DESC LIMIT $2",
                )
                .bind(router.to_string())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(report_id, happened_at, received_at, detail)| {
                        let event = serde_json::from_str(&detail)
                            .map_err(|e| $crate::store::StoreError::Corrupt(format!("router event: {e}")))?;
                        Ok($crate::store::RouterEvent { router_id: router, report_id: report_id as u64, happened_at, received_at, event })
                    })
                    .collect()
            }

            async fn create_operator_token(&self, name: &str, token_hash: &str, now_ms: i64) -> $crate::store::StoreResult<()> {
                sqlx::query("INSERT INTO operator_tokens (token_hash, name, created_at) VALUES ($1, $2, $3)")
                    .bind(token_hash)
                    .bind(name)
                    .bind(now_ms)
                    .execute(self.writer())
                    .await
                    .map_err(|e| $crate::store::sql::conflict_or(e, "operator token"))?;
                Ok(())
            }

            async fn operator_token_exists(&self, token_hash: &str) -> $crate::store::StoreResult<bool> {
                let found: Option<String> = sqlx::query_scalar("SELECT name FROM operator_tokens WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(found.is_some())
            }

            fn spawn_outbox_watcher(&self, signal: $crate::store::OutboxSignal, shutdown: tokio_util::sync::CancellationToken) {
                self.watch_outbox(signal, shutdown)
            }
        }
    };
}

pub(super) use impl_store;

