//! The platform operator's view and the suspension of a tenant (operator accounts only).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::render;
use super::session::{Form, NoFields, Operator};
use crate::accounts::Accounts;
use crate::dashboard::platform::{TenantLine, platform as platform_page};
use crate::hub::Hub;
use crate::model::TenantId;
use crate::store::now_ms;

const THIRTY_DAYS_MS: i64 = 30 * 86_400_000;

#[derive(Deserialize)]
pub(super) struct Notice {
    notice: Option<String>,
}

pub(super) async fn overview(
    State(hub): State<Arc<Hub>>,
    Operator(who): Operator,
    headers: HeaderMap,
    Query(notice): Query<Notice>,
) -> Response {
    let store = hub.store();
    let loaded = tokio::try_join!(store.list_tenants(), store.list_routers(None), store.provider_volumes(now_ms() - THIRTY_DAYS_MS));
    let (tenants, routers, volumes) = match loaded {
        Ok(found) => found,
        Err(error) => {
            tracing::error!(%error, "the platform view failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let stale = hub.stale_after().as_millis() as i64;
    let mut counts: HashMap<TenantId, (usize, usize)> = HashMap::new();
    for router in routers.iter().filter(|r| r.revoked_at.is_none()) {
        let entry = counts.entry(router.tenant_id).or_default();
        entry.0 += usize::from(router.is_online(now_ms(), stale));
        entry.1 += 1;
    }
    let lines: Vec<TenantLine<'_>> = tenants
        .iter()
        .map(|tenant| TenantLine {
            tenant,
            routers: counts.get(&tenant.id).copied().unwrap_or_default(),
            volumes: volumes.iter().filter(|v| v.tenant == tenant.id).collect(),
        })
        .collect();
    let frame = who.frame();
    render(&frame, StatusCode::OK, platform_page(&frame, &lines, notice.notice.as_deref()), &headers)
}

async fn set(accounts: &Accounts, who: &super::session::SignedIn, tenant: TenantId, suspended: bool) -> Response {
    match accounts.store().set_suspended(tenant, suspended, now_ms()).await {
        Ok(true) => {
            let action = if suspended { "suspend_tenant" } else { "resume_tenant" };
            accounts.record(Some(tenant), who.account.id, action, &format!("tenant {tenant}")).await;
            let words = if suspended { "Tenant suspended." } else { "Tenant resumed." };
            Redirect::to(&format!("/dashboard/platform?{}", serde_urlencoded::to_string([("notice", words)]).unwrap_or_default()))
                .into_response()
        }
        Ok(false) => (StatusCode::NOT_FOUND, "no such tenant").into_response(),
        Err(error) => {
            tracing::error!(%error, "changing a suspension failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub(super) async fn suspend(
    State(accounts): State<Arc<Accounts>>,
    Operator(who): Operator,
    Path(tenant): Path<uuid::Uuid>,
    Form(_): Form<NoFields>,
) -> Response {
    set(&accounts, &who, TenantId(tenant), true).await
}

pub(super) async fn resume(
    State(accounts): State<Arc<Accounts>>,
    Operator(who): Operator,
    Path(tenant): Path<uuid::Uuid>,
    Form(_): Form<NoFields>,
) -> Response {
    set(&accounts, &who, TenantId(tenant), false).await
}
