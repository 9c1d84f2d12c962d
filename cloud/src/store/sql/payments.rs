//! Payments: created by the portal, moved along by the provider's word, read back by the
//! portal, callbacks and reconciliation; each with its timeline. Compiled once per backend
//! (see `sql/mod.rs`).

use std::sync::LazyLock;

use jasiyo_shared::RouterId;
use sqlx::{FromRow, Row, Transaction};

use super::{Db, This};
use crate::model::{NewPayment, Payment, PaymentEvent, PaymentId, PaymentState, Plan, ProviderKind, StoredProvider, TenantId};
use crate::store::StoreResult;
use crate::store::payments::{CallbackContext, Heard, PaymentProgress, PortalContext, PortalQuery};
use crate::store::sql::rows::{
    ENTITLEMENT_COLUMNS, EntitlementRow, PAYMENT_COLUMNS, PLAN_COLUMNS, PaymentEventRow, PaymentRow, PlanRow, parse_payment,
    parse_provider, parse_state, prefixed, qualified,
};
use crate::store::sql::{Backend, conflict_or, parse_uuid};

/// A row of this backend.
type DbRow = <Db as sqlx::Database>::Row;

/// A LEFT JOINed table's part of `row`: `None` when its key column `key` is NULL.
pub(super) fn joined<T: for<'r> FromRow<'r, DbRow>>(row: &DbRow, key: &str) -> StoreResult<Option<T>> {
    let present: Option<String> = row.try_get(key)?;
    Ok(match present {
        Some(_) => Some(T::from_row(row)?),
        None => None,
    })
}

pub(super) async fn create_payment(store: &This, p: &NewPayment, now_ms: i64) -> StoreResult<Payment> {
    let id = p.id;
    // The "initiated" event is written by a trigger in the same statement.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "INSERT INTO payments (id, tenant_id, router_id, plan_id, provider, amount_kes, msisdn, device_mac, device_ip, \
             client_ip, idempotency_key, callback_token_hash, state, created_at, updated_at, next_check_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'initiated', $13, $13, $14) RETURNING {PAYMENT_COLUMNS}"
        )
    });
    let row: PaymentRow = sqlx::query_as(&SQL)
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
        .bind(p.first_check_at)
        .fetch_one(store.writes())
        .await
        .map_err(|e| conflict_or(e, "payment with this idempotency key"))?;
    row.try_into()
}

/// Lets the device's claim (`holder`, `mac:<mac>`) go if `payment` holds it; true when it did.
pub(super) async fn release_device_claim(store: &This, router: RouterId, holder: &str, payment: PaymentId) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM prompt_claims WHERE router_id = $1 AND holder = $2 AND payment_id = $3")
        .bind(router.to_string())
        .bind(holder)
        .bind(payment.to_string())
        .execute(store.writes())
        .await?;
    Ok(done.rows_affected() > 0)
}

/// How long a claim stands for a payment whose row is not there yet (being created).
const CLAIM_BEFORE_ROW_MS: i64 = 10_000;

pub(super) async fn claim_prompt(
    store: &This,
    router: RouterId,
    holders: &[String],
    payment: PaymentId,
    now_ms: i64,
    until_ms: i64,
) -> StoreResult<bool> {
    if holders.is_empty() {
        return Ok(true);
    }
    let mut query = sqlx::QueryBuilder::<Db>::new("INSERT INTO prompt_claims (router_id, holder, payment_id, claimed_at, expires_at) ");
    query.push_values(holders, |mut row, holder| {
        row.push_bind(router.to_string()).push_bind(holder.clone()).push_bind(payment.to_string()).push_bind(now_ms).push_bind(until_ms);
    });
    query.push(
        " ON CONFLICT (router_id, holder) DO UPDATE SET payment_id = excluded.payment_id, claimed_at = excluded.claimed_at, \
         expires_at = excluded.expires_at \
         WHERE prompt_claims.expires_at <= excluded.claimed_at \
         OR EXISTS (SELECT 1 FROM payments p WHERE p.id = prompt_claims.payment_id AND p.state NOT IN ('initiated', 'pending')) \
         OR (prompt_claims.claimed_at < excluded.claimed_at - ",
    );
    query.push_bind(CLAIM_BEFORE_ROW_MS);
    query.push(" AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.id = prompt_claims.payment_id)) RETURNING holder");
    // All or none: a slot taken while another was held would stay locked for nothing.
    let mut tx = store.writes().begin().await?;
    let claimed = query.build().fetch_all(&mut *tx).await?;
    let all = claimed.len() == holders.len();
    if all {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(all)
}

/// The payment matching `clause` (over `payments`, with `binds` as `$1`, `$2`, ...).
async fn payment_where(store: &This, clause: &str, binds: &[&str]) -> StoreResult<Option<Payment>> {
    let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE {clause}");
    let mut query = sqlx::query_as::<_, PaymentRow>(&sql);
    for bind in binds {
        query = query.bind(*bind);
    }
    query.fetch_optional(store.reads()).await?.map(Payment::try_from).transpose()
}

pub(super) async fn payment(store: &This, id: PaymentId) -> StoreResult<Option<Payment>> {
    payment_where(store, "id = $1", &[&id.to_string()]).await
}

pub(super) async fn payment_by_idempotency(store: &This, router: RouterId, key: &str) -> StoreResult<Option<Payment>> {
    payment_where(store, "router_id = $1 AND idempotency_key = $2", &[&router.to_string(), key]).await
}

pub(super) async fn payment_by_callback_token(store: &This, token_hash: &str) -> StoreResult<Option<Payment>> {
    payment_where(store, "callback_token_hash = $1", &[token_hash]).await
}

pub(super) async fn payment_by_provider_ref(store: &This, provider: ProviderKind, provider_ref: &str) -> StoreResult<Option<Payment>> {
    payment_where(store, "provider = $1 AND provider_ref = $2", &[provider.as_str(), provider_ref]).await
}

pub(super) async fn payment_progress(store: &This, id: PaymentId) -> StoreResult<Option<PaymentProgress>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {}, {}, c.state AS command_state FROM payments p \
             LEFT JOIN entitlements ent ON ent.payment_id = p.id \
             LEFT JOIN commands c ON c.router_id = ent.router_id AND c.seq = ent.command_seq \
             WHERE p.id = $1",
            qualified(PAYMENT_COLUMNS, "p"),
            prefixed(ENTITLEMENT_COLUMNS, "ent")
        )
    });
    let Some(row) = sqlx::query(&SQL).bind(id.to_string()).fetch_optional(store.reads()).await? else { return Ok(None) };
    let payment = PaymentRow::from_row(&row)?.try_into()?;
    let entitlement = joined::<EntitlementRow>(&row, "ent_id")?.map(TryInto::try_into).transpose()?;
    let command: Option<String> = row.try_get("command_state")?;
    Ok(Some(PaymentProgress { payment, entitlement, command: command.as_deref().map(parse_state).transpose()? }))
}

/// The router, provider and earlier payments beside a plan, as [`portal_context`] reads them.
#[derive(FromRow)]
struct PortalRow {
    tenant_id: String,
    router_name: String,
    revoked_at: Option<i64>,
    provider_kind: Option<String>,
    provider_sealed: Option<String>,
    existing: Option<String>,
    in_flight_phone: Option<String>,
    in_flight_device: Option<String>,
}

pub(super) async fn portal_context(store: &This, q: PortalQuery<'_>) -> StoreResult<Option<PortalContext>> {
    // A suspended tenant's routers sell nothing: they read as revoked.
    // The in-flight lookups each have their own index (an OR across them would scan the
    // table). The device's is its prompt claim: a page that let its prompt go
    // ([`release_device_claim`]) no longer holds the device, while the phone stays held.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let open = "state IN ('initiated', 'pending') AND created_at >= $6 ORDER BY created_at DESC LIMIT 1";
        format!(
            "SELECT r.tenant_id, r.name AS router_name, \
             COALESCE(r.revoked_at, (SELECT t.suspended_at FROM tenants t WHERE t.id = r.tenant_id)) AS revoked_at, {}, \
             c.kind AS provider_kind, c.sealed AS provider_sealed, \
             (SELECT id FROM payments WHERE router_id = $1 AND idempotency_key = $3) AS existing, \
             (SELECT id FROM payments WHERE msisdn = $4 AND router_id = $1 AND {open}) AS in_flight_phone, \
             (SELECT p.id FROM prompt_claims c JOIN payments p ON p.id = c.payment_id \
              WHERE c.router_id = $1 AND c.holder = 'mac:' || $5 AND p.{open}) AS in_flight_device \
             FROM routers r \
             LEFT JOIN plans pl ON pl.id = $2 AND pl.tenant_id = r.tenant_id \
             LEFT JOIN provider_configs c ON c.tenant_id = r.tenant_id \
             WHERE r.id = $1",
            prefixed(PLAN_COLUMNS, "pl")
        )
    });
    let row = sqlx::query(&SQL)
        .bind(q.router.to_string())
        .bind(q.plan.map(|p| p.to_string()))
        .bind(q.idempotency_key)
        .bind(q.msisdn)
        .bind(q.mac)
        .bind(q.in_flight_since_ms)
        .fetch_optional(store.reads())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let plan: Option<Plan> = joined::<PlanRow>(&row, "pl_id")?.map(TryInto::try_into).transpose()?;
    let found = PortalRow::from_row(&row)?;
    let tenant_id = TenantId(parse_uuid("tenant id", &found.tenant_id)?);
    let provider = match (found.provider_kind, found.provider_sealed) {
        (Some(kind), Some(sealed)) => Some(StoredProvider { tenant_id, kind: parse_provider(&kind)?, sealed }),
        _ => None,
    };
    let id = |id: Option<String>| id.as_deref().map(parse_payment).transpose();
    Ok(Some(PortalContext {
        tenant_id,
        router_name: found.router_name,
        revoked: found.revoked_at.is_some(),
        plan,
        provider,
        existing: id(found.existing)?,
        in_flight: id(found.in_flight_phone)?.or(id(found.in_flight_device)?),
    }))
}

pub(super) async fn callback_context(store: &This, token_hash: &str) -> StoreResult<Option<CallbackContext>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {}, {}, COALESCE(c.kind, h.kind) AS provider_kind, COALESCE(c.sealed, h.sealed) AS provider_sealed \
             FROM payments p \
             JOIN plans pl ON pl.id = p.plan_id \
             LEFT JOIN provider_configs c ON c.tenant_id = p.tenant_id AND c.kind = p.provider \
             LEFT JOIN provider_history h ON h.tenant_id = p.tenant_id AND h.kind = p.provider \
             WHERE p.callback_token_hash = $1",
            qualified(PAYMENT_COLUMNS, "p"),
            prefixed(PLAN_COLUMNS, "pl")
        )
    });
    let Some(row) = sqlx::query(&SQL).bind(token_hash).fetch_optional(store.reads()).await? else { return Ok(None) };
    let payment: Payment = PaymentRow::from_row(&row)?.try_into()?;
    let plan = PlanRow::from_row(&row)?.try_into()?;
    let kind: Option<String> = row.try_get("provider_kind")?;
    let sealed: Option<String> = row.try_get("provider_sealed")?;
    let provider = match (kind, sealed) {
        (Some(kind), Some(sealed)) => Some(StoredProvider { tenant_id: payment.tenant_id, kind: parse_provider(&kind)?, sealed }),
        _ => None,
    };
    Ok(Some(CallbackContext { payment, plan, provider }))
}

pub(super) async fn list_payments(store: &This, router: RouterId, limit: u32) -> StoreResult<Vec<Payment>> {
    let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE router_id = $1 ORDER BY created_at DESC LIMIT $2");
    let rows: Vec<PaymentRow> = sqlx::query_as(&sql).bind(router.to_string()).bind(i64::from(limit)).fetch_all(store.reads()).await?;
    rows.into_iter().map(Payment::try_from).collect()
}

pub(super) async fn mark_prompt_sent(
    store: &This,
    id: PaymentId,
    provider_ref: &str,
    secondary_ref: Option<&str>,
    next_check_ms: i64,
    now_ms: i64,
) -> StoreResult<()> {
    // The "prompt_sent" event is written by a trigger in the same statement.
    sqlx::query(
        "UPDATE payments SET provider_ref = COALESCE(provider_ref, $2), secondary_ref = COALESCE(secondary_ref, $3), \
         next_check_at = CASE WHEN state IN ('initiated', 'pending') THEN $4 ELSE next_check_at END, updated_at = $5, \
         state = CASE WHEN state = 'initiated' THEN 'pending' ELSE state END WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(provider_ref)
    .bind(secondary_ref)
    .bind(next_check_ms)
    .bind(now_ms)
    .execute(store.writes())
    .await
    .map_err(|e| conflict_or(e, "provider reference"))?;
    Ok(())
}

pub(super) async fn mark_failed(
    store: &This,
    id: PaymentId,
    state: PaymentState,
    reason: &str,
    heard: Option<Heard<'_>>,
    now_ms: i64,
) -> StoreResult<bool> {
    let mut tx = store.writes().begin().await?;
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
    events_tx(&mut tx, id, &events, now_ms).await?;
    tx.commit().await?;
    Ok(changed)
}

/// Appends events to a payment's timeline inside `tx`, in one statement.
pub(super) async fn events_tx(tx: &mut Transaction<'_, Db>, id: PaymentId, events: &[(&str, &str)], now_ms: i64) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut query = sqlx::QueryBuilder::<Db>::new("INSERT INTO payment_events (payment_id, at, kind, detail) ");
    query.push_values(events, |mut row, (kind, detail)| {
        row.push_bind(id.to_string()).push_bind(now_ms).push_bind(kind.to_string()).push_bind(detail.to_string());
    });
    query.build().execute(&mut **tx).await?;
    Ok(())
}

pub(super) async fn add_payment_event(store: &This, id: PaymentId, kind: &str, detail: &str, now_ms: i64) -> StoreResult<()> {
    sqlx::query("INSERT INTO payment_events (payment_id, at, kind, detail) VALUES ($1, $2, $3, $4)")
        .bind(id.to_string())
        .bind(now_ms)
        .bind(kind)
        .bind(detail)
        .execute(store.writes())
        .await?;
    Ok(())
}

pub(super) async fn payment_events(store: &This, id: PaymentId) -> StoreResult<Vec<PaymentEvent>> {
    let rows: Vec<PaymentEventRow> = sqlx::query_as("SELECT at, kind, detail FROM payment_events WHERE payment_id = $1 ORDER BY id")
        .bind(id.to_string())
        .fetch_all(store.reads())
        .await?;
    Ok(rows.into_iter().map(PaymentEvent::from).collect())
}
