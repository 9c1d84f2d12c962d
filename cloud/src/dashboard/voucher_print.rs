//! A batch's codes as a print-ready A4 sheet of cards (the browser's "Print" or "Save as
//! PDF" makes the paper): each card has the business name, the plan, the price, the code,
//! and short instructions in English and Swahili; optionally a QR code that opens the
//! portal with the code filled in. Revoked codes are left out. The page has no script and
//! loads nothing: a QR code is inline SVG.
//!
//! The layout promises [`CARDS_PER_PAGE`] cards on each A4 page: every page's cards are one
//! `.sheet` that breaks after itself, and no card is split (`break-inside: avoid`). The
//! browser test prints the sheet to PDF and checks the page count and each code.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use std::fmt::Write;

use qrcode::{Color, EcLevel, QrCode};

use crate::model::{VoucherCode, VoucherState};

/// Cards per A4 page: three across, eight down (8 × 34 mm fit the 277 mm between margins).
pub const CARDS_PER_PAGE: usize = 24;

const CSS: &str = r#"
@page{size:A4;margin:10mm}*{box-sizing:border-box}body{margin:0;font:10pt/1.3 system-ui,sans-serif;color:#000}
.sheet{display:grid;grid-template-columns:repeat(3,1fr);gap:0;page-break-after:always;break-after:page}
.sheet:last-child{page-break-after:auto;break-after:auto}
.v{border:1px dashed #888;height:34mm;padding:2.5mm 3mm;break-inside:avoid;page-break-inside:avoid;overflow:hidden}
.v.qr{display:grid;grid-template-columns:1fr 18mm;grid-template-rows:auto 1fr;column-gap:1.5mm}
.q svg{display:block;width:18mm;height:18mm}.qr .w{grid-column:1/3;margin-top:.5mm}
.b{font-weight:700;font-size:10pt;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}.p{font-size:8.5pt}
.c{font:700 14pt/1.2 ui-monospace,Menlo,Consolas,monospace;letter-spacing:.05em;margin:1mm 0;overflow-wrap:anywhere}.i{font-size:7pt;color:#333}
.qr .c{font-size:12pt;letter-spacing:0}.qr .i{font-size:6.5pt;line-height:1.2}.qr .u{font-size:6pt;white-space:nowrap}
.noprint{padding:1rem;font-family:system-ui,sans-serif}@media print{.noprint{display:none}}
"#;

/// What the sheet shows.
pub struct PrintSheet<'a> {
    /// The business's name.
    pub business: &'a str,
    /// The plan's name.
    pub plan: &'a str,
    /// The price printed on each card, if the owner gave one.
    pub price_kes: Option<u32>,
    /// Unsold codes stop working after this day, as written for the tenant.
    pub valid_until: Option<String>,
    /// The codes and their states.
    pub codes: &'a [(VoucherCode, VoucherState)],
    /// With QR codes: the portal URL each card's code is appended to (see [`qr_url`]).
    pub qr: Option<String>,
    /// This sheet's address without the query, for the "with / without QR codes" link.
    pub here: String,
}

/// The URL a card's QR code holds: the batch's (first) router's portal with the code,
/// which the portal page fills in (see `portal/page.js`'s `openVoucher`).
pub fn qr_url(public_url: &str, router: jasiyo_shared::RouterId) -> String {
    format!("{}/portal/{router}?voucher=", public_url.trim_end_matches('/'))
}

/// Light modules around a QR code, as its standard asks for.
const QUIET: usize = 4;

/// `text` as an inline SVG QR code (error correction L: the card is kept clean and the
/// code is printed beside it). Each row's runs of dark modules are one stroke each
/// (`M x y.5 h n`), a third of the size of a square per module: a 5,000-card sheet stays a
/// page a browser prints. `None` if the text does not fit in a QR code.
fn qr_svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L).ok()?;
    let width = code.width();
    let mut path = String::with_capacity(width * width / 2);
    for (y, row) in code.to_colors().chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            let start = x;
            while x < width && row[x] == Color::Dark {
                x += 1;
            }
            if x > start {
                let _ = write!(path, "M{} {}.5h{}", start + QUIET, y + QUIET, x - start);
            }
            x += 1;
        }
    }
    let size = width + 2 * QUIET;
    Some(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" shape-rendering="crispEdges"><path stroke="#000" d="{path}"/></svg>"##
    ))
}

/// The sheet.
pub fn print_sheet(view: &PrintSheet<'_>) -> Markup {
    let codes: Vec<&VoucherCode> = view.codes.iter().filter(|(_, s)| *s != VoucherState::Revoked).map(|(c, _)| c).collect();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="referrer" content="same-origin";
                title { (view.business) " vouchers · " (view.plan) }
                style { (PreEscaped(CSS)) }
            }
            body {
                p.noprint #about { (codes.len()) " cards on " (codes.len().div_ceil(CARDS_PER_PAGE)) " A4 page(s). Print this page, or save it as a PDF, from your browser's menu. "
                    @if view.qr.is_some() { a href=(view.here) { "Without QR codes" } }
                    @else { a href={ (view.here) "?qr=1" } { "With QR codes" } }
                }
                @for sheet in codes.chunks(CARDS_PER_PAGE) {
                    div.sheet {
                        @for code in sheet {
                            @let qr = view.qr.as_ref().and_then(|base| qr_svg(&format!("{base}{}", code.as_str())));
                            div.v.qr[qr.is_some()] {
                                div {
                                    div.b { (view.business) }
                                    div.p { (view.plan) @if let Some(price) = view.price_kes { " · KES " (price) } }
                                    div.c { (code.grouped()) }
                                }
                                @if let Some(svg) = &qr { div.q { (PreEscaped(svg)) } }
                                div.w {
                                    @if qr.is_some() {
                                        div.i { "Scan, or join the WiFi and type this code at “Have a voucher?” / Skani, au unganisha WiFi kisha andika msimbo huu kwenye “Una vocha?”" }
                                    } @else {
                                        div.i { "Join the WiFi, tap “Have a voucher?” and type this code. / Unganisha WiFi, gusa “Una vocha?” kisha andika msimbo huu." }
                                    }
                                    @if let Some(until) = &view.valid_until { div.i.u { "Use by / Tumia kabla ya " (until) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_with_a_qr_code_holds_it_as_inline_svg() {
        let url = qr_url("https://wifi.example.com/", jasiyo_shared::RouterId::new());
        assert!(url.starts_with("https://wifi.example.com/portal/") && url.ends_with("?voucher="), "{url}");
        let codes = [(VoucherCode::parse("ABCD-EFGH").unwrap(), VoucherState::Unused)];
        let view = |qr: Option<String>| PrintSheet {
            business: "Kona WiFi",
            plan: "1 hour",
            price_kes: Some(20),
            valid_until: None,
            codes: &codes,
            qr,
            here: "/dashboard/vouchers/x/print".into(),
        };
        let with = print_sheet(&view(Some(url.clone()))).into_string();
        assert_eq!(with.matches("<svg").count(), 1);
        assert!(!with.contains("<?xml") && with.contains("class=\"v qr\"") && with.contains("href=\"/dashboard/vouchers/x/print\""));
        // The card's QR code holds the portal URL with its code, module for module.
        let svg = &with[with.find("<svg").unwrap()..with.find("</svg>").unwrap()];
        let d = svg.split(" d=\"").nth(1).unwrap().trim_end_matches("\"/>");
        let expected = QrCode::with_error_correction_level(format!("{url}ABCDEFGH").as_bytes(), EcLevel::L).unwrap();
        let width = expected.width();
        let mut drawn = vec![Color::Light; width * width];
        for run in d.split('M').filter(|r| !r.is_empty()) {
            let (at, len) = run.split_once('h').unwrap();
            let (x, y) = at.split_once(' ').unwrap();
            let (x, y, len): (usize, usize, usize) = (x.parse().unwrap(), y.trim_end_matches(".5").parse().unwrap(), len.parse().unwrap());
            (x..x + len).for_each(|x| drawn[(y - QUIET) * width + x - QUIET] = Color::Dark);
        }
        assert_eq!(drawn, expected.to_colors());
        assert!(svg.contains(&format!("viewBox=\"0 0 {0} {0}\"", width + 2 * QUIET)));
        let without = print_sheet(&view(None)).into_string();
        assert!(!without.contains("<svg") && without.contains("href=\"/dashboard/vouchers/x/print?qr=1\""));
    }
}
