//! `/phone`: a self-contained page that plays the customer's handset for a person running
//! the demo. It lists pending prompts with buttons (plain HTML forms, no script, no
//! external assets) that resolve them with a normal callback.

use std::fmt::Write;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::state::Shared;
use super::{Delivery, PromptState, Provider, Resolution, delivery};

/// The buttons offered for each prompt.
const ACTIONS: [(Resolution, &str); 4] = [
    (Resolution::Approve, "Approve"),
    (Resolution::Cancel, "Cancel"),
    (Resolution::WrongPin, "Wrong PIN"),
    (Resolution::Timeout, "No answer (timeout)"),
];

/// `GET /phone`.
pub(crate) async fn page(State(shared): State<Arc<Shared>>) -> Response {
    let mut rows = String::new();
    let state = shared.state();
    let pending: Vec<_> = state.records.iter().map(|r| &r.prompt).filter(|p| p.state == PromptState::Pending).collect();
    let none_pending = pending.is_empty();
    for prompt in pending {
        let provider = match prompt.provider {
            Provider::Daraja => "M-Pesa (Daraja)",
            Provider::PayHero => "M-Pesa (PayHero)",
            Provider::Paystack => "M-Pesa (Paystack)",
        };
        let reference = prompt.account_reference.as_deref().map(|r| format!(" for account {}", escape(r))).unwrap_or_default();
        let _ = write!(
            rows,
            "<li><p><b>{provider}</b>: pay <b>KES {}</b>{reference} from {}?</p><p class=ref>{}</p><div>",
            prompt.amount_kes,
            escape(&prompt.msisdn),
            escape(&prompt.provider_ref),
        );
        for (resolution, label) in ACTIONS {
            let _ = write!(
                rows,
                r#"<form method=post action="/phone/{}/{}"><button class={}>{label}</button></form>"#,
                escape(&prompt.provider_ref),
                resolution.as_str(),
                resolution.as_str(),
            );
        }
        rows.push_str("</div></li>\n");
    }
    drop(state);
    let body = if none_pending { "<p>No pending prompts.</p>".to_string() } else { format!("<ul>\n{rows}</ul>") };
    let html = format!(
        r#"<!doctype html>
<html lang=en><head><meta charset=utf-8><meta name=viewport content="width=device-width,initial-scale=1">
<meta http-equiv=refresh content=3><title>Emulated phone</title>
<style>body{{font-family:sans-serif;max-width:28rem;margin:1rem auto;padding:0 1rem}}ul{{list-style:none;padding:0}}
li{{border:1px solid #ccc;border-radius:.5rem;padding:.5rem 1rem;margin:.5rem 0}}.ref{{color:#666;font-size:.8rem}}
form{{display:inline}}button{{margin:.2rem;padding:.5rem 1rem}}.approve{{background:#2a7;color:#fff}}</style></head>
<body><h1>Emulated phone</h1>
{body}
</body></html>
"#
    );
    Html(html).into_response()
}

/// `POST /phone/{provider_ref}/{action}`: resolves with a normal callback, then back to
/// the list.
pub(crate) async fn act(State(shared): State<Arc<Shared>>, Path((provider_ref, action)): Path<(String, String)>) -> Response {
    let resolution = match Resolution::from_str(&action) {
        Ok(resolution) => resolution,
        Err(message) => return (StatusCode::NOT_FOUND, message).into_response(),
    };
    match delivery::resolve(&shared, &provider_ref, resolution, Delivery::Normal).await {
        Ok(()) => Redirect::to("/phone").into_response(),
        Err(error) => {
            let status = match shared.state().record(&provider_ref).map(|r| r.prompt.state) {
                None => StatusCode::NOT_FOUND,
                // Resolved as asked but the callback failed: the person's part is done.
                Some(PromptState::Resolved(done)) if done == resolution => {
                    tracing::warn!(error = format!("{error:#}"), "payment emulator: phone page");
                    return Redirect::to("/phone").into_response();
                }
                Some(_) => StatusCode::CONFLICT,
            };
            (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{error:#}")).into_response()
        }
    }
}

/// Escapes text for HTML content and attributes.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}
