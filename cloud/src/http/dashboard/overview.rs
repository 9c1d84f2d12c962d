//! The overview page and its live updates (`/dashboard/live`: a long poll that answers
//! when what the overview shows has changed).
//!
//! "What it shows" is a fingerprint of the tenant's newest payments, its open alerts and its routers'
//! online states, read from the store, so a change made on another cloud instance is seen
//! too (within one re-read); a change on this instance wakes the poll at once.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::{Timestamp, ToSpan};
use serde::Deserialize;

use super::render;
use super::session::Member;
use crate::dashboard::overview::{OverviewData, overview as overview_page};
use crate::hub::Hub;
use crate::model::{Router, TenantId};
use crate::payments::Payments;
use crate::store::alerts::Alert;
use crate::store::dashboard::{DaySales, PaymentFilter, PaymentLine};
use crate::store::voucher_sales::SaleFilter;
use crate::store::{StoreResult, now_ms};

/// How many payments the overview lists.
const RECENT: u32 = 10;
/// How long a live poll is held when nothing changes.
const HOLD: Duration = Duration::from_secs(25);
/// How often a held poll reads the store again (changes made on other instances).
const REREAD: Duration = Duration::from_secs(3);
const DAY_MS: i64 = 86_400_000;

/// The fingerprint of what the overview shows.
fn fingerprint((recent, routers, alerts): &Shown, hub: &Hub) -> u64 {
    let mut hasher = DefaultHasher::new();
    let now = now_ms();
    let stale = hub.stale_after().as_millis() as i64;
    for line in recent {
        (line.payment.id.0, line.payment.state.as_str(), line.payment.updated_at).hash(&mut hasher);
    }
    for router in routers {
        (router.id.to_string(), router.is_online(now, stale), router.revoked_at).hash(&mut hasher);
    }
    for alert in alerts {
        alert.id.hash(&mut hasher);
    }
    hasher.finish()
}

/// What the live part of the overview shows: the newest payments, the routers and the
/// open alerts.
type Shown = (Vec<PaymentLine>, Vec<Router>, Vec<Alert>);

async fn current(hub: &Hub, tenant: TenantId) -> StoreResult<Shown> {
    let store = hub.store();
    let all = PaymentFilter::default();
    tokio::try_join!(store.payment_lines(tenant, &all, None, RECENT), store.list_routers(Some(tenant)), store.open_alerts(Some(tenant)))
}

fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "a dashboard page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

pub(super) async fn overview(State(hub): State<Arc<Hub>>, member: Member, headers: HeaderMap) -> Response {
    let tenant = &member.tenant;
    let tz = crate::time::zone_or_default(&tenant.time_zone);
    let now = Timestamp::now().to_zoned(tz.clone());
    let offset = tz.to_offset(now.timestamp()).seconds() as i64;
    let today = (now.timestamp().as_millisecond() + offset * 1000).div_euclid(DAY_MS);
    let month_start = now.date().first_of_month();
    let first = today - 29;
    let since = (first.min(today - i64::from(now.day()) + 1)) * DAY_MS - offset * 1000;
    let store = hub.store();
    let month_first_day = (month_start - jiff::civil::date(1970, 1, 1)).get_days() as i64;
    let since_day = |day: i64| SaleFilter { from_ms: Some(day * DAY_MS - offset * 1000), ..SaleFilter::default() };
    let (today_filter, month_filter) = (since_day(today), since_day(month_first_day));
    // What the live updates compare against is read first: a payment paid while the totals
    // are read then changes it, and the page reloads, instead of showing the payment in the
    // list with totals from before it.
    let shown = match current(&hub, tenant.id).await {
        Ok(shown) => shown,
        Err(error) => return internal(error),
    };
    let (sales, cash_today, cash_month) = match tokio::try_join!(
        store.sales_by_day(tenant.id, since, offset),
        store.voucher_sale_totals(tenant.id, &today_filter),
        store.voucher_sale_totals(tenant.id, &month_filter)
    ) {
        Ok(found) => found,
        Err(error) => return internal(error),
    };
    let version = fingerprint(&shown, &hub);
    let (recent, routers, alerts) = shown;
    let epoch = jiff::civil::date(1970, 1, 1);
    let label = |day: i64| epoch.checked_add(day.days()).map(|d| d.strftime("%-d %b").to_string()).unwrap_or_default();
    let month_first = (month_start - epoch).get_days() as i64;
    let sum = |from: i64| sales.iter().filter(|d| d.day >= from).fold((0, 0), |(c, k), d| (c + d.count, k + d.kes));
    let days = (first..=today)
        .map(|day| (label(day), sales.iter().find(|d| d.day == day).copied().unwrap_or(DaySales { day, count: 0, kes: 0 })))
        .collect();
    let stale = hub.stale_after().as_millis() as i64;
    let online = routers.iter().filter(|r| r.revoked_at.is_none() && r.is_online(now_ms(), stale)).count();
    let offline = routers.iter().filter(|r| r.revoked_at.is_none()).count() - online;
    let data = OverviewData {
        today: sum(today),
        month: sum(month_first),
        cash: (cash_today, cash_month),
        days,
        routers: (online, offline),
        open_alerts: alerts.len(),
        recent: recent.into_iter().map(|line| (crate::time::short_ms(line.payment.created_at, &tz), line)).collect(),
        version,
    };
    let frame = member.who.frame();
    render(&frame, StatusCode::OK, overview_page(&frame, &data), &headers)
}

#[derive(Deserialize)]
pub(super) struct Since {
    since: Option<u64>,
}

/// Answers `{"version": "N"}` as soon as the fingerprint differs from `since`, or after
/// [`HOLD`] with the same one.
pub(super) async fn live(
    State(hub): State<Arc<Hub>>,
    State(payments): State<Arc<Payments>>,
    member: Member,
    Query(since): Query<Since>,
) -> Response {
    let deadline = tokio::time::Instant::now() + HOLD;
    let mut changes = payments.changes();
    let mut events = hub.subscribe();
    loop {
        let version = match current(&hub, member.tenant.id).await {
            Ok(shown) => fingerprint(&shown, &hub),
            Err(error) => return internal(error),
        };
        if Some(version) != since.since || tokio::time::Instant::now() >= deadline {
            // A string: JavaScript numbers cannot hold 64 bits (see `live_script`).
            return Json(serde_json::json!({ "version": version.to_string() })).into_response();
        }
        let wait = REREAD.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        tokio::select! {
            _ = changes.changed() => {}
            _ = events.recv() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
