//! The owner's side of the dashboard journey: one browser signed in (or about to be), and
//! what every page visit checks (the first response's compressed size, nothing scrolling
//! sideways on a phone) besides what the step itself asserts.

use std::path::PathBuf;

use jasiyo_tests::harness::WAIT;
use serde_json::json;

use crate::portal_browser::webdriver::{Browser, Shots, find_browser};

/// The largest first response of a dashboard page, gzipped.
const PAGE_BUDGET: usize = 50 * 1024;
/// Below this width the page is a phone's: nothing may scroll sideways.
const PHONE: u32 = 360;

/// The innermost elements reaching past `arguments[0]` px, for the failure message.
const OVERFLOWING: &str = "var width = arguments[0]; return Array.prototype.filter.call(document.querySelectorAll('body *'), function (e) { \
    return e.getBoundingClientRect().right > width && !e.querySelector('*'); }).slice(0, 5).map(function (e) { \
    return e.tagName + '#' + e.id + '.' + e.className + ': ' + e.textContent.slice(0, 40); });";

/// An owner's browser on one cloud, at one width.
pub struct Owner {
    pub browser: Browser,
    pub width: u32,
    base: String,
    shots: Shots,
    /// Whether [`Owner::shot`] saves the steps (a failure's screenshot is saved always).
    step_shots: bool,
    http: reqwest::Client,
}

impl Owner {
    /// `None` (and SKIPPED) when there is no browser here and none is required. Screenshots
    /// are named after `test`; the steps' only with `step_shots`.
    pub async fn open(test: &str, base: &str, width: u32, step_shots: bool) -> Option<Owner> {
        let (chromium, driver) = match find_browser() {
            Ok(found) => found,
            Err(why) if std::env::var("JASIYO_REQUIRE_BROWSER").is_ok_and(|v| v == "1") => {
                panic!("JASIYO_REQUIRE_BROWSER=1 but {why}")
            }
            Err(why) => {
                eprintln!("SKIPPED: browser test {test}: {why}");
                return None;
            }
        };
        let browser = Browser::start(&chromium, &driver, width, 800).await;
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Some(Owner { browser, width, base: base.to_string(), shots: Shots::in_dir("dashboard-screenshots", test), step_shots, http })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Opens `path`, waits for its heading, and checks the page: its first response under
    /// the budget gzipped (fetched again outside the browser with this session's cookie),
    /// and no sideways scrolling on a phone.
    pub async fn visit(&self, path: &str, heading: &str) {
        self.browser.goto(&self.url(path)).await;
        self.until(
            &format!("document.querySelector('h1') && document.querySelector('h1').textContent.indexOf('{heading}') === 0"),
            heading,
        )
        .await;
        self.check_page(path).await;
    }

    /// The checks of [`Owner::visit`] on the page the browser is at (reached by a form).
    pub async fn check_page(&self, path: &str) {
        let response = self
            .http
            .get(self.url(path))
            .header("accept-encoding", "gzip")
            .header("cookie", self.browser.cookie_header().await)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"), "{path} is gzipped");
        let compressed = response.bytes().await.unwrap().len();
        assert!(compressed <= PAGE_BUDGET, "{path}: {compressed} bytes gzipped, over {PAGE_BUDGET}");
        if self.width <= PHONE {
            let wide = self.browser.eval("return document.documentElement.scrollWidth;", json!([])).await;
            if wide.as_u64().unwrap() > u64::from(self.width) {
                let culprits = self.browser.eval(OVERFLOWING, json!([self.width])).await;
                panic!("{path} scrolls sideways at {} px: {wide} px wide; sticking out: {culprits}", self.width);
            }
        }
    }

    /// Waits until `condition` (JavaScript) holds on the page.
    pub async fn until(&self, condition: &str, what: &str) {
        self.browser.wait(condition, what, WAIT, &self.shots).await;
    }

    /// Waits until the element matching `css` exists and its text contains `text`.
    pub async fn until_text(&self, css: &str, text: &str) {
        let condition =
            format!("(function(){{var e=document.querySelector({css:?});return !!e && e.textContent.indexOf({text:?}) >= 0}})()");
        self.until(&condition, &format!("{css} saying {text}")).await;
    }

    /// Fills the fields (`#id`, value) and presses the submit button of `form` (CSS).
    pub async fn submit(&self, form: &str, fields: &[(&str, &str)]) {
        for (field, value) in fields {
            self.browser.type_into(&format!("{form} {field}"), value).await;
        }
        self.browser.click(&format!("{form} button[type=submit]")).await;
    }

    /// A screenshot of this step, named with the width (none unless this owner saves its
    /// steps).
    pub async fn shot(&self, step: &str) -> Option<PathBuf> {
        if !self.step_shots {
            return None;
        }
        Some(self.shots.save(&self.browser, &format!("{step}-{}px", self.width)).await)
    }

    pub async fn close(self) {
        self.browser.close().await;
    }
}
