//! One evaluation pass: read every tenant's facts once, work out which conditions hold,
//! open an alert for each that has none open and close each open alert whose condition
//! cleared. Opening and closing are single statements the database arbitrates, so passes
//! running at once on several instances open (and close) each alert once.

use std::collections::{HashMap, HashSet};

use super::{AlertKind, Alerts, Change};
use crate::model::TenantId;
use crate::store::StoreResult;
use crate::store::alerts::Thresholds;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
/// The window failed payments are counted in.
pub const FAILURE_WINDOW_MS: i64 = 30 * MINUTE_MS;
/// How long a command may stay unfinished on an online router.
pub const STUCK_AFTER_MS: i64 = 15 * MINUTE_MS;
/// The window a router's usual sales are judged over, and on how many days in it it sold.
const SALES_WINDOW_MS: i64 = 7 * 24 * HOUR_MS;
const USUAL_SALES_DAYS: i64 = 3;
/// Failure reasons that are the customer's doing, not a problem of the business.
const CUSTOMER_REASONS: [&str; 4] = ["cancelled", "wrong_pin", "insufficient_funds", "limit_exceeded"];
/// How a refused provider credential is recorded on the payment that found it (see
/// `ProviderError::Auth` and `Payments::start`).
const AUTH_REASON: &str = "provider: provider credentials refused";

/// A condition that holds now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Whose.
    pub tenant: TenantId,
    /// What.
    pub kind: AlertKind,
    /// Which thing (a router's id, `payments`, `provider`).
    pub subject: String,
    /// In words.
    pub detail: String,
}

impl Alerts {
    /// Evaluates once at `now_ms`: opens and closes alerts, and says which; delivers nothing.
    pub async fn evaluate_once(&self, now_ms: i64) -> StoreResult<Vec<Change>> {
        let found = self.findings(now_ms).await?;
        let open = self.store.open_alerts(None).await?;
        let holding: HashSet<(TenantId, &str, &str)> = found.iter().map(|f| (f.tenant, f.kind.as_str(), f.subject.as_str())).collect();
        let mut changes = Vec::new();
        for alert in &open {
            if !holding.contains(&(alert.tenant_id, alert.kind.as_str(), alert.subject.as_str()))
                && let Some(closed) = self.store.close_alert(alert.id, now_ms).await?
            {
                tracing::info!(tenant = %closed.tenant_id, kind = %closed.kind, subject = %closed.subject, "alert closed");
                changes.push(Change::Closed(closed));
            }
        }
        let opened: HashSet<(TenantId, &str, &str)> = open.iter().map(|a| (a.tenant_id, a.kind.as_str(), a.subject.as_str())).collect();
        for finding in &found {
            if opened.contains(&(finding.tenant, finding.kind.as_str(), finding.subject.as_str())) {
                continue;
            }
            let opened = self.store.open_alert(finding.tenant, finding.kind.as_str(), &finding.subject, &finding.detail, now_ms).await?;
            if let Some(alert) = opened {
                tracing::info!(tenant = %alert.tenant_id, kind = %alert.kind, subject = %alert.subject, "alert opened");
                changes.push(Change::Opened(alert));
            }
        }
        Ok(changes)
    }

    /// The conditions holding at `now_ms`, for every tenant.
    pub async fn findings(&self, now_ms: i64) -> StoreResult<Vec<Finding>> {
        let store = self.store.as_ref();
        let settings: HashMap<TenantId, Thresholds> =
            store.all_alert_settings().await?.into_iter().map(|(t, s)| (t, s.thresholds)).collect();
        let thresholds = |tenant: &TenantId| settings.get(tenant).copied().unwrap_or_default();
        let routers = store.list_routers(None).await?;
        let routers: HashMap<_, _> = routers.into_iter().filter(|r| r.revoked_at.is_none()).map(|r| (r.id, r)).collect();
        let mut found = Vec::new();

        for router in routers.values() {
            let limit = thresholds(&router.tenant_id).offline_minutes * MINUTE_MS;
            // A router never heard from is still being set up: nothing to alert about.
            let Some(seen) = router.last_seen_at else { continue };
            if !router.is_online(now_ms, self.stale_after_ms) && now_ms - seen > limit {
                found.push(Finding {
                    tenant: router.tenant_id,
                    kind: AlertKind::RouterOffline,
                    subject: router.id.to_string(),
                    detail: format!("Router {} is offline: last heard from {} minutes ago.", router.name, (now_ms - seen) / MINUTE_MS),
                });
            }
        }

        // The skew its agent last measured: it stays the router's best known clock while the
        // router is offline (that has its own alert), and clears when it comes back in step.
        for router in routers.values().filter(|r| r.clock_off()) {
            let skew = router.clock_skew_ms.unwrap_or_default();
            found.push(Finding {
                tenant: router.tenant_id,
                kind: AlertKind::ClockSkew,
                subject: router.id.to_string(),
                detail: format!(
                    "Router {}'s clock is {} (more than a minute off). Expiries still hold, but set up NTP on the router \
                     (/system/ntp/client).",
                    router.name,
                    crate::model::describe_skew(skew)
                ),
            });
        }

        for stuck in store.stuck_commands(now_ms - STUCK_AFTER_MS).await? {
            let Some(router) = routers.get(&stuck.router_id) else { continue };
            if router.is_online(now_ms, self.stale_after_ms) {
                found.push(Finding {
                    tenant: router.tenant_id,
                    kind: AlertKind::CommandsStuck,
                    subject: router.id.to_string(),
                    detail: format!(
                        "Router {} is online but {} command(s) sent to it are unfinished after more than 15 minutes.",
                        router.name, stuck.count
                    ),
                });
            }
        }

        for sales in store.sales_since(now_ms - SALES_WINDOW_MS).await? {
            let Some(router) = routers.get(&sales.router_id) else { continue };
            let quiet = thresholds(&router.tenant_id).quiet_hours;
            if sales.days >= USUAL_SALES_DAYS && now_ms - sales.last_paid_at > quiet * HOUR_MS {
                found.push(Finding {
                    tenant: router.tenant_id,
                    kind: AlertKind::NoSales,
                    subject: router.id.to_string(),
                    detail: format!(
                        "Router {} usually sells (on {} of the last 7 days) but has sold nothing for {} hours.",
                        router.name,
                        sales.days,
                        (now_ms - sales.last_paid_at) / HOUR_MS
                    ),
                });
            }
        }

        let mut failures: HashMap<TenantId, Vec<(String, i64)>> = HashMap::new();
        for failure in store.failures_since(now_ms - FAILURE_WINDOW_MS).await? {
            if failure.reason.starts_with(AUTH_REASON) {
                found.push(Finding {
                    tenant: failure.tenant_id,
                    kind: AlertKind::ProviderAuth,
                    subject: "provider".into(),
                    detail: format!("The payment provider refused your credentials: {}. Check them in Settings.", failure.reason),
                });
            }
            if !CUSTOMER_REASONS.contains(&failure.reason.as_str()) {
                failures.entry(failure.tenant_id).or_default().push((failure.reason, failure.count));
            }
        }
        for (tenant, mut reasons) in failures {
            let total: i64 = reasons.iter().map(|(_, n)| n).sum();
            if total < thresholds(&tenant).failures {
                continue;
            }
            reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let named: Vec<String> = reasons.iter().take(3).map(|(reason, n)| format!("{reason} ({n})")).collect();
            found.push(Finding {
                tenant,
                kind: AlertKind::PaymentsFailing,
                subject: "payments".into(),
                detail: format!("{total} payments failed in the last 30 minutes: {}.", named.join(", ")),
            });
        }
        // Two refused-credential reasons of one tenant are one condition.
        let mut seen = HashSet::new();
        found.retain(|f| seen.insert((f.tenant, f.kind, f.subject.clone())));
        Ok(found)
    }
}
