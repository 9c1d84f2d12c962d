//! A paid payment in PostgreSQL, in one statement.
//!
//! Marking a payment paid writes five things that must commit together: the payment's state
//! and receipt, its timeline, the entitlement, the router commands (with the router's next
//! sequence numbers) and the notification that wakes the router's session. As a transaction
//! of separate statements that is seven round trips, and the router's sequence counter stays
//! locked from the enqueue to the commit, so a busy router's payments queue on it. Here it is
//! one statement (data-modifying CTEs), which PostgreSQL runs atomically: one round trip, and
//! the counter is locked only while the statement finishes.

use jasiyo_shared::RouterId;

use super::StoreResult;
use super::payments::{Heard, PaidOutcome, Provision};
use super::postgres::{OUTBOX_CHANNEL, PostgresStore};
use super::sql::rows::parse_router;
use super::sql::{Backend, to_json};
use crate::model::PaymentId;

/// `$1` payment, `$2` receipt, `$3` now (ms), `$4`/`$5` what the provider said (source,
/// detail; may be null), `$6` "paid" detail, `$7` "entitlement_created" detail, `$8`
/// entitlement id, `$9` username, `$10` password, `$11` expiry (s), `$12`/`$13`/`$14` the
/// commands' ids, kinds and payloads in order (the first creates the user, a second logs the
/// device in), `$15` the outbox channel.
///
/// Nothing but the provider's word is written when the payment was already paid (`paid` is
/// empty, so is everything that reads it). Timeline rows are inserted by one statement in
/// order, so their ids keep the order of the steps. Other payments with the same receipt
/// (`shared`) are counted on the new payment's timeline, and the first three of the same owner
/// (`sql::FLAGGED_OTHERS`) flagged on theirs, in the words of `sql::receipt_shared` and
/// `sql::receipt_recorded_again`; they do not stop the payment.
const PAID: &str = "\
WITH paid AS (
    UPDATE payments SET state = 'paid', reason = NULL, receipt = COALESCE($2, receipt), paid_at = $3,
        updated_at = $3, next_check_at = NULL
    WHERE id = $1 AND state <> 'paid'
    RETURNING router_id, device_mac, tenant_id
), shared AS (
    SELECT other.id, other.tenant_id, other.created_at FROM payments other
    WHERE other.receipt = $2::text AND other.id <> $1 AND EXISTS (SELECT 1 FROM paid)
), timeline AS (
    INSERT INTO payment_events (payment_id, at, kind, detail)
    SELECT $1, $3, step.kind, step.detail
    FROM (VALUES (1, $4::text, $5::text), (2, 'paid', $6::text), (3, 'entitlement_created', $7::text),
        (4, 'receipt_shared', (SELECT 'receipt ' || $2::text || ' is also recorded on ' || count(*) || ' other payment(s); check it with the provider'
                               FROM shared HAVING count(*) > 0))) AS step(ord, kind, detail)
    WHERE step.kind IS NOT NULL AND step.detail IS NOT NULL AND (step.ord = 1 OR EXISTS (SELECT 1 FROM paid))
    ORDER BY step.ord
), flagged AS (
    INSERT INTO payment_events (payment_id, at, kind, detail)
    SELECT first.id, $3, 'receipt_shared', 'receipt ' || $2::text || ' recorded again, on payment ' || $1
    FROM (SELECT shared.id FROM shared, paid WHERE shared.tenant_id = paid.tenant_id
          ORDER BY shared.created_at, shared.id LIMIT 3) AS first
), next AS (
    UPDATE routers SET next_seq = next_seq + cardinality($12::text[])
    WHERE id = (SELECT router_id FROM paid)
    RETURNING id, next_seq - cardinality($12::text[]) AS base
), enqueued AS (
    INSERT INTO commands (id, router_id, seq, kind, payload, state, created_at)
    SELECT c.id, next.id, next.base + c.ord, c.kind, c.payload, 'queued', $3
    FROM next, unnest($12::text[], $13::text[], $14::text[]) WITH ORDINALITY AS c(id, kind, payload, ord)
), entitled AS (
    INSERT INTO entitlements (id, payment_id, router_id, username, password, device_mac, expires_at, command_seq, login_seq, created_at)
    SELECT $8, $1, paid.router_id, $9, $10, paid.device_mac, $11, next.base + 1,
        CASE WHEN cardinality($12::text[]) > 1 THEN next.base + 2 END, $3
    FROM paid, next
)
SELECT paid.router_id, paid.device_mac, next.base, (SELECT 1 FROM pg_notify($15, paid.router_id)) AS announced
FROM paid, next";

/// What the statement returns when the payment became paid: router, device MAC, the base of
/// the commands' sequence numbers, and the notification's placeholder.
type PaidRow = (String, Option<String>, i64, Option<i32>);

impl PostgresStore {
    /// Records a payment paid with its entitlement and commands (see the module).
    pub(super) async fn paid_in_one_statement(
        &self,
        id: PaymentId,
        receipt: Option<&str>,
        provision: &Provision,
        heard: Option<Heard<'_>>,
        now_ms: i64,
    ) -> StoreResult<PaidOutcome> {
        let commands: Vec<_> = std::iter::once(&provision.upsert).chain(provision.login.as_ref()).collect();
        let ids: Vec<String> = commands.iter().map(|_| jasiyo_shared::CommandId::new().to_string()).collect();
        let kinds: Vec<&str> = commands.iter().map(|c| c.kind()).collect();
        let payloads: Vec<String> = commands.iter().map(to_json).collect();
        let entitlement_id = uuid::Uuid::new_v4();
        let paid = format!("receipt {}", receipt.unwrap_or("(from status query)"));
        let created = format!("user {} until {}", provision.username, provision.expires_at);
        let row: Result<Option<PaidRow>, sqlx::Error> = sqlx::query_as(PAID)
            .bind(id.to_string())
            .bind(receipt)
            .bind(now_ms)
            .bind(heard.map(|h| h.source))
            .bind(heard.map(|h| h.detail))
            .bind(&paid)
            .bind(&created)
            .bind(entitlement_id.to_string())
            .bind(&provision.username)
            .bind(&provision.password)
            .bind(provision.expires_at)
            .bind(&ids)
            .bind(&kinds)
            .bind(&payloads)
            .bind(OUTBOX_CHANNEL)
            .fetch_optional(self.writes())
            .await;
        let row = match row {
            Ok(row) => row,
            // The only unique key the statement can break: the router's hotspot usernames.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                return Err(super::StoreError::Conflict("hotspot username".into()));
            }
            Err(e) => return Err(e.into()),
        };
        let Some((router, mac, base, _)) = row else { return Ok(PaidOutcome::AlreadyPaid) };
        let router: RouterId = parse_router(&router)?;
        let device_mac = mac.as_deref().and_then(|m| m.parse().ok());
        let login_seq = provision.login.as_ref().map(|_| (base + 2) as u64);
        Ok(PaidOutcome::Provisioned(provision.entitlement(entitlement_id, id, router, device_mac, (base + 1) as u64, login_seq, now_ms)))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_paid_statement_flags_as_many_earlier_payments_as_sqlite() {
        assert!(super::PAID.contains(&format!("LIMIT {}", super::super::sql::FLAGGED_OTHERS)));
    }
}
