//! The frame around every signed-in page (header, navigation, sign-out) and the plain
//! frame of the pages before signing in.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::model::Role;

/// Where a page sits in the navigation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nav {
    /// The overview.
    Overview,
    /// Routers.
    Routers,
    /// Plans.
    Plans,
    /// Transactions.
    Transactions,
    /// Hotspot users.
    Users,
    /// Voucher batches.
    Vouchers,
    /// Alerts.
    Alerts,
    /// Settings (provider, portal, staff, password).
    Settings,
    /// The operator's platform view.
    Platform,
}

/// The navigation: (where, link, label, who sees it).
const NAV: &[(Nav, &str, &str, &[Role])] = &[
    (Nav::Overview, "/dashboard", "Overview", &[Role::Owner, Role::Staff]),
    (Nav::Transactions, "/dashboard/transactions", "Transactions", &[Role::Owner, Role::Staff]),
    (Nav::Users, "/dashboard/users", "Hotspot users", &[Role::Owner, Role::Staff]),
    (Nav::Vouchers, "/dashboard/vouchers", "Vouchers", &[Role::Owner, Role::Staff]),
    (Nav::Routers, "/dashboard/routers", "Routers", &[Role::Owner, Role::Staff]),
    (Nav::Plans, "/dashboard/plans", "Plans", &[Role::Owner]),
    (Nav::Alerts, "/dashboard/alerts", "Alerts", &[Role::Owner, Role::Staff]),
    (Nav::Settings, "/dashboard/settings", "Settings", &[Role::Owner, Role::Staff]),
    (Nav::Platform, "/dashboard/platform", "Platform", &[Role::Operator]),
];

/// Who is looking at a signed-in page.
#[derive(Clone, Debug)]
pub struct Frame {
    /// The business's name (or "Platform" for an operator).
    pub business: String,
    /// The person's name.
    pub person: String,
    /// Their role.
    pub role: Role,
    /// The session's CSRF token, for forms.
    pub csrf: String,
    /// This response's script nonce (the Content-Security-Policy lets only it run).
    pub nonce: String,
}

/// The stylesheet: small, inline, no web fonts.
const CSS: &str = r#"
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c2430;background:#f4f6f8}
a{color:#0b6bcb}header{background:#123;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;justify-content:space-between}
header b{font-size:1.05rem}header form{margin:0}header button{background:none;border:1px solid #fff6;color:#fff;padding:.25rem .6rem;border-radius:4px}
nav{background:#fff;border-bottom:1px solid #dde3ea;overflow-x:auto;white-space:nowrap}nav a{display:inline-block;padding:.6rem .8rem;text-decoration:none;color:#345}
nav a.on{color:#0b6bcb;border-bottom:3px solid #0b6bcb;font-weight:600}main{max-width:1100px;margin:0 auto;padding:1rem}
h1{font-size:1.3rem;margin:.2rem 0 1rem}h2{font-size:1.05rem;margin:1.2rem 0 .5rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:.7rem}.card{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:.8rem}
.card .n{font-size:1.4rem;font-weight:700}.card .l{color:#5a6775;font-size:.85rem}
.box{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:1rem;margin-bottom:1rem}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid #e7ecf1;font-size:.9rem;vertical-align:top}
th{color:#5a6775;font-weight:600;white-space:nowrap}td.num,th.num{text-align:right;white-space:nowrap}
.st{display:inline-block;padding:.05rem .45rem;border-radius:9px;font-size:.8rem;background:#e7ecf1}.st.ok{background:#d8f3dc;color:#1b5e20}.st.bad{background:#fde2e1;color:#8a1c1c}.st.wait{background:#fff3cd;color:#7a5b00}
form.stack label{display:block;margin:.6rem 0 .2rem;font-weight:600}input,select,textarea{font:inherit;padding:.5rem;border:1px solid #b8c2cc;border-radius:6px;width:100%;max-width:420px;background:#fff}
button,.btn{font:inherit;padding:.5rem .9rem;border-radius:6px;border:0;background:#0b6bcb;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.quiet,.btn.ghost{background:#e7ecf1;color:#1c2430}button.danger{background:#b3261e}.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
.err{background:#fde2e1;color:#8a1c1c;padding:.6rem .8rem;border-radius:6px;margin-bottom:1rem}.ok-msg{background:#d8f3dc;color:#1b5e20;padding:.6rem .8rem;border-radius:6px;margin-bottom:1rem}
.muted{color:#5a6775;font-size:.85rem}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}p code{overflow-wrap:anywhere}pre{background:#0f1720;color:#e6edf3;padding:.8rem;border-radius:6px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.narrow{max-width:420px;margin:2rem auto}svg{max-width:100%;height:auto}
"#;

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width,initial-scale=1";
            meta name="referrer" content="same-origin";
            title { (title) " · Jasiyo" }
            style { (PreEscaped(CSS)) }
        }
    }
}

/// A signed-in page: the header with the business and sign-out, the navigation with
/// `nav` marked, and `body`.
pub fn page(title: &str, frame: &Frame, nav: Nav, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header {
                    b { (frame.business) }
                    span.row {
                        span.muted style="color:#cfd8e3" { (frame.person) }
                        form method="post" action="/dashboard/logout" {
                            (super::csrf_field(&frame.csrf))
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                nav {
                    @for (place, href, label, roles) in NAV {
                        @if roles.contains(&frame.role) {
                            a.on[*place == nav] href=(href) { (label) }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A page before signing in (sign-in, sign-up, reset), in a narrow column.
pub fn plain_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header { b { "Jasiyo" } }
                main { div.narrow { (body) } }
            }
        }
    }
}
