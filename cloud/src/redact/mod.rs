//! `Debug` for every type that carries a secret: tokens, view keys, idempotency keys,
//! hotspot passwords, M-Pesa receipts, the sealing key. Each prints what identifies it and
//! `***` for the secret, so a `{:?}` in a log line or a panic message never gives one away.
//! They are kept together, away from the types, so that one file is the audit: a type that
//! gains a secret loses its derived `Debug` and gets its impl here (with a line in the test).
//!
//! [`without_passwords`] does the same for JSON: command listings (the operator API, the
//! CLI's `command list`) show that a command carries a hotspot password, never the password.

use std::fmt;

use crate::cli::{Cli, EnqueueKind, ProviderArgs, RouterCommand, ServeArgs};
use crate::model::{Entitlement, NewPayment, Payment};
use crate::payments::recover::{RecoverRequest, Recovered};
use crate::payments::service::InitiateRequest;
use crate::payments::view::{LoginInfo, PaymentView};
use crate::providers::ProviderEvent;
use crate::providers::daraja::StkCallback;
use crate::providers::payhero::PayHeroCallback;
use crate::store::payments::Provision;

/// `value` (commands as JSON) with every `password` field's value replaced by `***`.
pub fn without_passwords(mut value: serde_json::Value) -> serde_json::Value {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, field) in map.iter_mut() {
                    if key == "password" {
                        *field = serde_json::Value::String(HIDDEN.into());
                    } else {
                        walk(field);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

/// What stands for a secret that is there.
const HIDDEN: &str = "***";

/// `Some(***)` or `None`: whether the secret is there, never what it is.
fn hidden<T>(value: &Option<T>) -> Option<&'static str> {
    value.as_ref().map(|_| HIDDEN)
}

impl fmt::Debug for InitiateRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InitiateRequest")
            .field("plan_id", &self.plan_id)
            .field("mac", &self.mac)
            .field("ip", &self.ip)
            .field("idempotency_key", &HIDDEN)
            .field("client_ip", &self.client_ip)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RecoverRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoverRequest")
            .field("receipt", &HIDDEN)
            .field("mac", &self.mac)
            .field("ip", &self.ip)
            .field("client_ip", &self.client_ip)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Recovered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recovered")
            .field("payment_id", &self.payment_id)
            .field("login", &self.login)
            .field("moved", &self.moved)
            .field("view_key", &HIDDEN)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for LoginInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginInfo")
            .field("username", &self.username)
            .field("password", &HIDDEN)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PaymentView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentView")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("stage", &self.stage)
            .field("reason", &self.reason)
            .field("amount_kes", &self.amount_kes)
            .field("login", &self.login)
            .field("receipt", &hidden(&self.receipt))
            .field("view_key", &hidden(&self.view_key))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Payment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Payment")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("router_id", &self.router_id)
            .field("provider", &self.provider)
            .field("amount_kes", &self.amount_kes)
            .field("provider_ref", &self.provider_ref)
            .field("state", &self.state)
            .field("reason", &self.reason)
            .field("receipt", &hidden(&self.receipt))
            .field("idempotency_key", &HIDDEN)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for NewPayment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewPayment")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("router_id", &self.router_id)
            .field("plan_id", &self.plan_id)
            .field("provider", &self.provider)
            .field("amount_kes", &self.amount_kes)
            .field("idempotency_key", &HIDDEN)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Entitlement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entitlement")
            .field("id", &self.id)
            .field("payment_id", &self.payment_id)
            .field("router_id", &self.router_id)
            .field("username", &self.username)
            .field("password", &HIDDEN)
            .field("device_mac", &self.device_mac)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Provision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The commands print their own passwords as `***` (jasiyo_shared::command::Password).
        f.debug_struct("Provision")
            .field("username", &self.username)
            .field("password", &HIDDEN)
            .field("expires_at", &self.expires_at)
            .field("upsert", &self.upsert)
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ProviderEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderEvent")
            .field("provider_ref", &self.provider_ref)
            .field("status", &self.status)
            .field("amount_kes", &self.amount_kes)
            .field("receipt", &hidden(&self.receipt))
            .field("code", &self.code)
            .field("description", &self.description)
            .field("our_ref", &self.our_ref)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for StkCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StkCallback")
            .field("checkout_request_id", &self.checkout_request_id)
            .field("result_code", &self.result_code)
            .field("amount_kes", &self.amount_kes)
            .field("receipt", &hidden(&self.receipt))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PayHeroCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayHeroCallback")
            .field("ok", &self.ok)
            .field("checkout_request_id", &self.checkout_request_id)
            .field("external_reference", &self.external_reference)
            .field("result_code", &self.result_code)
            .field("amount_kes", &self.amount_kes)
            .field("receipt", &hidden(&self.receipt))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Cli {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cli")
            .field("database_url", &hidden(&self.database_url))
            .field("data_dir", &self.data_dir)
            .field("sealing_key", &hidden(&self.sealing_key))
            .field("command", &self.command)
            .finish()
    }
}

impl fmt::Debug for ServeArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeArgs")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("smtp_url", &hidden(&self.smtp_url))
            .field("mail_from", &self.mail_from)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ProviderArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Which provider only: each carries its credentials.
        let name = match self {
            ProviderArgs::Daraja { .. } => "Daraja",
            ProviderArgs::Payhero { .. } => "Payhero",
            ProviderArgs::Paystack { .. } => "Paystack",
        };
        f.debug_struct(name).finish_non_exhaustive()
    }
}

impl fmt::Debug for RouterCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `install-script` carries the agent token; the rest is not worth a list to keep.
        match self {
            RouterCommand::InstallScript { router, .. } => f.debug_struct("InstallScript").field("router", router).finish_non_exhaustive(),
            _ => f.write_str("RouterCommand { .. }"),
        }
    }
}

impl fmt::Debug for EnqueueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Which command only: two of them carry a hotspot password.
        let name = match self {
            EnqueueKind::CreateUser { .. } => "CreateUser",
            EnqueueKind::RemoveUser { .. } => "RemoveUser",
            EnqueueKind::LoginDevice { .. } => "LoginDevice",
            EnqueueKind::EndSession { .. } => "EndSession",
        };
        f.debug_struct(name).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
