//! The interactive demo as a newcomer runs it: `scripts/run-local` as a real process (on a
//! fresh data directory, port 0), its printed portal URL opened in headless Chromium, a plan
//! paid, the M-Pesa prompt approved on the printed phone page in a second tab, and the
//! portal carried on to the demo router's "You are online" page. The terminal's live view
//! must have shown the payment and the router at work, the printed owner must be able to
//! sign in to the dashboard, Ctrl-C must stop every process, and a second run on the same
//! directory must find the same demo. Waits are on printed lines and page states, with
//! timeouts; screenshots land in `target/portal-screenshots/demo-*`.
//!
//! Without Chromium the test prints SKIPPED, unless `JASIYO_REQUIRE_BROWSER=1`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jasiyo_tests::processes::binary;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::portal_browser::webdriver::{Browser, Shots, find_browser};

/// How long the demo may take to print its URLs.
const UP_WITHIN: Duration = Duration::from_secs(60);
/// How long each step of the customer's flow may take.
const STEP: Duration = Duration::from_secs(30);

/// `scripts/run-local` running, with what it has printed so far.
struct Demo {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    printed: watch::Receiver<usize>,
}

impl Demo {
    /// Starts the script on `dir` with the binaries already built (no `cargo build`).
    fn start(dir: &Path) -> Demo {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/run-local");
        let bins: PathBuf = binary("jasiyo-cloud").parent().expect("target dir").to_path_buf();
        let mut command = Command::new("bash");
        command.arg(script).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("JASIYO_")) {
            command.env_remove(name);
        }
        command
            .env("JASIYO_LOCAL_DIR", dir)
            .env("JASIYO_LISTEN", "127.0.0.1:0")
            .env("JASIYO_BIN_DIR", bins)
            .env("NO_COLOR", "1")
            .process_group(0);
        let mut child = command.spawn().expect("start scripts/run-local");
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let (tell, printed) = watch::channel(0);
        let tell = Arc::new(tell);
        for stream in
            [Box::new(child.stdout.take().unwrap()) as Box<dyn tokio::io::AsyncRead + Unpin + Send>, Box::new(child.stderr.take().unwrap())]
        {
            let (lines, tell) = (lines.clone(), tell.clone());
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    eprintln!("run-local| {line}");
                    let count = {
                        let mut lines = lines.lock().unwrap();
                        lines.push(line);
                        lines.len()
                    };
                    tell.send_replace(count);
                }
            });
        }
        Demo { child, lines, printed }
    }

    /// The first printed line `pick` accepts (mapped), waiting for it up to `timeout`.
    async fn line<T>(&mut self, what: &str, timeout: Duration, pick: impl Fn(&str) -> Option<T>) -> T {
        let found = tokio::time::timeout(timeout, async {
            loop {
                if let Some(found) = self.lines.lock().unwrap().iter().find_map(|l| pick(l)) {
                    return found;
                }
                if self.printed.changed().await.is_err() {
                    // Output ended: one last look, then give up.
                    if let Some(found) = self.lines.lock().unwrap().iter().find_map(|l| pick(l)) {
                        return found;
                    }
                    futures_util::future::pending::<()>().await;
                }
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("run-local never printed {what}; it printed:\n{}", self.lines.lock().unwrap().join("\n")))
    }

    /// A printed line containing `text`.
    async fn said(&mut self, text: &str) -> String {
        self.line(&format!("{text:?}"), STEP, |l| l.contains(text).then(|| l.to_string())).await
    }

    /// What the start-up block printed: (portal URL, phone URL, dashboard URL, email, password).
    async fn urls(&mut self) -> (String, String, String, String, String) {
        let url = |needle: &'static str| {
            move |l: &str| l.trim().starts_with("http://").then_some(l.trim()).filter(|u| u.contains(needle)).map(String::from)
        };
        let portal = self.line("the portal URL", UP_WITHIN, url("/portal/")).await;
        let phone = self.line("the phone page URL", STEP, url("/phone")).await;
        let dashboard = self.line("the dashboard URL", STEP, url("/dashboard")).await;
        let (email, password) = self
            .line("the owner's sign-in", STEP, |l| {
                let rest = l.trim().strip_prefix("sign in as ")?;
                let (email, password) = rest.split_once(", password ")?;
                Some((email.to_string(), password.to_string()))
            })
            .await;
        (portal, phone, dashboard, email, password)
    }

    /// Ctrl-C to the script; it must stop its processes and exit.
    async fn interrupt(mut self) {
        let pid = self.child.id().expect("running").to_string();
        let sent = std::process::Command::new("kill").args(["-INT", &pid]).status().expect("kill");
        assert!(sent.success());
        let status = tokio::time::timeout(STEP, self.child.wait()).await.expect("run-local stops on Ctrl-C").unwrap();
        assert!(!status.success(), "an interrupted run-local says so in its status");
        self.said("stopping").await;
    }
}

impl Drop for Demo {
    /// A failed test leaves nothing running: the script and every process it started.
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill").args(["-TERM", &format!("-{pid}")]).status();
        }
    }
}

/// Nothing listens at `addr` any more.
async fn closed(addr: &str) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_pays_in_the_browser_and_is_online() {
    let (chromium, driver) = match find_browser() {
        Ok(found) => found,
        Err(why) if std::env::var("JASIYO_REQUIRE_BROWSER").is_ok_and(|v| v == "1") => panic!("JASIYO_REQUIRE_BROWSER=1 but {why}"),
        Err(why) => return eprintln!("SKIPPED: demo browser test: {why}"),
    };
    let dir = tempfile::TempDir::new().unwrap();
    let mut demo = Demo::start(dir.path());
    let (portal, phone, dashboard, email, password) = demo.urls().await;
    let router = portal.split("/portal/").nth(1).and_then(|r| r.split('?').next()).unwrap().to_string();
    // The URLs are printed once jasiyo-demo wrote what it serves.
    let ready: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("demo.json")).unwrap()).unwrap();
    let login = ready["login_url"].as_str().unwrap().to_string();
    assert!(portal.contains("link-login-only=") && portal.contains("chap-challenge="), "{portal}");

    let browser = Browser::start(&chromium, &driver, 390, 800).await;
    let shots = Shots::new("demo");
    let portal_tab = browser.tab().await;
    browser.goto(&portal).await;
    browser.wait("document.body.getAttribute('data-state') === 'choose'", "the plans", STEP, &shots).await;
    shots.save(&browser, "plans").await;
    browser.click("#plans input").await;
    browser.type_into("#phone", "0712 345 678").await;
    browser.click("#pay").await;
    demo.said("prompt sent to the phone").await;
    browser.wait("document.body.getAttribute('data-state') !== 'choose'", "the waiting screen", STEP, &shots).await;
    shots.save(&browser, "waiting").await;

    // The customer's phone, in a second tab: approve the prompt.
    browser.new_tab().await;
    browser.goto(&phone).await;
    browser.wait("!!document.querySelector('button.approve')", "the prompt on the phone", STEP, &shots).await;
    shots.save(&browser, "phone").await;
    let choices = browser
        .eval("return document.querySelectorAll('button.cancel, button.wrong-pin, button.timeout').length;", serde_json::json!([]))
        .await;
    assert_eq!(choices, 3, "cancel, wrong PIN and no answer can be chosen too");
    let approved = std::time::Instant::now();
    browser.click("button.approve").await;
    browser.wait("!document.querySelector('button.approve')", "the prompt answered", STEP, &shots).await;

    // Back on the portal: it logs the device in at the demo router's login page.
    browser.switch_to(&portal_tab).await;
    let online = format!(
        "location.href.indexOf('{login}') === 0 && document.body.getAttribute('data-state') === 'online' && !!document.getElementById('online')"
    );
    browser.wait(&online, "the demo router's \"You are online\" page", STEP, &shots).await;
    eprintln!("demo: from approving on the phone to \"You are online\" in {:?}", approved.elapsed());
    shots.save(&browser, "online").await;
    assert_eq!(browser.text("#online").await, "You are online");
    assert_eq!(browser.text("#left").await, "1h left", "the first plan is an hour");
    let user = browser.text("#user").await;

    // The live view told the story, router side included.
    for event in [
        "initiated",
        "prompt sent to the phone",
        "callback from the provider",
        "paid: receipt",
        "delivered to the agent",
        "applied on the router",
    ] {
        demo.said(event).await;
    }
    demo.said(&format!("hotspot user {user} added")).await;
    demo.said(&format!("logged in as {user}")).await;

    // The printed owner signs in to the dashboard.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let signed_in = http.post(format!("{dashboard}/login")).form(&[("email", &email), ("password", &password)]).send().await.unwrap();
    assert!(signed_in.status().is_redirection(), "sign-in as the printed owner: {}", signed_in.status());
    browser.close().await;

    // Ctrl-C stops everything.
    let cloud = std::fs::read_to_string(dir.path().join("cloud.addr")).unwrap().trim().to_string();
    let hotspot = login.trim_start_matches("http://").trim_end_matches("/login").to_string();
    demo.interrupt().await;
    assert!(closed(&cloud).await, "the cloud stopped");
    assert!(closed(&hotspot).await, "the demo router stopped");

    // A second run finds the same demo: router, owner and the customer's login.
    let mut again = Demo::start(dir.path());
    let (portal_again, _, _, _, password_again) = again.urls().await;
    assert!(portal_again.contains(&format!("/portal/{router}?")), "{portal_again}");
    assert_eq!(password_again, password);
    assert!(!again.lines.lock().unwrap().iter().any(|l| l.contains("first run")), "no new tenant on a restart");
    again.interrupt().await;
}

/// The demo router's login page, as the portal posts to it: a CHAP hash or a PAP password
/// must match the emulated router's user, and only then is the device logged in there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_routers_login_page_checks_chap_and_pap() {
    use jasiyo_tests::demo::hotspot::{self, Chap, Device};
    use jasiyo_tests::demo::live::Printer;
    use jasiyo_tests::routeros_emulator::{EmulatorConfig, NewUser, RouterOsEmulator};

    let router = Arc::new(RouterOsEmulator::start(EmulatorConfig::default()).await);
    router.add_user_by_hand(NewUser { limit_uptime: Some("1h30m".into()), ..NewUser::new("K7PQ2M", "482913") });
    router.add_user_by_hand(NewUser::new("PAPPAP", "111111"));
    let chap = Chap::random();
    let serve = |mac: &str, ip: &str| {
        let app = hotspot::router(router.clone(), Device { mac: mac.into(), ip: ip.into() }, chap.clone(), Arc::new(Printer::default()));
        async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await });
            url
        }
    };
    let phone = serve("02:00:00:00:00:01", "10.5.50.2").await;
    let laptop = serve("02:00:00:00:00:02", "10.5.50.3").await;
    let http = reqwest::Client::new();
    let post = |base: &str, user: &str, password: &str| {
        http.post(format!("{base}/login")).form(&[("username", user), ("password", password), ("dst", "http://example.com/")]).send()
    };

    for (user, password) in [("K7PQ2M", chap.hash("000000")), ("K7PQ2M", "000000".into()), ("NOSUCH", chap.hash("482913"))] {
        let refused = post(&phone, user, &password).await.unwrap();
        assert_eq!(refused.status(), 403, "{user} {password}");
        assert!(refused.text().await.unwrap().contains("invalid username or password"));
    }
    // A hash made with another challenge does not pass either.
    let stale = Chap { challenge: vec![0; 16], ..chap.clone() }.hash("482913");
    assert_eq!(post(&phone, "K7PQ2M", &stale).await.unwrap().status(), 403);
    assert!(router.active().is_empty(), "nobody logged in on refused logins");
    assert!(http.get(format!("{phone}/status")).send().await.unwrap().text().await.unwrap().contains("Not logged in"));

    let online = post(&phone, "K7PQ2M", &chap.hash("482913")).await.unwrap();
    assert_eq!(online.status(), 200);
    let page = online.text().await.unwrap();
    assert!(page.contains("You are online") && page.contains("K7PQ2M") && page.contains("1h30m left"), "{page}");
    let sessions = router.active();
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        (sessions[0].user.as_str(), sessions[0].mac_address.as_str(), sessions[0].address.as_str()),
        ("K7PQ2M", "02:00:00:00:00:01", "10.5.50.2")
    );
    assert!(http.get(format!("{phone}/status")).send().await.unwrap().text().await.unwrap().contains("You are online"));

    // PAP (a page without CHAP variables sends the password itself), on the other device.
    let pap = post(&laptop, "PAPPAP", "111111").await.unwrap();
    assert_eq!(pap.status(), 200);
    assert!(pap.text().await.unwrap().contains("no time limit"));
    assert!(router.active().iter().any(|a| a.user == "PAPPAP" && a.mac_address == "02:00:00:00:00:02"));
}
