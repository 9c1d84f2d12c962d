//! One payment on the dashboard, on both databases: its timeline with the router's side,
//! and the actions on it (recheck, settle by hand, resend to the router), refused without
//! the session's CSRF token, to staff where owners only may act, and across tenants.

use axum::http::StatusCode;
use jasiyo_cloud::model::{PaymentId, PaymentState};
use jasiyo_shared::{Outcome, Seq};

use super::dashboard_auth::{Site, site};
use super::dashboard_transactions::{ms, pay, shop, staff};

/// A form's fields as the browser takes them.
fn refs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn the_timeline_shows_the_router_side_and_resends(site: Site) {
    let mut shop = shop(&site, "Timeline").await;
    let store = site.store.as_ref();
    let paid = pay(store, &shop.router, &shop.plan, ms("2026-11-04T09:00:00Z"), "254712345678", Some("TLN1ABC2DE")).await;
    let seq = Seq(store.entitlement_for_payment(paid).await.unwrap().unwrap().command_seq);
    store.mark_delivered(shop.router.id, &[seq], ms("2026-11-04T09:00:10Z")).await.unwrap();
    store.mark_received(shop.router.id, &[seq], ms("2026-11-04T09:00:11Z")).await.unwrap();
    let refused = Outcome::Failed { message: "input does not match any value of profile".into() };
    store.record_result(shop.router.id, seq, &refused, ms("2026-11-04T09:00:12Z")).await.unwrap();

    let uri = format!("/dashboard/transactions/{paid}");
    let page = shop.owner.get(&uri).await;
    assert_eq!(page.status, StatusCode::OK);
    let timeline = &page.body[page.body.find("id=\"timeline\"").unwrap()..];
    let order = ["paid", "command enqueued", "delivered to the agent", "received by the agent", "router error"];
    let mut at = 0;
    for what in order {
        let found =
            timeline[at..].find(&format!("<td>{what}</td>")).unwrap_or_else(|| panic!("{what} after the earlier steps: {timeline}"));
        at += found;
    }
    assert!(timeline.contains("input does not match any value of profile") && timeline.contains("2026-11-04 12:00:12 EAT"));
    assert!(page.body.contains("TLN1ABC2DE"));

    // Resend: a new upsert in the outbox, on the timeline with its own steps.
    let csrf = page.csrf();
    let resent = shop.owner.post(&format!("{uri}/resend"), &[("csrf", csrf.as_str())]).await;
    assert_eq!((resent.status, resent.location()), (StatusCode::SEE_OTHER, format!("{uri}?notice=resent").as_str()));
    let commands = store.list_commands(shop.router.id, 10).await.unwrap();
    let upserts: Vec<_> = commands.iter().filter(|c| c.command.kind() == "upsert_hotspot_user").collect();
    assert_eq!(upserts.len(), 2, "{commands:?}");
    let again = upserts.iter().map(|c| c.seq).max().unwrap();
    let page = shop.owner.get(&format!("{uri}?notice=resent")).await;
    assert!(page.body.contains("sent to the router again") && page.body.contains(&format!("command #{}", again.0)), "{}", page.body);
    assert!(page.body.contains("id=\"notice\""));

    // Once the router applied it, there is nothing to resend.
    store.record_result(shop.router.id, again, &Outcome::Applied { note: None }, jasiyo_cloud::store::now_ms()).await.unwrap();
    assert!(shop.owner.get(&uri).await.body.contains("<td>applied on the router</td>"));
    let refused = shop.owner.post(&format!("{uri}/resend"), &[("csrf", csrf.as_str())]).await;
    assert_eq!(refused.location(), format!("{uri}?notice=already_applied"));
    assert_eq!(store.list_commands(shop.router.id, 10).await.unwrap().len(), commands.len());

    // An unpaid payment has nothing to resend; staff may resend too.
    let open = pay(store, &shop.router, &shop.plan, ms("2026-11-04T10:00:00Z"), "254712345678", None).await;
    let mut helper = staff(&site, &shop.tenant, "owner@timeline.example").await;
    let page = helper.get(&format!("/dashboard/transactions/{open}")).await;
    assert!(page.body.contains("<td>initiated</td>") && page.body.contains("•••••••••678"), "{}", page.body);
    assert!(!page.body.contains("254712345678"), "staff never read the phone, not even on the timeline");
    let csrf = page.csrf();
    let nothing = helper.post(&format!("/dashboard/transactions/{open}/resend"), &[("csrf", csrf.as_str())]).await;
    assert_eq!(nothing.location(), format!("/dashboard/transactions/{open}?notice=not_paid"));
}

async fn settling_by_hand_is_for_owners_with_the_token(site: Site) {
    let mut shop = shop(&site, "Settle").await;
    let store = site.store.as_ref();
    let open = pay(store, &shop.router, &shop.plan, ms("2026-11-05T09:00:00Z"), "254712345678", None).await;
    let uri = format!("/dashboard/transactions/{open}");
    let state = |id: PaymentId| async move { store.payment(id).await.unwrap().unwrap().state };
    let form = |csrf: &str| [("csrf", csrf.to_string()), ("receipt", "sxk9abc1de".into()), ("reason", "seen on the statement".into())];
    // Staff: no settle form, and a forged post is refused whatever its token.
    let mut helper = staff(&site, &shop.tenant, "owner@settle.example").await;
    let page = helper.get(&uri).await;
    assert!(page.status == StatusCode::OK && !page.body.contains("id=\"settle\""), "staff see no settle form");
    let csrf = page.csrf();
    assert_eq!(helper.post(&format!("{uri}/settle"), &refs(&form(&csrf))).await.status, StatusCode::FORBIDDEN);
    assert_eq!(state(open).await, PaymentState::Initiated);

    // The owner without the token, or with another session's: refused.
    let page = shop.owner.get(&uri).await;
    assert!(page.body.contains("id=\"settle\""));
    for csrf in ["", csrf.as_str()] {
        assert_eq!(shop.owner.post(&format!("{uri}/settle"), &refs(&form(csrf))).await.status, StatusCode::FORBIDDEN, "csrf {csrf:?}");
    }
    for action in ["recheck", "resend"] {
        assert_eq!(shop.owner.post(&format!("{uri}/{action}"), &[]).await.status, StatusCode::FORBIDDEN, "{action}");
    }
    assert_eq!(state(open).await, PaymentState::Initiated);
    assert!(store.list_commands(shop.router.id, 10).await.unwrap().is_empty());

    // A bad receipt changes nothing; the right form settles it, on the timeline.
    let csrf = page.csrf();
    let bad = shop.owner.post(&format!("{uri}/settle"), &[("csrf", csrf.as_str()), ("receipt", "x!"), ("reason", "because")]).await;
    assert_eq!(bad.location(), format!("{uri}?notice=bad_settle"));
    assert_eq!(state(open).await, PaymentState::Initiated);
    let done = shop.owner.post(&format!("{uri}/settle"), &refs(&form(&csrf))).await;
    assert_eq!(done.location(), format!("{uri}?notice=settled"));
    let payment = store.payment(open).await.unwrap().unwrap();
    assert_eq!((payment.state, payment.receipt.as_deref()), (PaymentState::Paid, Some("SXK9ABC1DE")));
    let page = shop.owner.get(&uri).await;
    assert!(page.body.contains("seen on the statement (by Wanjiku on the dashboard)"), "{}", page.body);
    assert!(page.body.contains("<td>command enqueued</td>"), "the router side follows");

    // Asking the provider about a paid payment: nothing to ask.
    let asked = shop.owner.post(&format!("{uri}/recheck"), &[("csrf", csrf.as_str())]).await;
    assert_eq!(asked.location(), format!("{uri}?notice=already_paid"));
}

async fn actions_on_another_tenants_payment_change_nothing(site: Site) {
    let a = shop(&site, "Victim").await;
    let mut b = shop(&site, "Intruder").await;
    let open = pay(site.store.as_ref(), &a.router, &a.plan, ms("2026-11-06T09:00:00Z"), "254712345678", None).await;
    let paid = pay(site.store.as_ref(), &a.router, &a.plan, ms("2026-11-06T09:05:00Z"), "254712345678", Some("VIC1TIM2AB")).await;
    let csrf = b.owner.get("/dashboard/transactions").await.csrf();
    let before = site.store.list_commands(a.router.id, 10).await.unwrap().len();
    for (id, action) in [(open, "settle"), (open, "recheck"), (paid, "resend")] {
        let form = [("csrf", csrf.as_str()), ("receipt", "ABCD1234EF"), ("reason", "mine now")];
        let page = b.owner.post(&format!("/dashboard/transactions/{id}/{action}"), &form).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(site.store.payment(open).await.unwrap().unwrap().state, PaymentState::Initiated);
    assert_eq!(site.store.list_commands(a.router.id, 10).await.unwrap().len(), before);
    assert!(site.store.payment_events(open).await.unwrap().iter().all(|e| e.kind != "recheck"));
}

jasiyo_cloud::on_each_backend!(site;
    the_timeline_shows_the_router_side_and_resends,
    settling_by_hand_is_for_owners_with_the_token,
    actions_on_another_tenants_payment_change_nothing,
);
