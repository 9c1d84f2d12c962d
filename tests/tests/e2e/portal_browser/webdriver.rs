//! A small W3C WebDriver client over reqwest, driving Debian's headless Chromium through
//! `chromedriver`: the handful of commands the portal and dashboard tests need, and waits on DOM
//! conditions (a script re-evaluated until it holds, with a timeout), never fixed sleeps.
//!
//! Written here rather than taken from a crate: the protocol is a few JSON calls, and the
//! crates bring their own HTTP stack and a large Unicode segmenter for text input.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How often a wait re-evaluates its condition.
const RECHECK: Duration = Duration::from_millis(25);

/// Where Chromium and its driver are, or why the browser tests cannot run here.
pub fn find_browser() -> Result<(PathBuf, PathBuf), String> {
    let which = |env: &str, names: &[&str]| -> Option<PathBuf> {
        if let Ok(path) = std::env::var(env) {
            return Some(PathBuf::from(path));
        }
        let paths = std::env::var_os("PATH")?;
        names.iter().flat_map(|n| std::env::split_paths(&paths).map(move |d| d.join(n))).find(|p| p.is_file())
    };
    let chromium = which("JASIYO_CHROMIUM", &["chromium", "chromium-browser"]).ok_or("no chromium (apt-get install chromium)")?;
    let driver = which("JASIYO_CHROMEDRIVER", &["chromedriver"]).ok_or("no chromedriver (apt-get install chromium-driver)")?;
    Ok((chromium, driver))
}

/// A running `chromedriver` with one headless Chromium session; both end on drop.
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    session: String,
    base: String,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Starts the driver on a free local port and opens a session `width`×`height`.
    pub async fn start(chromium: &Path, driver: &Path, width: u32, height: u32) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build().unwrap();
        let profile = tempfile::TempDir::new().unwrap();
        let mut browser = Browser { driver, http, session: String::new(), base, profile };
        browser.until_ready().await;
        let args = [
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--hide-scrollbars".into(),
            "--force-device-scale-factor=1".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", browser.profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            // A phone's viewport (a desktop window is at least 500 px wide in headless mode).
            "goog:chromeOptions": {"binary": chromium, "args": args, "mobileEmulation": {
                "deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0, "touch": true}
            }},
            "timeouts": {"pageLoad": 30_000, "script": 10_000}
        }}});
        let answer = browser.raw("POST", "/session", Some(caps)).await;
        browser.session = answer["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {answer}")).to_string();
        browser
    }

    /// Waits for the driver to answer `/status` as ready.
    async fn until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = match self.http.get(format!("{}/status", self.base)).send().await {
                Ok(response) => response.json::<Value>().await.is_ok_and(|v| v["value"]["ready"] == true),
                Err(_) => false,
            };
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "chromedriver did not come up");
            tokio::time::sleep(RECHECK).await;
        }
    }

    async fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body.unwrap_or(json!({}))),
        };
        let response = request.send().await.unwrap_or_else(|e| panic!("webdriver {method} {path}: {e}"));
        let value: Value = response.json().await.unwrap_or_else(|e| panic!("webdriver {method} {path}: {e}"));
        if let Some(error) = value["value"]["error"].as_str() {
            panic!("webdriver {method} {path}: {error}: {}", value["value"]["message"]);
        }
        value["value"].clone()
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.raw(method, &format!("/session/{}{path}", self.session), body).await
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await;
    }

    /// The current tab's handle.
    pub async fn tab(&self) -> String {
        self.cmd("GET", "/window", None).await.as_str().expect("a window handle").to_string()
    }

    /// Opens a new tab and switches to it (a customer's second tab); returns its handle.
    pub async fn new_tab(&self) -> String {
        let handle = self.cmd("POST", "/window/new", Some(json!({ "type": "tab" }))).await["handle"]
            .as_str()
            .expect("a new tab's handle")
            .to_string();
        self.switch_to(&handle).await;
        handle
    }

    /// Switches to the tab `handle`.
    pub async fn switch_to(&self, handle: &str) {
        self.cmd("POST", "/window", Some(json!({ "handle": handle }))).await;
    }

    /// Reloads the page.
    pub async fn refresh(&self) {
        self.cmd("POST", "/refresh", None).await;
    }

    /// Runs `script` (a function body; `arguments` as usual) and returns its value.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({ "script": script, "args": args }))).await
    }

    async fn element(&self, css: &str) -> String {
        let found = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css}))).await;
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {found}")).to_string()
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.cmd("POST", &format!("/element/{id}/click"), None).await;
    }

    /// Clears the field matching `css` and types `text` into it.
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.cmd("POST", &format!("/element/{id}/clear"), None).await;
        self.cmd("POST", &format!("/element/{id}/value"), Some(json!({ "text": text }))).await;
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let id = self.element(css).await;
        self.cmd("GET", &format!("/element/{id}/text"), None).await.as_str().unwrap_or_default().to_string()
    }

    /// Waits until `condition` (a JavaScript expression) is true on the current page,
    /// re-evaluating it (also across page loads) until `timeout`; then saves a screenshot
    /// as `<name>-timeout.png` and fails with `what` and the page's state.
    pub async fn wait(&self, condition: &str, what: &str, timeout: Duration, shots: &Shots) {
        let script = format!("try {{ return !!({condition}); }} catch (e) {{ return false; }}");
        let deadline = Instant::now() + timeout;
        loop {
            let url = format!("{}/session/{}/execute/sync", self.base, self.session);
            let held = match self.http.post(url).json(&json!({"script": script, "args": []})).send().await {
                Ok(response) => response.json::<Value>().await.is_ok_and(|v| v["value"] == true),
                Err(_) => false,
            };
            if held {
                return;
            }
            if Instant::now() > deadline {
                shots.save(self, &format!("timeout-{}", what.replace(' ', "-"))).await;
                let state = self.eval("return [location.href, document.body ? document.body.getAttribute('data-state') : null, document.body ? document.body.getAttribute('data-reason') : null, document.body ? document.body.innerText.slice(0, 600) : ''];", json!([])).await;
                panic!("timed out waiting for {what} ({condition}); page: {state}");
            }
            tokio::time::sleep(RECHECK).await;
        }
    }

    /// Runs a Chrome DevTools Protocol command on the page (emulated media, time zone, a
    /// script run before each document's own) and returns its result.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.cmd("POST", "/goog/cdp/execute", Some(json!({"cmd": cmd, "params": params}))).await
    }

    /// Makes requests to URLs matching these patterns fail, as a hostile network would.
    pub async fn block_urls(&self, patterns: &[&str]) {
        self.cmd("POST", "/goog/cdp/execute", Some(json!({"cmd": "Network.enable", "params": {}}))).await;
        self.cmd("POST", "/goog/cdp/execute", Some(json!({"cmd": "Network.setBlockedURLs", "params": {"urls": patterns}}))).await;
    }

    /// The session's cookies as a `Cookie` header value (`name=value; ...`), HttpOnly ones
    /// included: for fetching a signed-in page outside the browser.
    pub async fn cookie_header(&self) -> String {
        let cookies = self.cmd("GET", "/cookie", None).await;
        let pairs = cookies.as_array().map(Vec::as_slice).unwrap_or_default().iter();
        pairs
            .map(|c| format!("{}={}", c["name"].as_str().unwrap_or_default(), c["value"].as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        let data = self.cmd("GET", "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD.decode(data.as_str().unwrap_or_default()).expect("screenshot is base64")
    }

    /// The current page printed to PDF on A4 paper with 1 cm margins (WebDriver's
    /// `print`, headless only): the PDF's bytes.
    pub async fn print_a4(&self) -> Vec<u8> {
        let options = json!({"page": {"width": 21.0, "height": 29.7}, "margin": {"top": 1, "bottom": 1, "left": 1, "right": 1}});
        let data = self.cmd("POST", "/print", Some(options)).await;
        base64::engine::general_purpose::STANDARD.decode(data.as_str().unwrap_or_default()).expect("the PDF is base64")
    }

    /// Ends the session and the driver.
    pub async fn close(mut self) {
        let _ = self.http.delete(format!("{}/session/{}", self.base, self.session)).send().await;
        self.session.clear();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed test never reaches close(): the driver takes its browser down with it.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Screenshots of one test, saved as `target/<dir>/<test>-<n>-<name>.png`
/// (`portal-screenshots` unless [`Shots::in_dir`]).
pub struct Shots {
    dir: PathBuf,
    test: String,
    count: std::sync::atomic::AtomicUsize,
}

impl Shots {
    /// Screenshots for `test`, in `target/portal-screenshots/`.
    pub fn new(test: &str) -> Shots {
        Shots::in_dir("portal-screenshots", test)
    }

    /// Screenshots for `test`, in `target/<dir>/`.
    pub fn in_dir(dir: &str, test: &str) -> Shots {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
        let dir = target.join(dir);
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        Shots { dir, test: test.to_string(), count: Default::default() }
    }

    /// Saves the browser's viewport as the next screenshot of this test.
    pub async fn save(&self, browser: &Browser, name: &str) -> PathBuf {
        let n = self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let path = self.dir.join(format!("{}-{n:02}-{name}.png", self.test));
        std::fs::write(&path, browser.screenshot().await).expect("write screenshot");
        path
    }
}
