//! The printable voucher sheet, printed: an owner signed in to the dashboard opens a
//! 100-code batch's A4 sheet (with QR codes) in headless Chromium and prints it to PDF
//! (WebDriver's `print`, A4, the sheet's own 1 cm margins). The PDF has as many pages as
//! the sheet promises ([`CARDS_PER_PAGE`] cards a page), each page holds its share of the
//! cards (none split across pages), and each code is in its text exactly once.
//!
//! The text is read with poppler's `pdftotext` and the pages counted with `pdfinfo`
//! (Debian's `poppler-utils`, installed by `.ci/run`); without them the test prints
//! SKIPPED, unless `JASIYO_REQUIRE_BROWSER=1`.

use std::path::Path;
use std::process::Command;

use jasiyo_cloud::dashboard::voucher_print::CARDS_PER_PAGE;
use jasiyo_cloud::model::{NewPlan, VoucherBatchInput};
use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::store::testing::Backend;
use jasiyo_cloud::token::AgentToken;
use jasiyo_cloud::vouchers::create_batch;
use jasiyo_tests::harness::*;

use super::owner::Owner;

const CODES: u32 = 100;

/// Runs a poppler tool on `pdf` (`pdftotext` writes to `-`, standard output); `None` when
/// it is not installed.
fn poppler(tool: &str, pdf: &Path) -> Option<String> {
    let mut command = Command::new(tool);
    command.arg(pdf);
    if tool == "pdftotext" {
        command.arg("-");
    }
    let output = command.output().ok()?;
    assert!(output.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&output.stderr));
    Some(String::from_utf8(output.stdout).expect("poppler writes UTF-8"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printed_voucher_sheet_has_every_code_once_on_the_promised_pages() {
    if Command::new("pdftotext").arg("-v").output().is_err() {
        if std::env::var("JASIYO_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!("JASIYO_REQUIRE_BROWSER=1 but pdftotext (poppler-utils) is not installed");
        }
        eprintln!("SKIPPED: the voucher sheet's PDF check: pdftotext (poppler-utils) is not installed");
        return;
    }
    let Some(world) = World::new(Backend::Sqlite).await else { return };
    let cloud = world.cloud().await;
    let Some(owner) = Owner::open("voucher-sheet", &cloud.http_url(), 1280, false).await else { return };
    let store = cloud.store().clone();
    owner.visit("/dashboard/signup", "Start selling WiFi").await;
    let fields = [
        ("#business", "Kona Vouchers"),
        ("#name", "Amina Otieno"),
        ("#email", "sheet@example.com"),
        ("#phone", "0712345678"),
        ("#password", "correct horse battery"),
    ];
    owner.submit("form[action='/dashboard/signup']", &fields).await;
    owner.until("location.pathname === '/dashboard'", "the overview").await;
    let tenant = store.find_tenant("Kona Vouchers").await.unwrap().expect("the business exists");
    let router = store.create_router(tenant.id, "Kibanda", &AgentToken::generate().hash(), now_ms()).await.unwrap();
    let plan = NewPlan {
        name: "1 hour".into(),
        price_kes: 20,
        duration_secs: 3600,
        data_mb: None,
        rate_limit: None,
        profile: None,
        shared_users: None,
    };
    let plan = store.create_plan(tenant.id, &plan, now_ms()).await.unwrap();
    let input = VoucherBatchInput {
        plan_id: plan.id,
        count: CODES,
        code_length: 8,
        prefix: None,
        price_kes: Some(20),
        valid_until: Some(4_073_587_199),
        routers: vec![router.id],
    };
    let (batch, codes) = create_batch(store.as_ref(), tenant.id, input).await.unwrap();

    // The batch page links to the sheet with QR codes; the sheet has one on each card.
    owner.visit(&format!("/dashboard/vouchers/{}", batch.id), "Voucher batch").await;
    owner.browser.click("#print_qr").await;
    owner.until("document.querySelectorAll('.v.qr svg').length === 100", "a QR code on each card").await;
    let pages = (CODES as usize).div_ceil(CARDS_PER_PAGE);
    assert_eq!(owner.browser.text("#about").await.split(" A4").next().unwrap(), format!("{CODES} cards on {pages}"));

    let pdf = owner.browser.print_a4().await;
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("voucher-sheet");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sheet.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let info = poppler("pdfinfo", &file).expect("pdfinfo comes with pdftotext");
    let counted: usize = info.lines().find_map(|l| l.strip_prefix("Pages:")).expect("pdfinfo counts pages").trim().parse().unwrap();
    assert_eq!(counted, pages, "{CODES} cards at {CARDS_PER_PAGE} a page; the PDF is {}", file.display());
    assert!(info.lines().any(|l| l.starts_with("Page size:") && l.ends_with("(A4)")), "A4: {info}");

    let text = poppler("pdftotext", &file).expect("pdftotext is here");
    for code in &codes {
        assert_eq!(text.matches(&code.grouped()).count(), 1, "code {} once in the PDF's text", code.grouped());
    }
    // Each page holds its share of whole cards: the codes, in the sheet's order, by page.
    let by_page: Vec<usize> =
        text.split('\u{c}').filter(|p| !p.trim().is_empty()).map(|p| codes.iter().filter(|c| p.contains(&c.grouped())).count()).collect();
    let expected: Vec<usize> = (0..pages).map(|i| CARDS_PER_PAGE.min(CODES as usize - i * CARDS_PER_PAGE)).collect();
    assert_eq!(by_page, expected, "cards by page");
    println!("VOUCHER SHEET: {CODES} codes, {pages} A4 pages, {} KB of PDF", pdf.len() / 1024);
    owner.browser.close().await;
    cloud.stop().await;
}
