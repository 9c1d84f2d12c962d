//! Resolving a prompt and delivering its callback: once, n times at once, late, or never.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::{Context, anyhow, bail};
use futures_util::future::join_all;

use super::state::Shared;
use super::time::now_unix;
use super::{CallbackRecord, Delivery, PromptState, Provider, Resolution, daraja, payhero, paystack};

/// One callback, built once so duplicates carry the same bytes.
struct Outgoing {
    provider: Provider,
    provider_ref: String,
    url: String,
    body: String,
    headers: Vec<(&'static str, String)>,
}

/// Marks the prompt resolved (with a fresh receipt on approval) and delivers its callback.
pub(crate) async fn resolve(shared: &Arc<Shared>, provider_ref: &str, resolution: Resolution, delivery: Delivery) -> anyhow::Result<()> {
    let outgoing = mark_resolved(shared, provider_ref, resolution)?;
    shared.bump();
    let Some(outgoing) = outgoing else {
        return Ok(());
    };
    match delivery {
        Delivery::Lost => {
            tracing::info!(provider_ref, "payment emulator: callback lost on purpose");
            Ok(())
        }
        Delivery::Normal => send(shared, &outgoing).await,
        Delivery::Duplicate(n) => {
            let results = join_all((0..n).map(|_| send(shared, &outgoing))).await;
            results.into_iter().collect()
        }
        Delivery::Late(delay) => {
            let shared = shared.clone();
            tokio::spawn(async move {
                tokio::select! {
                    () = tokio::time::sleep(delay) => {
                        if let Err(error) = send(&shared, &outgoing).await {
                            tracing::warn!(%error, "payment emulator: late callback");
                        }
                    }
                    () = shared.stop.cancelled() => {}
                }
            });
            Ok(())
        }
    }
}

/// The receipt Paystack's test mode puts on every M-Pesa charge.
pub const PAYSTACK_TEST_RECEIPT: &str = "10101";

/// Resolves the prompt under the lock and builds its callback, if it has one.
fn mark_resolved(shared: &Shared, provider_ref: &str, resolution: Resolution) -> anyhow::Result<Option<Outgoing>> {
    let mut state = shared.state();
    match state.record(provider_ref) {
        None => bail!("no prompt {provider_ref}"),
        Some(record) if record.prompt.state != PromptState::Pending => bail!("prompt {provider_ref} is already {:?}", record.prompt.state),
        Some(_) => {}
    }
    let paystack = state.record(provider_ref).is_some_and(|r| r.prompt.provider == Provider::Paystack);
    // Paystack's test mode (the emulator's `domain` is "test") gives every M-Pesa charge the
    // receipt "10101" (shared/reference/providers.md, F); the others draw a fresh one.
    let receipt =
        (resolution == Resolution::Approve).then(|| if paystack { PAYSTACK_TEST_RECEIPT.to_string() } else { state.new_receipt() });
    let record = state.record_mut(provider_ref).expect("checked above");
    record.prompt.state = PromptState::Resolved(resolution);
    record.prompt.receipt = receipt;
    record.resolved_unix = Some(now_unix());
    tracing::info!(provider_ref, ?resolution, "payment emulator: prompt resolved");
    let prompt = &record.prompt;
    let outgoing = |url: String, body: String, headers| Outgoing {
        provider: prompt.provider,
        provider_ref: provider_ref.to_string(),
        url,
        body,
        headers,
    };
    Ok(match prompt.provider {
        Provider::Daraja => prompt.callback_url.clone().map(|url| {
            let headers = vec![
                ("content-type", "application/json;charset=UTF-8".to_string()),
                ("BusinessShortCode", shared.accounts.daraja.short_code.clone()),
            ];
            outgoing(url, daraja::callback_body(record, resolution), headers)
        }),
        Provider::PayHero => prompt
            .callback_url
            .clone()
            .map(|url| outgoing(url, payhero::callback_body(record, resolution), vec![("content-type", "application/json".to_string())])),
        Provider::Paystack => {
            let webhook = shared.paystack_webhook.lock().expect("webhook lock").clone();
            match (webhook, paystack::webhook(record, resolution, &shared.accounts.paystack.secret_key)) {
                (Some(url), Some((body, signature))) => {
                    Some(outgoing(url, body, vec![("content-type", "application/json".to_string()), ("x-paystack-signature", signature)]))
                }
                (None, Some(_)) => {
                    tracing::warn!(provider_ref, "payment emulator: no Paystack webhook URL set; charge.success not sent");
                    None
                }
                (_, None) => None,
            }
        }
    })
}

/// POSTs one callback and records the outcome.
async fn send(shared: &Shared, outgoing: &Outgoing) -> anyhow::Result<()> {
    let mut request = shared.http.post(&outgoing.url).body(outgoing.body.clone());
    for (name, value) in &outgoing.headers {
        request = request.header(*name, value);
    }
    let result = request.send().await;
    let status = result.as_ref().ok().map(|r| r.status().as_u16());
    let record =
        CallbackRecord { provider: outgoing.provider, provider_ref: outgoing.provider_ref.clone(), url: outgoing.url.clone(), status };
    if let Ok(response) = result.as_ref() {
        tracing::info!(provider_ref = %outgoing.provider_ref, url = %outgoing.url, status = response.status().as_u16(), "payment emulator: callback delivered");
    }
    shared.state().callbacks.push(record);
    if status.is_some() {
        shared.callbacks_sent.fetch_add(1, Ordering::SeqCst);
    }
    shared.bump();
    match result {
        // Read the answer so the connection can be reused; its content does not matter.
        Ok(response) => {
            let _ = response.bytes().await;
            Ok(())
        }
        Err(error) => Err(anyhow!(error)).with_context(|| format!("callback for {} to {}", outgoing.provider_ref, outgoing.url)),
    }
}
