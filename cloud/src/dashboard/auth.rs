//! The pages before signing in: sign in, sign up, forgotten password, and the one-time
//! link pages (reset, invitation); and the signed-in password change.

use maud::{Markup, html};

use super::{Frame, Nav, page, plain_page};

/// What was typed into the sign-up form (shown again after an error; never the password).
#[derive(Clone, Debug, Default)]
pub struct SignUpValues {
    /// Business name.
    pub business: String,
    /// The owner's name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Phone.
    pub phone: String,
}

fn error_box(error: Option<&str>) -> Markup {
    html! { @if let Some(error) = error { div.err role="alert" { (error) } } }
}

/// The sign-in page. The pre-sign-in forms carry no session; their CSRF defence is the
/// SameSite cookie and the `Origin` check (see `http/dashboard/session.rs`).
pub fn sign_in(email: &str, error: Option<&str>, notice: Option<&str>) -> Markup {
    plain_page(
        "Sign in",
        html! {
            h1 { "Sign in" }
            (error_box(error))
            @if let Some(notice) = notice { div.ok-msg { (notice) } }
            form.stack method="post" action="/dashboard/login" {
                label for="email" { "E-mail address" }
                input #email type="email" name="email" value=(email) autocomplete="username" required;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                p { button type="submit" { "Sign in" } }
            }
            p { a href="/dashboard/forgot" { "Forgot your password?" } }
            p { "New here? " a href="/dashboard/signup" { "Sign up your business" } }
        },
    )
}

/// The sign-up page.
pub fn sign_up(values: &SignUpValues, error: Option<&str>) -> Markup {
    plain_page(
        "Sign up",
        html! {
            h1 { "Start selling WiFi" }
            (error_box(error))
            form.stack method="post" action="/dashboard/signup" {
                label for="business" { "Business name (shown to your customers)" }
                input #business name="business" value=(values.business) maxlength="80" required;
                label for="name" { "Your name" }
                input #name name="name" value=(values.name) maxlength="80" autocomplete="name" required;
                label for="email" { "E-mail address" }
                input #email type="email" name="email" value=(values.email) autocomplete="email" required;
                label for="phone" { "Phone (M-Pesa)" }
                input #phone type="tel" name="phone" value=(values.phone) placeholder="0712 345 678" autocomplete="tel" required;
                label for="password" { "Password (at least 8 characters)" }
                input #password type="password" name="password" minlength="8" autocomplete="new-password" required;
                p { button type="submit" { "Create account" } }
            }
            p { "Already have an account? " a href="/dashboard/login" { "Sign in" } }
        },
    )
}

/// The "forgot your password?" page, and what it says once asked.
pub fn forgot(sent: bool, error: Option<&str>) -> Markup {
    plain_page(
        "Forgot password",
        html! {
            h1 { "Reset your password" }
            (error_box(error))
            @if sent {
                div.ok-msg { "If that address has an account, a link to reset its password is on its way. It works for an hour." }
            }
            form.stack method="post" action="/dashboard/forgot" {
                label for="email" { "E-mail address" }
                input #email type="email" name="email" autocomplete="username" required;
                p { button type="submit" { "Send the link" } }
            }
            p { a href="/dashboard/login" { "Back to sign in" } }
        },
    )
}

/// The page a one-time link opens: choose a (new) password. `action` is the link's own path.
pub fn choose_password(title: &str, action: &str, error: Option<&str>) -> Markup {
    plain_page(
        title,
        html! {
            h1 { (title) }
            (error_box(error))
            form.stack method="post" action=(action) {
                label for="password" { "New password (at least 8 characters)" }
                input #password type="password" name="password" minlength="8" autocomplete="new-password" required;
                p { button type="submit" { "Save and sign in" } }
            }
        },
    )
}

/// The signed-in password change (under Settings).
pub fn change_password(frame: &Frame, error: Option<&str>, done: bool) -> Markup {
    page(
        "Password",
        frame,
        Nav::Settings,
        html! {
            h1 { "Change your password" }
            (error_box(error))
            @if done { div.ok-msg { "Password changed. Every other session of yours was signed out." } }
            form.stack.box method="post" action="/dashboard/settings/password" {
                (super::csrf_field(&frame.csrf))
                label for="current" { "Current password" }
                input #current type="password" name="current" autocomplete="current-password" required;
                label for="new" { "New password (at least 8 characters)" }
                input #new type="password" name="new" minlength="8" autocomplete="new-password" required;
                p { button type="submit" { "Change password" } }
            }
        },
    )
}
