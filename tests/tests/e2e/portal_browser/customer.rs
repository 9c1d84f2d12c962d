//! The portal as a customer on a cheap phone sees it (issue 17): what the page says while
//! waiting and where the prompt went, "Wrong number? Start again", "Logging you in..." then
//! "You're online until 14:32 (1 hour)" with the login to keep, Swahili for Swahili phones,
//! five plans on a 360×640 screen, "M-Pesa" never broken, and the shimmer's reduced motion.

use std::time::{SystemTime, UNIX_EPOCH};

use jasiyo_cloud::model::NewPlan;
use jasiyo_cloud::store::now_ms;
use jasiyo_tests::payment_emulator::{Delivery, Resolution};
use serde_json::json;

use super::harness::{DEVICE, portal, portal_sized};

/// The shimmer's animation as the browser computes it.
const SHIMMER: &str = "return getComputedStyle(document.querySelector('.shimmer i')).animationName;";

/// While waiting: where the prompt went, the shimmer (still when the phone asks for less
/// motion); "Start again" lets this device pay with another number, the first number gets
/// no second prompt (the page follows its open prompt again), and the first payment is
/// still honoured when approved late.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_says_where_and_start_again_takes_another_number() {
    let Some(p) = portal("start-again", 360, |_| {}).await else { return };
    p.open(&DEVICE).await;
    p.choose_and_pay("1 hour", "0712345678").await;
    p.until("!document.getElementById('countbox').hidden && !document.getElementById('restart').hidden", "the countdown").await;
    assert_eq!(p.browser.text("#sent").await, "We sent a KES 20 prompt to 0712 345 678", "the number as typed, formatted");
    assert_eq!(p.browser.text("#restart").await, "Wrong number? Start again");
    let placed = "var n = document.querySelector('#sent .nw'), r = document.getElementById('restart').getBoundingClientRect(); \
                  return [n.textContent, n.getClientRects().length, r.bottom <= window.innerHeight];";
    assert_eq!(p.browser.eval(placed, json!([])).await, json!(["0712 345 678", 1, true]), "the number on one line; Start again in sight");
    assert_eq!(p.browser.eval(SHIMMER, json!([])).await, "sh", "the shimmer moves");
    p.shot("waiting-sent-to").await;
    p.browser.cdp("Emulation.setEmulatedMedia", json!({"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]})).await;
    assert_eq!(p.browser.eval(SHIMMER, json!([])).await, "none", "no motion when the phone asks for less");
    p.browser.cdp("Emulation.setEmulatedMedia", json!({"features": []})).await;
    let first = p.prompt("0712345678").await;

    // Start again, then the same number: no second prompt; the page follows the open one.
    p.browser.click("#restart").await;
    p.until_state("choose").await;
    assert_eq!(p.browser.eval("return document.activeElement.id;", json!([])).await, "phone");
    p.browser.type_into("#phone", "0712 345 678").await;
    p.browser.click("#pay").await;
    p.until("document.body.getAttribute('data-state') === 'wait' && !document.getElementById('countbox').hidden", "the first prompt again")
        .await;
    assert_eq!(p.pay.prompts().len(), 1, "no second prompt to the same phone");

    // Start again with another number: prompted, approved, online.
    p.browser.click("#restart").await;
    p.until_state("choose").await;
    p.shot("started-again").await;
    p.browser.type_into("#phone", "0722 000 999").await;
    p.browser.click("#pay").await;
    let second = p.prompt("0722000999").await;
    p.until("document.getElementById('sent').textContent.indexOf('0722 000 999') > 0", "the new number").await;
    p.pay.resolve(&second.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
    let posted = p.until_at_orig().await;
    let second_payment = p.newest_payment().await;
    assert_eq!(second_payment.msisdn, "254722000999");
    assert_eq!(posted.fields["username"], p.login_of(&second_payment).await.0);

    // The first prompt approved after all: paid and provisioned for this device.
    p.pay.resolve(&first.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
    let store = p.cloud.store().clone();
    let first_payment = store.list_payments(p.creds.id, 10).await.unwrap().into_iter().find(|x| x.msisdn == "254712345678").unwrap();
    p.cloud.until("the first payment honoured", async |s| s.entitlement_for_payment(first_payment.id).await.unwrap().is_some()).await;
    assert_eq!(p.pay.prompts().len(), 2);
    p.stop().await;
}

/// "Logging you in..." until the login form has gone, then "You're online until <local
/// time> (1 hour)" with the username and password to keep (what the customer sees as the
/// router answers, and after, if the browser stays).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_until_local_time_with_the_login_to_keep() {
    let Some(p) = portal("online-until", 360, |_| {}).await else { return };
    // Nairobi: three hours ahead of UTC all year.
    p.browser.cdp("Emulation.setTimezoneOverride", json!({"timezoneId": "Africa/Nairobi"})).await;
    p.open(&DEVICE).await;
    // Every heading the online screen shows, in order (text nodes keep their words).
    p.browser
        .eval(
            "window.said = []; new MutationObserver(function (records) { records.forEach(function (r) { \
             Array.prototype.forEach.call(r.addedNodes, function (n) { if (n.nodeType === 3) { window.said.push(n.data); } }); }); })\
             .observe(document.getElementById('donetitle'), {childList: true});",
            json!([]),
        )
        .await;
    p.choose_and_pay("1 hour", "0722 000 444").await;
    let prompt = p.prompt("0722000444").await;
    p.until_state("wait").await;
    // The router answers and the browser stays on the page: what it shows after the login.
    p.login.stay.store(true, std::sync::atomic::Ordering::SeqCst);
    p.pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
    p.until("document.body.getAttribute('data-login') === 'sent'", "the login sent").await;
    p.until_posted(1).await;
    p.until("window.said.length === 2", "both headings").await;

    let (username, password) = p.login_of(&p.newest_payment().await).await;
    let expires = p.cloud.store().entitlement_for_payment(p.newest_payment().await.id).await.unwrap().unwrap().expires_at;
    let nairobi = |secs: i64| secs + 3 * 3600;
    let today = nairobi(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64) / 86_400;
    let local = nairobi(expires);
    let hm = format!("{}:{:02}", local % 86_400 / 3600, local % 3600 / 60);
    let at = if local / 86_400 == today { hm } else { format!("tomorrow {hm}") };
    let online = format!("You\u{2019}re online until {at} (1 hour)");
    assert_eq!(p.browser.eval("return window.said;", json!([])).await, json!(["Logging you in\u{2026}", online]));
    assert_eq!(p.browser.text("#donetitle").await, online);
    assert_eq!(p.browser.text("#creds").await, format!("Username: {username}\nPassword: {password}"));
    assert_eq!(p.browser.text("#keep .note").await, "Take a screenshot: these log you in again on this WiFi.");
    p.shot("online-until").await;
    p.stop().await;
}

/// Swahili first for a Swahili phone: from `Accept-Language` on the server, from
/// `navigator.languages` in the page; the customer's own choice wins and is remembered.
/// Owner-written names stay; the details line is in the page's language.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swahili_phones_get_swahili_first() {
    let Some(p) = portal("swahili-first", 360, |_| {}).await else { return };
    let page = |accept: Option<&'static str>| {
        let mut request = p.http.get(p.url(&DEVICE));
        if let Some(accept) = accept {
            request = request.header("accept-language", accept);
        }
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let sw = page(Some("sw-KE,sw;q=0.9,en;q=0.8")).await;
    assert!(sw.contains("<html lang=\"sw\">") && sw.contains("\"lang\":\"sw\""), "Accept-Language: Swahili first");
    let en = page(Some("en-US,en;q=0.9,sw;q=0.5")).await;
    assert!(en.contains("<html lang=\"en\">") && !en.contains("\"lang\":\"sw\""), "English first");

    // The browser's own languages, as the page reads them (its Accept-Language says English).
    let languages = "Object.defineProperty(navigator, 'languages', {get: function () { return ['sw-KE', 'en-US']; }});";
    p.browser.cdp("Page.addScriptToEvaluateOnNewDocument", json!({"source": languages})).await;
    p.open(&DEVICE).await;
    p.until("document.querySelector('legend').textContent === 'Chagua kifurushi'", "Swahili").await;
    assert_eq!(p.browser.eval("return document.documentElement.lang;", json!([])).await, "sw");
    assert_eq!(p.browser.text("label[for=plan-0] .pname").await, "30 minutes", "the owner's name as written");
    assert_eq!(p.browser.text("label[for=plan-0] .pdet").await, "dakika 30 \u{b7} Data bila kikomo");
    assert_eq!(p.browser.text("#lang").await, "English", "the toggle stays");
    p.shot("swahili-first").await;
    p.browser.click("#lang").await;
    p.until("document.querySelector('legend').textContent === 'Choose a plan'", "English").await;
    assert_eq!(p.browser.text("label[for=plan-0] .pdet").await, "Unlimited data", "not \"30 minutes\" twice");
    p.browser.refresh().await;
    p.until("document.body.getAttribute('data-state') === 'choose' && document.documentElement.lang === 'en'", "the choice remembered")
        .await;
    assert_eq!(p.browser.text("#lang").await, "Kiswahili");
    p.stop().await;
}

/// Five plans on a 360×640 phone: compact cards, Pay on the first screen (in English and in
/// Swahili), space above it, and "M-Pesa" never broken across lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_plans_and_pay_fit_a_small_phone() {
    let Some(mut p) = portal_sized("five-plans", 360, 640, |_| {}).await else { return };
    for (name, price, secs, mb) in [("Weekly", 250, 604_800, Some(10_240)), ("3 hours", 30, 10_800, Some(1024))] {
        let plan = NewPlan {
            shared_users: None,
            name: name.into(),
            price_kes: price,
            duration_secs: secs,
            data_mb: mb,
            rate_limit: None,
            profile: None,
        };
        let id = p.cloud.store().create_plan(p.tenant, &plan, now_ms()).await.unwrap().id;
        p.plans.insert(name.to_string(), id.to_string());
    }
    p.open(&DEVICE).await;
    assert_eq!(p.browser.eval("return document.querySelectorAll('.plan').length;", json!([])).await, 5);
    assert_eq!(p.browser.eval("return document.getElementById('plans').className;", json!([])).await, "many");
    let layout = "var pay = document.getElementById('pay').getBoundingClientRect(), \
                  note = document.querySelector('#payform .note').getBoundingClientRect(); \
                  return {bottom: pay.bottom, height: window.innerHeight, gap: pay.top - note.bottom, \
                  wide: document.documentElement.scrollWidth <= window.innerWidth};";
    // Every "M-Pesa" on screen is one unbroken box, and none is outside its keeper.
    let mpesa = "var broken = [], w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT), n; \
                 while ((n = w.nextNode())) { if (n.data.indexOf('M-Pesa') >= 0 && !/SCRIPT|STYLE/.test(n.parentNode.nodeName) \
                 && n.parentNode.className !== 'nw') { broken.push(n.data); } } \
                 Array.prototype.forEach.call(document.querySelectorAll('.nw'), function (s) { \
                 if (s.offsetParent && s.getClientRects().length !== 1) { broken.push(s.parentNode.textContent); } }); \
                 return broken;";
    for language in ["English", "Swahili"] {
        let fit = p.browser.eval(layout, json!([])).await;
        assert!(fit["bottom"].as_f64().unwrap() <= fit["height"].as_f64().unwrap(), "{language}: Pay below the fold: {fit}");
        assert!(fit["gap"].as_f64().unwrap() >= 12.0, "{language}: space above Pay: {fit}");
        assert_eq!(fit["wide"], true, "{language}: nothing scrolls sideways");
        assert_eq!(p.browser.eval(mpesa, json!([])).await, json!([]), "{language}: M-Pesa broken");
        p.shot(&format!("five-plans-360x640-{}", language.to_lowercase())).await;
        p.browser.click("#lang").await;
    }
    // The waiting screen and the result screen keep M-Pesa whole too.
    p.choose_and_pay("3 hours", "0722 000 555").await;
    let prompt = p.prompt("0722000555").await;
    p.until("!document.getElementById('countbox').hidden", "the countdown").await;
    assert_eq!(p.browser.eval(mpesa, json!([])).await, json!([]));
    p.pay.resolve(&prompt.provider_ref, Resolution::WrongPin, Delivery::Normal).await.unwrap();
    p.until_reason("wrong_pin").await;
    assert_eq!(p.browser.eval(mpesa, json!([])).await, json!([]));
    p.stop().await;
}
