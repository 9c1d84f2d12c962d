//! The store traits mapped onto the shared queries, one line each: the table of contents
//! of `sql/`. Compiled once per backend (see `sql/mod.rs`).

use async_trait::async_trait;
use jasiyo_shared::{AgentCounters, Command, MacAddress, Outcome, Report, RouterId, RouterStatus, Seq};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{This, checks, connects, entitlements, events, outbox, payments, plans, routers, split, tokens};
use crate::model::{
    CommandState, Entitlement, NewPayment, NewPlan, Payment, PaymentEvent, PaymentId, PaymentState, Plan, PlanId, ProviderKind,
    ResultRecorded, Router, RouterEvent, StoredCommand, StoredProvider, Tenant, TenantId,
};
use crate::store::payments::{
    CallbackContext, DeviceMove, Heard, PaidOutcome, PaymentProgress, PaymentStore, PortalContext, PortalQuery, Provision,
};
use crate::store::sql::Backend;
use crate::store::{OutboxSignal, Store, StoreError, StoreResult};
use crate::token::OperatorToken;

#[async_trait]
impl Store for This {
    async fn ping(&self) -> StoreResult<()> {
        routers::ping(self).await
    }

    async fn create_tenant(&self, name: &str, now_ms: i64) -> StoreResult<Tenant> {
        routers::create_tenant(self, name, now_ms).await
    }

    async fn set_time_zone(&self, tenant: TenantId, time_zone: &str) -> StoreResult<bool> {
        routers::set_time_zone(self, tenant, time_zone).await
    }

    async fn find_tenant(&self, id_or_name: &str) -> StoreResult<Option<Tenant>> {
        routers::find_tenant(self, id_or_name).await
    }

    async fn create_router(&self, tenant: TenantId, name: &str, token_hash: &str, now_ms: i64) -> StoreResult<Router> {
        routers::create_router(self, tenant, name, token_hash, now_ms).await
    }

    async fn router(&self, id: RouterId) -> StoreResult<Option<Router>> {
        routers::router(self, id).await
    }

    async fn routers_by_id(&self, ids: &[RouterId]) -> StoreResult<Vec<Router>> {
        routers::routers_by_id(self, ids).await
    }

    async fn list_routers(&self, tenant: Option<TenantId>) -> StoreResult<Vec<Router>> {
        routers::list_routers(self, tenant).await
    }

    async fn revoke_router(&self, id: RouterId, now_ms: i64) -> StoreResult<bool> {
        routers::revoke_router(self, id, now_ms).await
    }

    async fn rotate_router_token(&self, id: RouterId, token_hash: &str, now_ms: i64) -> StoreResult<bool> {
        routers::rotate_router_token(self, id, token_hash, now_ms).await
    }

    async fn routers_connected(&self, connects: &[crate::store::Connect]) -> StoreResult<Vec<crate::store::Connected>> {
        connects::routers_connected(self, connects).await
    }

    async fn router_connected(&self, id: RouterId, session: Uuid, agent_version: &str, now_ms: i64) -> StoreResult<()> {
        routers::router_connected(self, id, session, agent_version, now_ms).await
    }

    async fn router_disconnected(&self, id: RouterId, session: Uuid, now_ms: i64) -> StoreResult<()> {
        routers::router_disconnected(self, id, session, now_ms).await
    }

    async fn routers_seen(&self, ids: &[RouterId], now_ms: i64) -> StoreResult<()> {
        routers::routers_seen(self, ids, now_ms).await
    }

    async fn sessions_seen(&self, sessions: &[(RouterId, Uuid)], now_ms: i64) -> StoreResult<Vec<RouterId>> {
        routers::sessions_seen(self, sessions, now_ms).await
    }

    async fn record_status(&self, id: RouterId, status: &RouterStatus, counters: Option<&AgentCounters>, now_ms: i64) -> StoreResult<()> {
        routers::record_status(self, id, status, counters, now_ms).await
    }

    async fn record_clock_skew(&self, id: RouterId, skew_ms: i64, now_ms: i64) -> StoreResult<()> {
        routers::record_clock_skew(self, id, skew_ms, now_ms).await
    }

    async fn enqueue_command(&self, router: RouterId, command: &Command, now_ms: i64) -> StoreResult<StoredCommand> {
        outbox::enqueue_command(self, router, command, now_ms).await
    }

    async fn open_commands(&self, router: RouterId, after: Option<Seq>, limit: u32) -> StoreResult<Vec<StoredCommand>> {
        outbox::open_commands(self, router, after, limit).await
    }

    async fn mark_delivered(&self, router: RouterId, seqs: &[Seq], now_ms: i64) -> StoreResult<()> {
        outbox::mark_delivered(self, router, seqs, now_ms).await
    }

    async fn mark_received(&self, router: RouterId, seqs: &[Seq], now_ms: i64) -> StoreResult<()> {
        outbox::mark_received(self, router, seqs, now_ms).await
    }

    async fn record_result(&self, router: RouterId, seq: Seq, outcome: &Outcome, now_ms: i64) -> StoreResult<ResultRecorded> {
        let mut recorded = outbox::record_results(self, router, &[(seq, outcome)], now_ms).await?;
        recorded.pop().ok_or_else(|| StoreError::Corrupt("a result went unrecorded".into()))
    }

    async fn renumber_command(&self, router: RouterId, seq: Seq) -> StoreResult<Option<Seq>> {
        outbox::renumber_command(self, router, seq).await
    }

    async fn split_command(&self, router: RouterId, seq: Seq, protocol: u16, now_ms: i64) -> StoreResult<Option<crate::store::Split>> {
        split::split_command(self, router, seq, protocol, now_ms).await
    }

    async fn record_results(&self, router: RouterId, results: &[(Seq, &Outcome)], now_ms: i64) -> StoreResult<Vec<ResultRecorded>> {
        outbox::record_results(self, router, results, now_ms).await
    }

    async fn command_state(&self, router: RouterId, seq: Seq) -> StoreResult<Option<CommandState>> {
        outbox::command_state(self, router, seq).await
    }

    async fn list_commands(&self, router: RouterId, limit: u32) -> StoreResult<Vec<StoredCommand>> {
        outbox::list_commands(self, router, limit).await
    }

    async fn record_report(&self, router: RouterId, report: &Report, now_ms: i64) -> StoreResult<bool> {
        events::record_report(self, router, report, now_ms).await
    }

    async fn list_events(&self, router: RouterId, limit: u32) -> StoreResult<Vec<RouterEvent>> {
        events::list_events(self, router, limit).await
    }

    async fn create_operator_token(&self, name: &str, token_hash: &str, now_ms: i64) -> StoreResult<()> {
        tokens::create_operator_token(self, name, token_hash, now_ms).await
    }

    async fn operator_token_exists(&self, token_hash: &str) -> StoreResult<bool> {
        Ok(tokens::active_operator_token(self, token_hash, crate::store::now_ms()).await?.is_some())
    }

    async fn create_scoped_operator_token(&self, token: &OperatorToken, token_hash: &str) -> StoreResult<()> {
        tokens::create_scoped_operator_token(self, token, token_hash).await
    }

    async fn active_operator_token(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<OperatorToken>> {
        tokens::active_operator_token(self, token_hash, now_ms).await
    }

    async fn list_operator_tokens(&self) -> StoreResult<Vec<OperatorToken>> {
        tokens::list_operator_tokens(self).await
    }

    async fn revoke_operator_token(&self, id: &str, now_ms: i64) -> StoreResult<bool> {
        tokens::revoke_operator_token(self, id, now_ms).await
    }

    async fn record_operator_action(
        &self,
        token_id: &str,
        action: &str,
        router: Option<RouterId>,
        detail: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        tokens::record_operator_action(self, token_id, action, router, detail, now_ms).await
    }

    async fn set_download_token(&self, router: RouterId, token_hash: &str, agent_token_hash: &str, now_ms: i64) -> StoreResult<()> {
        tokens::set_download_token(self, router, token_hash, agent_token_hash, now_ms).await
    }

    async fn download_token_hash(&self, router: RouterId) -> StoreResult<Option<String>> {
        tokens::download_token_hash(self, router).await
    }

    fn spawn_outbox_watcher(&self, signal: OutboxSignal, shutdown: CancellationToken) {
        self.watch_outbox(signal, shutdown)
    }
}

#[async_trait]
impl PaymentStore for This {
    async fn create_plan(&self, tenant: TenantId, plan: &NewPlan, now_ms: i64) -> StoreResult<Plan> {
        plans::create_plan(self, tenant, plan, now_ms).await
    }

    async fn list_plans(&self, tenant: TenantId) -> StoreResult<Vec<Plan>> {
        plans::list_plans(self, tenant).await
    }

    async fn plan(&self, id: PlanId) -> StoreResult<Option<Plan>> {
        plans::plan(self, id).await
    }

    async fn set_provider(
        &self,
        tenant: TenantId,
        kind: ProviderKind,
        sealed: &str,
        callback_token_hash: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<()> {
        plans::set_provider(self, tenant, kind, sealed, callback_token_hash, now_ms).await
    }

    async fn provider_settings(&self, tenant: TenantId, kind: ProviderKind) -> StoreResult<Option<StoredProvider>> {
        plans::provider_settings(self, tenant, kind).await
    }

    async fn provider_by_callback_token(&self, token_hash: &str) -> StoreResult<Option<StoredProvider>> {
        plans::provider_by_callback_token(self, token_hash).await
    }

    async fn legacy_sealed_providers(&self) -> StoreResult<Vec<StoredProvider>> {
        plans::legacy_sealed_providers(self).await
    }

    async fn reseal_provider(&self, tenant: TenantId, kind: ProviderKind, old: &str, new: &str) -> StoreResult<u64> {
        plans::reseal_provider(self, tenant, kind, old, new).await
    }

    async fn claim_prompt(
        &self,
        router: RouterId,
        holders: &[String],
        payment: PaymentId,
        now_ms: i64,
        until_ms: i64,
    ) -> StoreResult<bool> {
        payments::claim_prompt(self, router, holders, payment, now_ms, until_ms).await
    }

    async fn release_device_claim(&self, router: RouterId, holder: &str, payment: PaymentId) -> StoreResult<bool> {
        payments::release_device_claim(self, router, holder, payment).await
    }

    async fn create_payment(&self, payment: &NewPayment, now_ms: i64) -> StoreResult<Payment> {
        payments::create_payment(self, payment, now_ms).await
    }

    async fn payment(&self, id: PaymentId) -> StoreResult<Option<Payment>> {
        payments::payment(self, id).await
    }

    async fn payment_by_idempotency(&self, router: RouterId, key: &str) -> StoreResult<Option<Payment>> {
        payments::payment_by_idempotency(self, router, key).await
    }

    async fn payment_by_callback_token(&self, token_hash: &str) -> StoreResult<Option<Payment>> {
        payments::payment_by_callback_token(self, token_hash).await
    }

    async fn payment_progress(&self, id: PaymentId) -> StoreResult<Option<PaymentProgress>> {
        payments::payment_progress(self, id).await
    }

    async fn portal_context(&self, query: PortalQuery<'_>) -> StoreResult<Option<PortalContext>> {
        payments::portal_context(self, query).await
    }

    async fn callback_context(&self, token_hash: &str) -> StoreResult<Option<CallbackContext>> {
        payments::callback_context(self, token_hash).await
    }

    async fn payment_by_provider_ref(&self, provider: ProviderKind, provider_ref: &str) -> StoreResult<Option<Payment>> {
        payments::payment_by_provider_ref(self, provider, provider_ref).await
    }

    async fn list_payments(&self, router: RouterId, limit: u32) -> StoreResult<Vec<Payment>> {
        payments::list_payments(self, router, limit).await
    }

    async fn mark_prompt_sent(
        &self,
        id: PaymentId,
        provider_ref: &str,
        secondary_ref: Option<&str>,
        next_check_ms: i64,
        now_ms: i64,
    ) -> StoreResult<()> {
        payments::mark_prompt_sent(self, id, provider_ref, secondary_ref, next_check_ms, now_ms).await
    }

    async fn mark_failed(
        &self,
        id: PaymentId,
        state: PaymentState,
        reason: &str,
        heard: Option<Heard<'_>>,
        now_ms: i64,
    ) -> StoreResult<bool> {
        payments::mark_failed(self, id, state, reason, heard, now_ms).await
    }

    async fn mark_paid(
        &self,
        id: PaymentId,
        receipt: Option<&str>,
        provision: &Provision,
        heard: Option<Heard<'_>>,
        now_ms: i64,
    ) -> StoreResult<PaidOutcome> {
        // PostgreSQL does it in one statement (pg_paid.rs); SQLite in a transaction.
        self.record_paid(id, receipt, provision, heard, now_ms).await
    }

    async fn schedule_check(&self, id: PaymentId, next_check_ms: Option<i64>, checks: u32) -> StoreResult<()> {
        checks::schedule_check(self, id, next_check_ms, checks).await
    }

    async fn claim_due_payments(&self, now_ms: i64, lease_until_ms: i64, limit: u32) -> StoreResult<Vec<Payment>> {
        checks::claim_due_payments(self, now_ms, lease_until_ms, limit).await
    }

    async fn hasten_checks(&self, since_ms: i64, now_ms: i64) -> StoreResult<u64> {
        checks::hasten_checks(self, since_ms, now_ms).await
    }

    async fn adopt_reference(
        &self,
        id: PaymentId,
        provider_ref: Option<&str>,
        secondary_ref: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<bool> {
        checks::adopt_reference(self, id, provider_ref, secondary_ref, now_ms).await
    }

    async fn record_late_receipt(&self, id: PaymentId, receipt: &str, now_ms: i64) -> StoreResult<bool> {
        checks::record_late_receipt(self, id, receipt, now_ms).await
    }

    async fn add_payment_event(&self, id: PaymentId, kind: &str, detail: &str, now_ms: i64) -> StoreResult<()> {
        payments::add_payment_event(self, id, kind, detail, now_ms).await
    }

    async fn payment_events(&self, id: PaymentId) -> StoreResult<Vec<PaymentEvent>> {
        payments::payment_events(self, id).await
    }

    async fn entitlement_for_payment(&self, id: PaymentId) -> StoreResult<Option<Entitlement>> {
        entitlements::entitlement_for_payment(self, id).await
    }

    async fn entitlements_by_receipt(&self, router: RouterId, receipt: &str) -> StoreResult<Vec<(Payment, Entitlement)>> {
        entitlements::entitlements_by_receipt(self, router, receipt).await
    }

    async fn move_entitlement(
        &self,
        id: Uuid,
        from: Option<MacAddress>,
        to: MacAddress,
        moves: &DeviceMove,
        now_ms: i64,
    ) -> StoreResult<Entitlement> {
        entitlements::move_entitlement(self, id, from, to, moves, now_ms).await
    }

    async fn reset_moves(&self, payment: PaymentId) -> StoreResult<bool> {
        entitlements::reset_moves(self, payment).await
    }

    async fn cached_token(&self, key: &str, valid_until_ms: i64) -> StoreResult<Option<(String, i64)>> {
        tokens::cached_token(self, key, valid_until_ms).await
    }

    async fn cache_token(&self, key: &str, token: &str, expires_at_ms: i64) -> StoreResult<()> {
        tokens::cache_token(self, key, token, expires_at_ms).await
    }

    async fn forget_token(&self, key: &str, token: &str) -> StoreResult<()> {
        tokens::forget_token(self, key, token).await
    }

    async fn claim_token_refresh(&self, key: &str, holder: &str, now_ms: i64, lease_until_ms: i64) -> StoreResult<bool> {
        tokens::claim_token_refresh(self, key, holder, now_ms, lease_until_ms).await
    }
}
