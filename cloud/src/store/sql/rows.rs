//! The tables' rows as the database returns them, read by column name, and their checked
//! conversion into the model. Each `*_COLUMNS` list is what a query selects for its row
//! struct; a table read beside another in a join is selected with a prefix
//! ([`prefixed`]), and its row struct's names carry the same prefix.

use jasiyo_shared::{RouterId, Seq};

use super::{parse_json, parse_uuid};
use crate::model::{
    CommandState, Entitlement, Payment, PaymentEvent, PaymentId, PaymentState, Plan, PlanId, ProviderKind, Router, RouterEvent,
    StoredCommand, StoredProvider, Tenant, TenantId,
};
use crate::store::{StoreError, StoreResult};

/// `tenants`.
pub(crate) const TENANT_COLUMNS: &str = "id, name, created_at, time_zone, suspended_at";

/// A `tenants` row.
#[derive(sqlx::FromRow)]
pub(crate) struct TenantRow {
    id: String,
    name: String,
    created_at: i64,
    time_zone: String,
    suspended_at: Option<i64>,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = StoreError;
    fn try_from(row: TenantRow) -> StoreResult<Tenant> {
        Ok(Tenant {
            id: TenantId(parse_uuid("tenant id", &row.id)?),
            name: row.name,
            created_at: row.created_at,
            time_zone: row.time_zone,
            suspended_at: row.suspended_at,
        })
    }
}

/// `routers`.
pub(crate) const ROUTER_COLUMNS: &str = "id, tenant_id, name, token_hash, created_at, revoked_at, online_session, last_seen_at, connected_at, disconnected_at, \
     agent_version, status_json, status_at, clock_skew_ms, clock_skew_at, counters_json";

/// A `routers` row.
#[derive(sqlx::FromRow)]
pub(crate) struct RouterRow {
    id: String,
    tenant_id: String,
    name: String,
    token_hash: String,
    created_at: i64,
    revoked_at: Option<i64>,
    online_session: Option<String>,
    last_seen_at: Option<i64>,
    connected_at: Option<i64>,
    disconnected_at: Option<i64>,
    agent_version: Option<String>,
    status_json: Option<String>,
    status_at: Option<i64>,
    clock_skew_ms: Option<i64>,
    clock_skew_at: Option<i64>,
    counters_json: Option<String>,
}

impl TryFrom<RouterRow> for Router {
    type Error = StoreError;
    fn try_from(row: RouterRow) -> StoreResult<Router> {
        Ok(Router {
            id: parse_uuid("router id", &row.id)?.into(),
            tenant_id: TenantId(parse_uuid("tenant id", &row.tenant_id)?),
            name: row.name,
            token_hash: row.token_hash,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
            online_session: row.online_session.map(|s| parse_uuid("session", &s)).transpose()?,
            last_seen_at: row.last_seen_at,
            connected_at: row.connected_at,
            disconnected_at: row.disconnected_at,
            agent_version: row.agent_version,
            status: row.status_json.map(|s| parse_json("router status", &s)).transpose()?,
            status_at: row.status_at,
            clock_skew_ms: row.clock_skew_ms,
            clock_skew_at: row.clock_skew_at,
            counters: row.counters_json.map(|s| parse_json("agent counters", &s)).transpose()?,
        })
    }
}

/// `commands`.
pub(crate) const COMMAND_COLUMNS: &str = "router_id, seq, id, payload, state, created_at, delivered_at, received_at, finished_at, result";

/// A `commands` row.
#[derive(sqlx::FromRow)]
pub(crate) struct CommandRow {
    router_id: String,
    seq: i64,
    id: String,
    payload: String,
    state: String,
    created_at: i64,
    delivered_at: Option<i64>,
    received_at: Option<i64>,
    finished_at: Option<i64>,
    result: Option<String>,
}

impl TryFrom<CommandRow> for StoredCommand {
    type Error = StoreError;
    fn try_from(row: CommandRow) -> StoreResult<StoredCommand> {
        Ok(StoredCommand {
            router_id: parse_uuid("router id", &row.router_id)?.into(),
            seq: Seq(row.seq as u64),
            id: parse_uuid("command id", &row.id)?.into(),
            command: parse_json("command payload", &row.payload)?,
            state: parse_state(&row.state)?,
            created_at: row.created_at,
            delivered_at: row.delivered_at,
            received_at: row.received_at,
            finished_at: row.finished_at,
            outcome: row.result.map(|r| parse_json("command result", &r)).transpose()?,
        })
    }
}

/// Reads a stored command state.
pub(crate) fn parse_state(text: &str) -> StoreResult<CommandState> {
    CommandState::parse(text).ok_or_else(|| StoreError::Corrupt(format!("command state {text:?}")))
}

/// `router_events`.
pub(crate) const EVENT_COLUMNS: &str = "router_id, report_id, happened_at, received_at, detail";

/// A `router_events` row.
#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    router_id: String,
    report_id: i64,
    happened_at: i64,
    received_at: i64,
    detail: String,
}

impl TryFrom<EventRow> for RouterEvent {
    type Error = StoreError;
    fn try_from(row: EventRow) -> StoreResult<RouterEvent> {
        Ok(RouterEvent {
            router_id: parse_uuid("router id", &row.router_id)?.into(),
            report_id: row.report_id as u64,
            happened_at: row.happened_at,
            received_at: row.received_at,
            event: parse_json("router event", &row.detail)?,
        })
    }
}

/// `plans`, always selected as `pl` with the prefix `pl_` (payments have a `plan_id`).
pub(crate) const PLAN_COLUMNS: &str =
    "id, tenant_id, name, price_kes, duration_secs, data_mb, rate_limit, profile, shared_users, active, created_at, position";

/// A `plans` row, its columns prefixed `pl_`.
#[derive(sqlx::FromRow)]
pub(crate) struct PlanRow {
    pl_id: String,
    pl_tenant_id: String,
    pl_name: String,
    pl_price_kes: i64,
    pl_duration_secs: i64,
    pl_data_mb: Option<i64>,
    pl_rate_limit: Option<String>,
    pl_profile: Option<String>,
    pl_shared_users: Option<i64>,
    pl_active: i64,
    pl_created_at: i64,
    pl_position: i64,
}

impl TryFrom<PlanRow> for Plan {
    type Error = StoreError;
    fn try_from(row: PlanRow) -> StoreResult<Plan> {
        Ok(Plan {
            id: PlanId(parse_uuid("plan id", &row.pl_id)?),
            tenant_id: TenantId(parse_uuid("tenant id", &row.pl_tenant_id)?),
            name: row.pl_name,
            price_kes: count("plan price", row.pl_price_kes)?,
            duration_secs: row.pl_duration_secs as u64,
            data_mb: row.pl_data_mb.map(|v| v as u64),
            rate_limit: row.pl_rate_limit,
            profile: row.pl_profile,
            shared_users: row.pl_shared_users.map(|n| count("plan shared users", n)).transpose()?,
            active: row.pl_active != 0,
            created_at: row.pl_created_at,
            position: count("plan position", row.pl_position)?,
        })
    }
}

/// `payments`, unprefixed (the main table wherever it is joined).
pub(crate) const PAYMENT_COLUMNS: &str = "id, tenant_id, router_id, plan_id, provider, amount_kes, msisdn, device_mac, device_ip, \
     client_ip, idempotency_key, provider_ref, secondary_ref, state, reason, receipt, created_at, updated_at, paid_at, \
     next_check_at, checks";

/// A `payments` row.
#[derive(sqlx::FromRow)]
pub(crate) struct PaymentRow {
    id: String,
    tenant_id: String,
    router_id: String,
    plan_id: String,
    provider: String,
    amount_kes: i64,
    msisdn: String,
    device_mac: Option<String>,
    device_ip: Option<String>,
    client_ip: Option<String>,
    idempotency_key: String,
    provider_ref: Option<String>,
    secondary_ref: Option<String>,
    state: String,
    reason: Option<String>,
    receipt: Option<String>,
    created_at: i64,
    updated_at: i64,
    paid_at: Option<i64>,
    next_check_at: Option<i64>,
    checks: i64,
}

impl TryFrom<PaymentRow> for Payment {
    type Error = StoreError;
    fn try_from(row: PaymentRow) -> StoreResult<Payment> {
        let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("payment {what} {v:?}"));
        Ok(Payment {
            id: PaymentId(parse_uuid("payment id", &row.id)?),
            tenant_id: TenantId(parse_uuid("tenant id", &row.tenant_id)?),
            router_id: parse_uuid("router id", &row.router_id)?.into(),
            plan_id: PlanId(parse_uuid("plan id", &row.plan_id)?),
            provider: parse_provider(&row.provider)?,
            amount_kes: count("payment amount", row.amount_kes)?,
            msisdn: row.msisdn,
            device_mac: row.device_mac.as_deref().map(|m| m.parse().map_err(|_| corrupt("mac", m))).transpose()?,
            device_ip: row.device_ip.as_deref().map(|i| i.parse().map_err(|_| corrupt("ip", i))).transpose()?,
            client_ip: row.client_ip,
            idempotency_key: row.idempotency_key,
            provider_ref: row.provider_ref,
            secondary_ref: row.secondary_ref,
            state: PaymentState::parse(&row.state).ok_or_else(|| corrupt("state", &row.state))?,
            reason: row.reason,
            receipt: row.receipt,
            created_at: row.created_at,
            updated_at: row.updated_at,
            paid_at: row.paid_at,
            next_check_at: row.next_check_at,
            checks: count("payment checks", row.checks)?,
        })
    }
}

/// `payment_events`.
#[derive(sqlx::FromRow)]
pub(crate) struct PaymentEventRow {
    at: i64,
    kind: String,
    detail: String,
}

impl From<PaymentEventRow> for PaymentEvent {
    fn from(row: PaymentEventRow) -> PaymentEvent {
        PaymentEvent { at: row.at, kind: row.kind, detail: row.detail }
    }
}

/// `entitlements`, always selected as `ent` with the prefix `ent_`.
pub(crate) const ENTITLEMENT_COLUMNS: &str =
    "id, payment_id, router_id, username, password, device_mac, expires_at, command_seq, login_seq, moved_away_at, created_at";

/// An `entitlements` row, its columns prefixed `ent_`.
#[derive(sqlx::FromRow)]
pub(crate) struct EntitlementRow {
    ent_id: String,
    ent_payment_id: String,
    ent_router_id: String,
    ent_username: String,
    ent_password: String,
    ent_device_mac: Option<String>,
    ent_expires_at: i64,
    ent_command_seq: i64,
    ent_login_seq: Option<i64>,
    ent_moved_away_at: Option<i64>,
    ent_created_at: i64,
}

impl TryFrom<EntitlementRow> for Entitlement {
    type Error = StoreError;
    fn try_from(row: EntitlementRow) -> StoreResult<Entitlement> {
        Ok(Entitlement {
            id: parse_uuid("entitlement id", &row.ent_id)?,
            payment_id: PaymentId(parse_uuid("payment id", &row.ent_payment_id)?),
            router_id: parse_uuid("router id", &row.ent_router_id)?.into(),
            username: row.ent_username,
            password: row.ent_password,
            device_mac: row.ent_device_mac.and_then(|m| m.parse().ok()),
            expires_at: row.ent_expires_at,
            command_seq: row.ent_command_seq as u64,
            login_seq: row.ent_login_seq.map(|s| s as u64),
            moved_away_at: row.ent_moved_away_at,
            created_at: row.ent_created_at,
        })
    }
}

/// A provider's settings (`provider_configs` or `provider_history`).
#[derive(sqlx::FromRow)]
pub(crate) struct ProviderRow {
    tenant_id: String,
    kind: String,
    sealed: String,
}

impl TryFrom<ProviderRow> for StoredProvider {
    type Error = StoreError;
    fn try_from(row: ProviderRow) -> StoreResult<StoredProvider> {
        Ok(StoredProvider {
            tenant_id: TenantId(parse_uuid("tenant id", &row.tenant_id)?),
            kind: parse_provider(&row.kind)?,
            sealed: row.sealed,
        })
    }
}

/// Reads a stored provider kind.
pub(crate) fn parse_provider(text: &str) -> StoreResult<ProviderKind> {
    ProviderKind::parse(text).ok_or_else(|| StoreError::Corrupt(format!("provider kind {text:?}")))
}

/// Reads a stored router id.
pub(crate) fn parse_router(text: &str) -> StoreResult<RouterId> {
    Ok(parse_uuid("router id", text)?.into())
}

/// Reads a stored payment id.
pub(crate) fn parse_payment(text: &str) -> StoreResult<PaymentId> {
    Ok(PaymentId(parse_uuid("payment id", text)?))
}

/// A stored count that must fit a `u32`.
fn count(what: &str, value: i64) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value}")))
}

/// `columns` each read from `alias` and renamed `{alias}_{column}`, for a joined table.
pub(crate) fn prefixed(columns: &str, alias: &str) -> String {
    columns.split(',').map(|c| format!("{alias}.{c} AS {alias}_{c}", c = c.trim())).collect::<Vec<_>>().join(", ")
}

/// `columns` each read from `alias` under its own name, for the main table of a join.
pub(crate) fn qualified(columns: &str, alias: &str) -> String {
    columns.split(',').map(|c| format!("{alias}.{}", c.trim())).collect::<Vec<_>>().join(", ")
}
