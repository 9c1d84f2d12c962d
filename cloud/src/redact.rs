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
mod tests {
    use jasiyo_shared::RouterId;
    use uuid::Uuid;

    use super::*;
    use crate::model::{PaymentId, PaymentState, PlanId, ProviderKind, TenantId};
    use crate::payments::view::Stage;
    use crate::providers::PaymentStatus;

    /// Every secret in these values is `SECRET` + a letter.
    fn shown(value: &dyn fmt::Debug) -> String {
        let text = format!("{value:?} {value:#?}");
        assert!(!text.contains("SECRET"), "a secret in Debug output: {text}");
        text
    }

    fn login() -> LoginInfo {
        LoginInfo { username: "KX7Q2M".into(), password: "SECRETp".into(), expires_at: 1 }
    }

    fn payment() -> Payment {
        Payment {
            id: PaymentId::random(),
            tenant_id: TenantId(Uuid::new_v4()),
            router_id: RouterId::new(),
            plan_id: PlanId(Uuid::new_v4()),
            provider: ProviderKind::Daraja,
            amount_kes: 20,
            msisdn: "254712345678".into(),
            device_mac: None,
            device_ip: None,
            client_ip: None,
            idempotency_key: "SECRETi".into(),
            provider_ref: Some("ws_CO_1".into()),
            secondary_ref: None,
            state: PaymentState::Paid,
            reason: None,
            receipt: Some("SECRETr".into()),
            created_at: 0,
            updated_at: 0,
            paid_at: None,
            next_check_at: None,
            checks: 0,
        }
    }

    #[test]
    fn tokens_passwords_and_receipts_never_show_in_debug_output() {
        let initiate = InitiateRequest { plan_id: "p".into(), idempotency_key: "SECRETi".into(), ..Default::default() };
        assert!(shown(&initiate).contains("idempotency_key: \"***\""));
        shown(&RecoverRequest { receipt: "SECRETr".into(), phone: Some("0712345678".into()), ..Default::default() });
        assert!(shown(&login()).contains("KX7Q2M"), "the user name is not a secret");
        shown(&Recovered { payment_id: PaymentId::random(), login: login(), moved: true, view_key: "SECRETv".into() });
        let view = PaymentView {
            id: PaymentId::random(),
            status: PaymentState::Paid,
            stage: Stage::Online,
            reason: None,
            amount_kes: 20,
            wait_secs: 0,
            login: Some(login()),
            receipt: Some("SECRETr".into()),
            hint: None,
            unconfirmed: false,
            view_key: Some("SECRETv".into()),
        };
        assert!(shown(&view).contains("receipt: Some(\"***\")"), "whether there is one shows, not what");
        let paid = payment();
        assert!(shown(&paid).contains(&paid.id.to_string()));
        let p = payment();
        shown(&NewPayment {
            id: p.id,
            tenant_id: p.tenant_id,
            router_id: p.router_id,
            plan_id: p.plan_id,
            provider: p.provider,
            amount_kes: 20,
            msisdn: p.msisdn,
            device_mac: None,
            device_ip: None,
            client_ip: None,
            idempotency_key: "SECRETi".into(),
            callback_token_hash: "h".into(),
            first_check_at: 0,
        });
        shown(&Entitlement {
            id: Uuid::new_v4(),
            payment_id: p.id,
            router_id: p.router_id,
            username: "KX7Q2M".into(),
            password: "SECRETp".into(),
            device_mac: None,
            expires_at: 1,
            command_seq: 1,
            login_seq: None,
            moved_away_at: None,
            created_at: 0,
        });
        let user = jasiyo_shared::HotspotUser {
            name: "KX7Q2M".into(),
            password: jasiyo_shared::command::Password("SECRETp".into()),
            profile: None,
            mac: None,
            expires_at: None,
            limit_uptime_secs: None,
            limit_bytes_total: None,
            comment: None,
        };
        let upsert = jasiyo_shared::Command::UpsertHotspotUser(user);
        shown(&Provision { username: "KX7Q2M".into(), password: "SECRETp".into(), expires_at: 1, upsert, login: None });
        shown(&ProviderEvent {
            provider_ref: "ws_CO_1".into(),
            status: PaymentStatus::Pending,
            amount_kes: Some(20),
            receipt: Some("SECRETr".into()),
            msisdn: None,
            code: "0".into(),
            description: "ok".into(),
        });
        let stk = br#"{"Body":{"stkCallback":{"MerchantRequestID":"m","CheckoutRequestID":"ws_CO_1","ResultCode":0,"ResultDesc":"ok",
            "CallbackMetadata":{"Item":[{"Name":"Amount","Value":20},{"Name":"MpesaReceiptNumber","Value":"SECRETr"}]}}}}"#;
        let stk = StkCallback::parse(stk).unwrap();
        assert_eq!(stk.receipt.as_deref(), Some("SECRETr"));
        shown(&stk);
    }

    #[test]
    fn the_command_line_hides_the_sealing_key_and_hotspot_passwords() {
        use clap::Parser;
        let router = RouterId::new().to_string();
        let args = ["jasiyo-cloud", "--database-url", "postgres://u:SECRETd@db/j", "--sealing-key", "SECRETk", "command", "enqueue"];
        let cli = Cli::try_parse_from(args.into_iter().chain(["--router", &router, "create-user", "--name", "u", "--password", "SECRETp"]));
        assert!(shown(&cli.unwrap()).contains("CreateUser"));
        let install = ["jasiyo-cloud", "router", "install-script", &router, "--token", "SECRETt"];
        assert!(shown(&Cli::try_parse_from(install).unwrap()).contains("InstallScript"));
        let daraja = ["provider", "set", "--tenant", "T", "daraja", "--consumer-key", "SECRETa", "--consumer-secret", "SECRETb"];
        let daraja = ["jasiyo-cloud"].into_iter().chain(daraja).chain(["--short-code", "174379", "--passkey", "SECRETc"]);
        shown(&Cli::try_parse_from(daraja).unwrap());
        let payhero = ["provider", "set", "--tenant", "T", "payhero", "--username", "SECRETd", "--password", "SECRETe"];
        shown(&Cli::try_parse_from(["jasiyo-cloud"].into_iter().chain(payhero).chain(["--channel-id", "1"])).unwrap());
        let paystack = ["jasiyo-cloud", "provider", "set", "--tenant", "T", "paystack", "--secret-key", "SECRETf"];
        shown(&Cli::try_parse_from(paystack).unwrap());
        let serve = ["jasiyo-cloud", "serve", "--smtp-url", "smtps://mail:SECRETs@smtp.example:465"];
        assert!(shown(&Cli::try_parse_from(serve).unwrap()).contains("ServeArgs"));
    }
}
