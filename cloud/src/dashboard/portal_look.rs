//! The portal settings page: the business name customers see, a welcome line, the help
//! phone, the colour, the language the page opens in and a small logo; with links to
//! see the portal as customers do.

use maud::{Markup, html};

use super::{Frame, Nav, csrf_field, page};
use crate::model::PortalLook;

/// What the page shows.
pub struct LookView<'a> {
    /// The business name now.
    pub business: &'a str,
    /// The look now.
    pub look: &'a PortalLook,
    /// The tenant's routers (id, name), to preview their portals.
    pub routers: &'a [(String, String)],
    /// A notice (saved) or an error.
    pub notice: Option<(bool, String)>,
}

/// The page.
pub fn portal_look(frame: &Frame, view: &LookView<'_>) -> Markup {
    let look = view.look;
    page(
        "Portal",
        frame,
        Nav::Settings,
        html! {
            h1 { "Your captive portal" }
            @if let Some((ok, text)) = &view.notice { div class=(if *ok { "ok-msg" } else { "err" }) role="status" { (text) } }
            form.stack.box method="post" action="/dashboard/settings/portal" enctype="multipart/form-data" {
                (csrf_field(&frame.csrf))
                label for="business" { "Business name" }
                input #business name="business" value=(view.business) maxlength="80" required;
                label for="welcome" { "Welcome line (optional)" }
                input #welcome name="welcome" value=(look.welcome.as_deref().unwrap_or("")) maxlength="140" placeholder="Fast WiFi, pay with M-Pesa";
                label for="support" { "Help phone (optional)" }
                input #support name="support_phone" type="tel" value=(look.support_phone.as_deref().unwrap_or("")) placeholder="0712 345 678";
                label for="color" { "Colour" }
                input #color name="color" type="color" value=(look.color.as_deref().unwrap_or("#0b6e4f")) style="max-width:6rem;height:2.6rem";
                label for="language" { "The page opens in" }
                select #language name="language" {
                    option value="en" selected[look.language.as_deref() != Some("sw")] { "English" }
                    option value="sw" selected[look.language.as_deref() == Some("sw")] { "Kiswahili" }
                }
                label for="logo" { "Logo (PNG, JPEG or WebP, at most 24 KB)" }
                @if let Some(logo) = &look.logo {
                    p { img src=(logo) alt="Your logo" style="height:40px;background:#0b6e4f;padding:4px;border-radius:6px"; }
                    label style="font-weight:normal" { input type="checkbox" name="remove_logo" value="1" style="width:auto"; " remove the logo" }
                }
                input #logo name="logo" type="file" accept="image/png,image/jpeg,image/webp";
                p { button type="submit" { "Save" } }
            }
            @if !view.routers.is_empty() {
                h2 { "See it as customers do" }
                ul { @for (id, name) in view.routers { li { a href={ "/portal/" (id) } target="_blank" rel="noopener" { (name) } } } }
            }
        },
    )
}
