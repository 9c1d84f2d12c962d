//! The actions on one payment, each a POST form carrying the session's CSRF token:
//! ask the provider now (owner and staff), settle by hand with a receipt and a reason
//! (owner only; audited), resend the hotspot user to the router (owner and staff). Each
//! checks first that the payment is the tenant's (another tenant's is a 404, as an
//! unknown one is), then calls the same domain operation the CLI uses, and redirects back
//! to the payment with a notice.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::{Form, Member, NoFields, Owner};
use super::transactions::missing;
use crate::accounts::Accounts;
use crate::dashboard::transaction::Notice;
use crate::model::PaymentId;
use crate::payments::Payments;
use crate::payments::complaints::ComplaintError;
use crate::payments::resend::ResendError;

/// The settle form.
#[derive(Deserialize)]
pub(super) struct SettleForm {
    #[serde(default)]
    receipt: String,
    #[serde(default)]
    reason: String,
}

/// The payment, when it is the member's tenant's.
async fn owned(payments: &Payments, member: &Member, id: &str) -> Result<PaymentId, ()> {
    let id = id.parse::<PaymentId>().map_err(|_| ())?;
    match payments.store().tenant_payment(member.tenant.id, id).await {
        Ok(Some(_)) => Ok(id),
        Ok(None) => Err(()),
        Err(error) => {
            tracing::error!(%error, "could not read a payment for an action");
            Err(())
        }
    }
}

fn back(id: PaymentId, notice: Notice) -> Response {
    Redirect::to(&format!("/dashboard/transactions/{id}?notice={}", notice.code())).into_response()
}

fn complaint_notice(error: &ComplaintError) -> Notice {
    match error {
        ComplaintError::AlreadyPaid(_) => Notice::AlreadyPaid,
        ComplaintError::NoReference(_) => Notice::NoReference,
        ComplaintError::Invalid(_) => Notice::BadSettle,
        ComplaintError::Provider(_) => Notice::ProviderDown,
        ComplaintError::NotFound(_) | ComplaintError::Refused(_) | ComplaintError::Internal(_) => {
            tracing::error!(%error, "a dashboard action on a payment failed");
            Notice::Failed
        }
    }
}

/// `POST /dashboard/transactions/{id}/recheck`
pub(super) async fn recheck(
    State(payments): State<Arc<Payments>>,
    State(accounts): State<Arc<Accounts>>,
    member: Member,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(_): Form<NoFields>,
) -> Response {
    let Ok(id) = owned(&payments, &member, &id).await else { return missing(&member, &headers) };
    accounts.record(Some(member.tenant.id), member.who.account.id, "recheck_payment", &format!("payment {id}")).await;
    match payments.recheck(id).await {
        Ok(done) if done.answer.is_none() => back(id, Notice::AlreadyPaid),
        Ok(_) => back(id, Notice::Rechecked),
        Err(error) => back(id, complaint_notice(&error)),
    }
}

/// `POST /dashboard/transactions/{id}/settle` (owner only)
pub(super) async fn settle(
    State(payments): State<Arc<Payments>>,
    State(accounts): State<Arc<Accounts>>,
    Owner(member): Owner,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<SettleForm>,
) -> Response {
    let Ok(id) = owned(&payments, &member, &id).await else { return missing(&member, &headers) };
    if form.reason.trim().is_empty() {
        return back(id, Notice::BadSettle);
    }
    let reason = format!("{} (by {} on the dashboard)", form.reason.trim(), member.who.account.name);
    match payments.settle_by_operator(id, &form.receipt, &reason).await {
        Ok(()) => {
            // The receipt stays on the payment only: with the phone it moves the plan.
            let detail = format!("payment {id} settled by hand: {}", form.reason.trim());
            accounts.record(Some(member.tenant.id), member.who.account.id, "settle_payment", &detail).await;
            back(id, Notice::Settled)
        }
        Err(error) => back(id, complaint_notice(&error)),
    }
}

/// `POST /dashboard/transactions/{id}/resend`
pub(super) async fn resend(
    State(payments): State<Arc<Payments>>,
    State(accounts): State<Arc<Accounts>>,
    member: Member,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(_): Form<NoFields>,
) -> Response {
    let Ok(id) = owned(&payments, &member, &id).await else { return missing(&member, &headers) };
    match payments.resend_to_router(id).await {
        Ok(seq) => {
            let detail = format!("payment {id} resent to the router as command #{}", seq.0);
            accounts.record(Some(member.tenant.id), member.who.account.id, "resend_payment", &detail).await;
            back(id, Notice::Resent)
        }
        Err(ResendError::NotPaid(_)) => back(id, Notice::NotPaid),
        Err(ResendError::AlreadyApplied) => back(id, Notice::AlreadyApplied),
        Err(ResendError::Expired) => back(id, Notice::Expired),
        Err(error) => {
            tracing::error!(%error, payment = %id, "resending a payment's user failed");
            back(id, Notice::Failed)
        }
    }
}
