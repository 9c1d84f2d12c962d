//! The payments SQL both backends share, written once (see `sql.rs` for why a macro).

/// The payments columns, in the order `payment_from_row` reads them.
pub(super) const PAYMENT_COLUMNS: &str = "id, tenant_id, router_id, plan_id, provider, amount_kes, msisdn, device_mac, device_ip, \
     client_ip, idempotency_key, provider_ref, secondary_ref, state, reason, receipt, created_at, updated_at, paid_at, \
     next_check_at, checks";

/// The plans columns.
pub(super) const PLAN_COLUMNS: &str = "id, tenant_id, name, price_kes, duration_secs, data_mb, rate_limit, profile, active, created_at";

/// The entitlements columns.
pub(super) const ENTITLEMENT_COLUMNS: &str =
    "id, payment_id, router_id, username, password, device_mac, expires_at, command_seq, login_seq, created_at";

/// `columns` with each name prefixed by `alias.`, for joins.
pub(super) fn qualified(columns: &str, alias: &str) -> String {
    columns.split(',').map(|c| format!("{alias}.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

/// Implements [`super::payments::PaymentStore`] for `$store` (a `pool` of `$db`).
macro_rules! impl_payment_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Row readers: the columns of one table starting at column `base` (joins put
            /// several tables in one row).
            fn payment_at(row: &<$db as sqlx::Database>::Row, base: usize) -> $crate::store::StoreResult<$crate::model::Payment> {
                use sqlx::Row;
                use $crate::store::sql::parse_uuid;
                let corrupt = |what: &str, v: &str| $crate::store::StoreError::Corrupt(format!("payment {what} {v:?}"));
                let provider: String = row.try_get(base + 4)?;
                let state: String = row.try_get(base + 13)?;
                let mac: Option<String> = row.try_get(base + 7)?;
                let ip: Option<String> = row.try_get(base + 8)?;
                Ok($crate::model::Payment {
                    id: $crate::model::PaymentId(parse_uuid("payment id", &row.try_get::<String, _>(base)?)?),
                    tenant_id: $crate::store::TenantId(parse_uuid("tenant id", &row.try_get::<String, _>(base + 1)?)?),
                    router_id: parse_uuid("router id", &row.try_get::<String, _>(base + 2)?)?.into(),
                    plan_id: $crate::model::PlanId(parse_uuid("plan id", &row.try_get::<String, _>(base + 3)?)?),
                    provider: $crate::model::ProviderKind::parse(&provider).ok_or_else(|| corrupt("provider", &provider))?,
                    amount_kes: row.try_get::<i64, _>(base + 5)? as u32,
                    msisdn: row.try_get(base + 6)?,
                    device_mac: mac.as_deref().map(|m| m.parse().map_err(|_| corrupt("mac", m))).transpose()?,
                    device_ip: ip.as_deref().map(|i| i.parse().map_err(|_| corrupt("ip", i))).transpose()?,
                    client_ip: row.try_get(base + 9)?,
                    idempotency_key: row.try_get(base + 10)?,
                    provider_ref: row.try_get(base + 11)?,
                    secondary_ref: row.try_get(base + 12)?,
                    state: $crate::model::PaymentState::parse(&state).ok_or_else(|| corrupt("state", &state))?,
                    reason: row.try_get(base + 14)?,
                    receipt: row.try_get(base + 15)?,
                    created_at: row.try_get(base + 16)?,
                    updated_at: row.try_get(base + 17)?,
                    paid_at: row.try_get(base + 18)?,
                    next_check_at: row.try_get(base + 19)?,
                    checks: row.try_get::<i64, _>(base + 20)? as u32,
                })
            }

            fn plan_at(row: &<$db as sqlx::Database>::Row, base: usize) -> $crate::store::StoreResult<$crate::model::Plan> {
                use sqlx::Row;
                use $crate::store::sql::parse_uuid;
                Ok($crate::model::Plan {
                    id: $crate::model::PlanId(parse_uuid("plan id", &row.try_get::<String, _>(base)?)?),
                    tenant_id: $crate::store::TenantId(parse_uuid("tenant id", &row.try_get::<String, _>(base + 1)?)?),
                    name: row.try_get(base + 2)?,
                    price_kes: row.try_get::<i64, _>(base + 3)? as u32,
                    duration_secs: row.try_get::<i64, _>(base + 4)? as u64,
                    data_mb: row.try_get::<Option<i64>, _>(base + 5)?.map(|v| v as u64),
                    rate_limit: row.try_get(base + 6)?,
                    profile: row.try_get(base + 7)?,
                    active: row.try_get::<i64, _>(base + 8)? != 0,
                    created_at: row.try_get(base + 9)?,
                })
            }

            fn entitlement_at(row: &<$db as sqlx::Database>::Row, base: usize) -> $crate::store::StoreResult<$crate::model::Entitlement> {
                use sqlx::Row;
                use $crate::store::sql::parse_uuid;
                let mac: Option<String> = row.try_get(base + 5)?;
                Ok($crate::model::Entitlement {
                    id: parse_uuid("entitlement id", &row.try_get::<String, _>(base)?)?,
                    payment_id: $crate::model::PaymentId(parse_uuid("payment id", &row.try_get::<String, _>(base + 1)?)?),
                    router_id: parse_uuid("router id", &row.try_get::<String, _>(base + 2)?)?.into(),
                    username: row.try_get(base + 3)?,
                    password: row.try_get(base + 4)?,
                    device_mac: mac.and_then(|m| m.parse().ok()),
                    expires_at: row.try_get(base + 6)?,
                    command_seq: row.try_get::<i64, _>(base + 7)? as u64,
                    login_seq: row.try_get::<Option<i64>, _>(base + 8)?.map(|s| s as u64),
                    created_at: row.try_get(base + 9)?,
                })
            }

            fn payment_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::model::Payment> {
                Self::payment_at(row, 0)
            }

            fn plan_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::model::Plan> {
                Self::plan_at(row, 0)
            }

            fn entitlement_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::model::Entitlement> {
                Self::entitlement_at(row, 0)
            }

            async fn payment_where(&self, clause: &str, binds: &[String]) -> $crate::store::StoreResult<Option<$crate::model::Payment>> {
                let sql = format!("SELECT {} FROM payments WHERE {clause}", $crate::store::sql_payments::PAYMENT_COLUMNS);
                let mut query = sqlx::query(&sql);
                for bind in binds {
                    query = query.bind(bind.clone());
                }
                let row = query.fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::payment_from_row).transpose()
            }

            /// Appends events to a payment's timeline inside `tx`, in one statement.
            async fn events_tx(
                tx: &mut sqlx::Transaction<'_, $db>,
                id: $crate::model::PaymentId,
                events: &[(&str, &str)],
                now_ms: i64,
            ) -> $crate::store::StoreResult<()> {
                if events.is_empty() {
                    return Ok(());
                }
                let mut query = sqlx::QueryBuilder::<$db>::new("INSERT INTO payment_events (payment_id, at, kind, detail) ");
                query.push_values(events, |mut row, (kind, detail)| {
                    row.push_bind(id.to_string()).push_bind(now_ms).push_bind(kind.to_string()).push_bind(detail.to_string());
                });
                query.build().execute(&mut **tx).await?;
                Ok(())
            }

            /// Reads a provider's settings from two columns at `base` (kind, sealed), which a
            /// LEFT JOIN may have left empty.
            fn provider_at(
                row: &<$db as sqlx::Database>::Row,
                base: usize,
                tenant_id: $crate::store::TenantId,
            ) -> $crate::store::StoreResult<Option<$crate::model::StoredProvider>> {
                use sqlx::Row;
                let kind: Option<String> = row.try_get(base)?;
                let Some(kind) = kind else { return Ok(None) };
                let kind = $crate::model::ProviderKind::parse(&kind)
                    .ok_or_else(|| $crate::store::StoreError::Corrupt(format!("provider kind {kind:?}")))?;
                Ok(Some($crate::model::StoredProvider { tenant_id, kind, sealed: row.try_get(base + 1)? }))
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::payments::PaymentStore for $store {
            async fn create_plan(
                &self,
                tenant: $crate::store::TenantId,
                plan: &$crate::model::NewPlan,
                now_ms: i64,
            ) -> $crate::store::StoreResult<$crate::model::Plan> {
                let id = uuid::Uuid::new_v4();
                sqlx::query(
                    "INSERT INTO plans (id, tenant_id, name, price_kes, duration_secs, data_mb, rate_limit, profile, active, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9)",
                )
                .bind(id.to_string())
                .bind(tenant.to_string())
                .bind(&plan.name)
                .bind(i64::from(plan.price_kes))
                .bind(plan.duration_secs as i64)
                .bind(plan.data_mb.map(|v| v as i64))
                .bind(&plan.rate_limit)
                .bind(&plan.profile)
                .bind(now_ms)
                .execute(self.writer())
                .await
                .map_err(|e| $crate::store::sql::conflict_or(e, format!("plan {:?}", plan.name)))?;
                self.plan($crate::model::PlanId(id)).await?.ok_or_else(|| $crate::store::StoreError::NotFound("plan".into()))
            }

            async fn list_plans(&self, tenant: $crate::store::TenantId) -> $crate::store::StoreResult<Vec<$crate::model::Plan>> {
                let sql = format!(
                    "SELECT {} FROM plans WHERE tenant_id = $1 ORDER BY price_kes, duration_secs, name",
                    $crate::store::sql_payments::PLAN_COLUMNS
                );
                let rows = sqlx::query(&sql).bind(tenant.to_string()).fetch_all(&self.pool).await?;
                rows.iter().map(Self::plan_from_row).collect()
            }

            async fn plan(&self, id: $crate::model::PlanId) -> $crate::store::StoreResult<Option<$crate::model::Plan>> {
                let sql = format!("SELECT {} FROM plans WHERE id = $1", $crate::store::sql_payments::PLAN_COLUMNS);
                let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::plan_from_row).transpose()
            }

            async fn set_provider(
                &self,
                tenant: $crate::store::TenantId,
                kind: $crate::model::ProviderKind,
                sealed: &str,
                callback_token_hash: &str,
                now_ms: i64,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer().begin().await?;
                // Another provider's settings are kept for its payments still in flight.
                sqlx::query(
                    "INSERT INTO provider_history (tenant_id, kind, sealed, callback_token_hash, replaced_at) \
                     SELECT tenant_id, kind, sealed, callback_token_hash, $3 FROM provider_configs WHERE tenant_id = $1 AND kind <> $2 \
                     ON CONFLICT (tenant_id, kind) DO UPDATE SET sealed = excluded.sealed, \
                     callback_token_hash = excluded.callback_token_hash, replaced_at = excluded.replaced_at",
                )
                .bind(tenant.to_string())
                .bind(kind.as_str())
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO provider_configs (tenant_id, kind, sealed, callback_token_hash, updated_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (tenant_id) DO UPDATE SET kind = excluded.kind, sealed = excluded.sealed, \
                     callback_token_hash = excluded.callback_token_hash, updated_at = excluded.updated_at",
                )
                .bind(tenant.to_string())
                .bind(kind.as_str())
                .bind(sealed)
                .bind(callback_token_hash)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn provider_settings(
                &self,
                tenant: $crate::store::TenantId,
                kind: $crate::model::ProviderKind,
            ) -> $crate::store::StoreResult<Option<$crate::model::StoredProvider>> {
                let sealed: Option<String> = sqlx::query_scalar(
                    "SELECT sealed FROM provider_configs WHERE tenant_id = $1 AND kind = $2 \
                     UNION ALL SELECT sealed FROM provider_history WHERE tenant_id = $1 AND kind = $2 LIMIT 1",
                )
                .bind(tenant.to_string())
                .bind(kind.as_str())
                .fetch_optional(&self.pool)
                .await?;
                Ok(sealed.map(|sealed| $crate::model::StoredProvider { tenant_id: tenant, kind, sealed }))
            }

            async fn provider_by_callback_token(
                &self,
                token_hash: &str,
            ) -> $crate::store::StoreResult<Option<$crate::model::StoredProvider>> {
                let row: Option<(String, String, String)> =
                    sqlx::query_as(
                        "SELECT tenant_id, kind, sealed FROM provider_configs WHERE callback_token_hash = $1 \
                         UNION ALL SELECT tenant_id, kind, sealed FROM provider_history WHERE callback_token_hash = $1 LIMIT 1",
                    )
                        .bind(token_hash)
                        .fetch_optional(&self.pool)
                        .await?;
                row.map(|(tenant, kind, sealed)| {
                    let kind = $crate::model::ProviderKind::parse(&kind)
                        .ok_or_else(|| $crate::store::StoreError::Corrupt(format!("provider kind {kind:?}")))?;
                    let tenant_id = $crate::store::TenantId($crate::store::sql::parse_uuid("tenant id", &tenant)?);
                    Ok($crate::model::StoredProvider { tenant_id, kind, sealed })
                })
                .transpose()
            }

            async fn create_payment(
                &self,
                p: &$crate::model::NewPayment,
                now_ms: i64,
            ) -> $crate::store::StoreResult<$crate::model::Payment> {
                let id = $crate::model::PaymentId(uuid::Uuid::new_v4());
                // The "initiated" event is written by a trigger in the same statement.
                let sql = format!(
                    "INSERT INTO payments (id, tenant_id, router_id, plan_id, provider, amount_kes, msisdn, device_mac, device_ip, \
                     client_ip, idempotency_key, callback_token_hash, state, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'initiated', $13, $13) RETURNING {}",
                    $crate::store::sql_payments::PAYMENT_COLUMNS
                );
                let row = sqlx::query(&sql)
                .bind(id.to_string())
                .bind(p.tenant_id.to_string())
                .bind(p.router_id.to_string())
                .bind(p.plan_id.to_string())
                .bind(p.provider.as_str())
                .bind(i64::from(p.amount_kes))
                .bind(&p.msisdn)
                .bind(p.device_mac.map(|m| m.to_string()))
                .bind(p.device_ip.map(|i| i.to_string()))
                .bind(&p.client_ip)
                .bind(&p.idempotency_key)
                .bind(&p.callback_token_hash)
                .bind(now_ms)
                .fetch_one(self.writer())
                .await
                .map_err(|e| $crate::store::sql::conflict_or(e, "payment with this idempotency key"))?;
                Self::payment_from_row(&row)
            }

            async fn payment(
                &self,
                id: $crate::model::PaymentId,
            ) -> $crate::store::StoreResult<Option<$crate::model::Payment>> {
                self.payment_where("id = $1", &[id.to_string()]).await
            }

            async fn payment_progress(
                &self,
                id: $crate::model::PaymentId,
            ) -> $crate::store::StoreResult<Option<$crate::store::payments::PaymentProgress>> {
                use sqlx::Row;
                use $crate::store::sql_payments::{ENTITLEMENT_COLUMNS, PAYMENT_COLUMNS, qualified};
                static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
                    format!(
                        "SELECT {}, {}, c.state FROM payments p \
                         LEFT JOIN entitlements e ON e.payment_id = p.id \
                         LEFT JOIN commands c ON c.router_id = e.router_id AND c.seq = e.command_seq \
                         WHERE p.id = $1",
                        qualified(PAYMENT_COLUMNS, "p"),
                        qualified(ENTITLEMENT_COLUMNS, "e")
                    )
                });
                let Some(row) = sqlx::query(&SQL).bind(id.to_string()).fetch_optional(&self.pool).await? else { return Ok(None) };
                let payment = Self::payment_at(&row, 0)?;
                let entitlement = match row.try_get::<Option<String>, _>(21)? {
                    Some(_) => Some(Self::entitlement_at(&row, 21)?),
                    None => None,
                };
                let command = row.try_get::<Option<String>, _>(31)?.map(|s| $crate::store::sql::parse_state(&s)).transpose()?;
                Ok(Some($crate::store::payments::PaymentProgress { payment, entitlement, command }))
            }

            async fn portal_context(
                &self,
                q: $crate::store::payments::PortalQuery<'_>,
            ) -> $crate::store::StoreResult<Option<$crate::store::payments::PortalContext>> {
                use sqlx::Row;
                use $crate::store::sql_payments::{PLAN_COLUMNS, qualified};
                // The in-flight lookups each have their own index (an OR across them would
                // scan the table).
                static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
                    let open = "state IN ('initiated', 'pending') AND created_at >= $6 ORDER BY created_at DESC LIMIT 1";
                    format!(
                        "SELECT r.tenant_id, r.name, r.revoked_at, {}, c.kind, c.sealed, \
                         (SELECT id FROM payments WHERE router_id = $1 AND idempotency_key = $3), \
                         (SELECT id FROM payments WHERE msisdn = $4 AND {open}), \
                         (SELECT id FROM payments WHERE device_mac = $5 AND router_id = $1 AND {open}) \
                         FROM routers r \
                         LEFT JOIN plans pl ON pl.id = $2 AND pl.tenant_id = r.tenant_id \
                         LEFT JOIN provider_configs c ON c.tenant_id = r.tenant_id \
                         WHERE r.id = $1",
                        qualified(PLAN_COLUMNS, "pl")
                    )
                });
                let row = sqlx::query(&SQL)
                    .bind(q.router.to_string())
                    .bind(q.plan.map(|p| p.to_string()))
                    .bind(q.idempotency_key)
                    .bind(q.msisdn)
                    .bind(q.mac)
                    .bind(q.in_flight_since_ms)
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let id_at = |i: usize| -> $crate::store::StoreResult<Option<$crate::model::PaymentId>> {
                    let id: Option<String> = row.try_get(i)?;
                    id.map(|id| Ok($crate::model::PaymentId($crate::store::sql::parse_uuid("payment id", &id)?))).transpose()
                };
                let tenant_id = $crate::store::TenantId($crate::store::sql::parse_uuid("tenant id", &row.try_get::<String, _>(0)?)?);
                let plan = match row.try_get::<Option<String>, _>(3)? {
                    Some(_) => Some(Self::plan_at(&row, 3)?),
                    None => None,
                };
                Ok(Some($crate::store::payments::PortalContext {
                    tenant_id,
                    router_name: row.try_get(1)?,
                    revoked: row.try_get::<Option<i64>, _>(2)?.is_some(),
                    plan,
                    provider: Self::provider_at(&row, 13, tenant_id)?,
                    existing: id_at(15)?,
                    in_flight: id_at(16)?.or(id_at(17)?),
                }))
            }

            async fn callback_context(
                &self,
                token_hash: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::payments::CallbackContext>> {
                use $crate::store::sql_payments::{PAYMENT_COLUMNS, PLAN_COLUMNS, qualified};
                static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
                    format!(
                        "SELECT {}, {}, COALESCE(c.kind, h.kind), COALESCE(c.sealed, h.sealed) FROM payments p \
                         JOIN plans pl ON pl.id = p.plan_id \
                         LEFT JOIN provider_configs c ON c.tenant_id = p.tenant_id AND c.kind = p.provider \
                         LEFT JOIN provider_history h ON h.tenant_id = p.tenant_id AND h.kind = p.provider \
                         WHERE p.callback_token_hash = $1",
                        qualified(PAYMENT_COLUMNS, "p"),
                        qualified(PLAN_COLUMNS, "pl")
                    )
                });
                let Some(row) = sqlx::query(&SQL).bind(token_hash).fetch_optional(&self.pool).await? else { return Ok(None) };
                let payment = Self::payment_at(&row, 0)?;
                let provider = Self::provider_at(&row, 31, payment.tenant_id)?;
                Ok(Some($crate::store::payments::CallbackContext { plan: Self::plan_at(&row, 21)?, payment, provider }))
            }

            async fn payment_by_idempotency(
                &self,
                router: jasiyo_shared::RouterId,
                key: &str,
            ) -> $crate::store::StoreResult<Option<$crate::model::Payment>> {
                self.payment_where("router_id = $1 AND idempotency_key = $2", &[router.to_string(), key.to_string()]).await
            }

            async fn payment_by_callback_token(
                &self,
                token_hash: &str,
            ) -> $crate::store::StoreResult<Option<$crate::model::Payment>> {
                self.payment_where("callback_token_hash = $1", &[token_hash.to_string()]).await
            }

            async fn payment_by_provider_ref(
                &self,
                provider: $crate::model::ProviderKind,
                provider_ref: &str,
            ) -> $crate::store::StoreResult<Option<$crate::model::Payment>> {
                self.payment_where("provider = $1 AND provider_ref = $2", &[provider.as_str().to_string(), provider_ref.to_string()]).await
            }

            async fn list_payments(
                &self,
                router: jasiyo_shared::RouterId,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::model::Payment>> {
                let sql = format!(
                    "SELECT {} FROM payments WHERE router_id = $1 ORDER BY created_at DESC LIMIT $2",
                    $crate::store::sql_payments::PAYMENT_COLUMNS
                );
                let rows = sqlx::query(&sql).bind(router.to_string()).bind(i64::from(limit)).fetch_all(&self.pool).await?;
                rows.iter().map(Self::payment_from_row).collect()
            }

            async fn mark_prompt_sent(
                &self,
                id: $crate::model::PaymentId,
                provider_ref: &str,
                secondary_ref: Option<&str>,
                next_check_ms: i64,
                now_ms: i64,
            ) -> $crate::store::StoreResult<()> {
                // The "prompt_sent" event is written by a trigger in the same statement.
                sqlx::query(
                    "UPDATE payments SET provider_ref = $2, secondary_ref = $3, next_check_at = $4, updated_at = $5, \
                     state = CASE WHEN state = 'initiated' THEN 'pending' ELSE state END WHERE id = $1",
                )
                .bind(id.to_string())
                .bind(provider_ref)
                .bind(secondary_ref)
                .bind(next_check_ms)
                .bind(now_ms)
                .execute(self.writer())
                .await
                .map_err(|e| $crate::store::sql::conflict_or(e, "provider reference"))?;
                Ok(())
            }

            async fn mark_failed(
                &self,
                id: $crate::model::PaymentId,
                state: $crate::model::PaymentState,
                reason: &str,
                heard: Option<$crate::store::payments::Heard<'_>>,
                now_ms: i64,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer().begin().await?;
                let done = sqlx::query(
                    "UPDATE payments SET state = $2, reason = $3, updated_at = $4, next_check_at = NULL \
                     WHERE id = $1 AND state IN ('initiated', 'pending')",
                )
                .bind(id.to_string())
                .bind(state.as_str())
                .bind(reason)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
                let changed = done.rows_affected() == 1;
                let mut events: Vec<(&str, &str)> = heard.iter().map(|h| (h.source, h.detail)).collect();
                if changed {
                    events.push((state.as_str(), reason));
                }
                Self::events_tx(&mut tx, id, &events, now_ms).await?;
                tx.commit().await?;
                Ok(changed)
            }

            async fn mark_paid(
                &self,
                id: $crate::model::PaymentId,
                receipt: Option<&str>,
                provision: &$crate::store::payments::Provision,
                heard: Option<$crate::store::payments::Heard<'_>>,
                now_ms: i64,
            ) -> $crate::store::StoreResult<$crate::store::payments::PaidOutcome> {
                // PostgreSQL does it in one statement (pg_paid.rs); SQLite in a transaction.
                self.record_paid(id, receipt, provision, heard, now_ms).await
            }

            async fn schedule_check(
                &self,
                id: $crate::model::PaymentId,
                next_check_ms: Option<i64>,
                checks: u32,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE payments SET next_check_at = $2, checks = $3 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(next_check_ms)
                    .bind(i64::from(checks))
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn due_payments(&self, now_ms: i64, limit: u32) -> $crate::store::StoreResult<Vec<$crate::model::Payment>> {
                let sql = format!(
                    "SELECT {} FROM payments WHERE next_check_at IS NOT NULL AND next_check_at <= $1 ORDER BY next_check_at LIMIT $2",
                    $crate::store::sql_payments::PAYMENT_COLUMNS
                );
                let rows = sqlx::query(&sql).bind(now_ms).bind(i64::from(limit)).fetch_all(&self.pool).await?;
                rows.iter().map(Self::payment_from_row).collect()
            }

            async fn add_payment_event(
                &self,
                id: $crate::model::PaymentId,
                kind: &str,
                detail: &str,
                now_ms: i64,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("INSERT INTO payment_events (payment_id, at, kind, detail) VALUES ($1, $2, $3, $4)")
                    .bind(id.to_string())
                    .bind(now_ms)
                    .bind(kind)
                    .bind(detail)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn payment_events(
                &self,
                id: $crate::model::PaymentId,
            ) -> $crate::store::StoreResult<Vec<$crate::model::PaymentEvent>> {
                let rows: Vec<(i64, String, String)> =
                    sqlx::query_as("SELECT at, kind, detail FROM payment_events WHERE payment_id = $1 ORDER BY id")
                        .bind(id.to_string())
                        .fetch_all(&self.pool)
                        .await?;
                Ok(rows.into_iter().map(|(at, kind, detail)| $crate::model::PaymentEvent { at, kind, detail }).collect())
            }

            async fn entitlement_for_payment(
                &self,
                id: $crate::model::PaymentId,
            ) -> $crate::store::StoreResult<Option<$crate::model::Entitlement>> {
                let sql = format!("SELECT {} FROM entitlements WHERE payment_id = $1", $crate::store::sql_payments::ENTITLEMENT_COLUMNS);
                let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::entitlement_from_row).transpose()
            }

            async fn entitlement_by_receipt(
                &self,
                router: jasiyo_shared::RouterId,
                receipt: &str,
            ) -> $crate::store::StoreResult<Option<($crate::model::Payment, $crate::model::Entitlement)>> {
                let binds = [router.to_string(), receipt.to_string()];
                let Some(payment) = self.payment_where("router_id = $1 AND receipt = $2 AND state = 'paid'", &binds).await? else {
                    return Ok(None);
                };
                Ok(self.entitlement_for_payment(payment.id).await?.map(|e| (payment, e)))
            }

            async fn move_entitlement(
                &self,
                id: uuid::Uuid,
                from: Option<jasiyo_shared::MacAddress>,
                to: jasiyo_shared::MacAddress,
                moves: &$crate::store::payments::DeviceMove,
                now_ms: i64,
            ) -> $crate::store::StoreResult<$crate::model::Entitlement> {
                use sqlx::Row;
                let mut tx = self.writer().begin().await?;
                // The guard on the recorded device makes two concurrent moves of one
                // entitlement a conflict instead of two sessions.
                let moved = sqlx::query(
                    "UPDATE entitlements SET device_mac = $2 WHERE id = $1 AND expires_at > $3 \
                     AND COALESCE(device_mac, '') = $4 RETURNING router_id, payment_id",
                )
                .bind(id.to_string())
                .bind(to.to_string())
                .bind(now_ms / 1000)
                .bind(from.map(|m| m.to_string()).unwrap_or_default())
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = moved else {
                    return Err($crate::store::StoreError::Conflict("an unexpired entitlement on that device".into()));
                };
                let router: jasiyo_shared::RouterId = $crate::store::sql::parse_uuid("router id", &row.try_get::<String, _>(0)?)?.into();
                let payment = $crate::model::PaymentId($crate::store::sql::parse_uuid("payment id", &row.try_get::<String, _>(1)?)?);
                if let Some(end) = &moves.end_old {
                    Self::enqueue_tx(&mut tx, router, end, now_ms).await?;
                }
                let (upsert_seq, _) = Self::enqueue_tx(&mut tx, router, &moves.upsert, now_ms).await?;
                let login_seq = match &moves.login {
                    Some(login) => Some(Self::enqueue_tx(&mut tx, router, login, now_ms).await?.0),
                    None => None,
                };
                sqlx::query("UPDATE entitlements SET command_seq = $2, login_seq = $3 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(upsert_seq.as_i64())
                    .bind(login_seq.map(|s| s.as_i64()))
                    .execute(&mut *tx)
                    .await?;
                let from_text = from.map(|m| m.to_string()).unwrap_or_else(|| "no device".into());
                let detail = format!("moved from {from_text} to {to} (command {})", upsert_seq.0);
                Self::events_tx(&mut tx, payment, &[("entitlement_moved", &detail)], now_ms).await?;
                let sql = format!("SELECT {} FROM entitlements WHERE id = $1", $crate::store::sql_payments::ENTITLEMENT_COLUMNS);
                let row = sqlx::query(&sql).bind(id.to_string()).fetch_one(&mut *tx).await?;
                let entitlement = Self::entitlement_from_row(&row)?;
                tx.commit().await?;
                Ok(entitlement)
            }

            async fn cached_token(&self, key: &str, valid_until_ms: i64) -> $crate::store::StoreResult<Option<(String, i64)>> {
                Ok(sqlx::query_as("SELECT token, expires_at FROM provider_tokens WHERE cache_key = $1 AND expires_at > $2")
                    .bind(key)
                    .bind(valid_until_ms)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn cache_token(&self, key: &str, token: &str, expires_at_ms: i64) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO provider_tokens (cache_key, token, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (cache_key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at",
                )
                .bind(key)
                .bind(token)
                .bind(expires_at_ms)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn forget_token(&self, key: &str, token: &str) -> $crate::store::StoreResult<()> {
                sqlx::query("DELETE FROM provider_tokens WHERE cache_key = $1 AND token = $2")
                    .bind(key)
                    .bind(token)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }
        }
    };
}

pub(super) use impl_payment_store;
