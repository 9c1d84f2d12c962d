//! Every type with a secret, printed with `{:?}`, shows none of it.

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
        our_ref: None,
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
