//! A batch's codes as a print-ready A4 sheet of cards (the browser's "Print" or "Save as
//! PDF" makes the paper): each card has the business name, the plan, the price, the code,
//! and short instructions in English and Swahili. Revoked codes are left out. The page has
//! no script and loads nothing.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::model::{VoucherCode, VoucherState};

/// Cards per A4 page: three across, eight down.
pub const CARDS_PER_PAGE: usize = 24;

const CSS: &str = r#"
@page{size:A4;margin:10mm}*{box-sizing:border-box}body{margin:0;font:10pt/1.3 system-ui,sans-serif;color:#000}
.sheet{display:grid;grid-template-columns:repeat(3,1fr);gap:0;page-break-after:always;break-after:page}
.sheet:last-child{page-break-after:auto;break-after:auto}
.v{border:1px dashed #888;height:34mm;padding:2.5mm 3mm;break-inside:avoid;overflow:hidden}
.b{font-weight:700;font-size:10pt;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}.p{font-size:8.5pt}
.c{font:700 14pt/1.2 ui-monospace,Menlo,Consolas,monospace;letter-spacing:.05em;margin:1mm 0}.i{font-size:7pt;color:#333}
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
                p.noprint { (codes.len()) " cards on " (codes.len().div_ceil(CARDS_PER_PAGE)) " A4 page(s). Print this page, or save it as a PDF, from your browser's menu." }
                @for sheet in codes.chunks(CARDS_PER_PAGE) {
                    div.sheet {
                        @for code in sheet {
                            div.v {
                                div.b { (view.business) }
                                div.p { (view.plan) @if let Some(price) = view.price_kes { " · KES " (price) } }
                                div.c { (code.grouped()) }
                                div.i { "Join the WiFi, tap “Have a voucher?” and type this code. / Unganisha WiFi, gusa “Una vocha?” kisha andika msimbo huu." }
                                @if let Some(until) = &view.valid_until { div.i { "Use by / Tumia kabla ya " (until) } }
                            }
                        }
                    }
                }
            }
        }
    }
}
