//! Tenants: the router owners.

use serde::Serialize;

use super::TenantId;

/// A router owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Its display name, unique across the cloud.
    pub name: String,
    /// When it was created (Unix ms).
    pub created_at: i64,
    /// The IANA time zone its times are shown in (`Africa/Nairobi` unless set).
    pub time_zone: String,
    /// When the operator suspended it (its portal sells nothing, its people cannot sign in).
    pub suspended_at: Option<i64>,
}

/// How a tenant's captive portal looks: set by the owner on the dashboard, every field
/// checked before it is kept ([`PortalLook::check`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PortalLook {
    /// A line under the business name ("Fast WiFi at Mama Mboga's").
    pub welcome: Option<String>,
    /// The phone customers call for help, shown at the foot of the page.
    pub support_phone: Option<String>,
    /// The page's colour, `#rrggbb`.
    pub color: Option<String>,
    /// The language the page opens in (`en` or `sw`) until the customer picks one.
    pub language: Option<String>,
    /// A small logo as a `data:image/...;base64,...` URI (inline: the portal is one response).
    pub logo: Option<String>,
}

/// The longest welcome line.
pub const MAX_WELCOME_CHARS: usize = 140;
/// The largest logo accepted, in bytes (before base64).
pub const MAX_LOGO_BYTES: usize = 24 * 1024;

impl PortalLook {
    /// Checks every field; the message says which is wrong and how.
    pub fn check(&self) -> Result<(), String> {
        if let Some(welcome) = &self.welcome
            && (welcome.chars().count() > MAX_WELCOME_CHARS || welcome.chars().any(char::is_control))
        {
            return Err(format!("Welcome line: at most {MAX_WELCOME_CHARS} characters on one line."));
        }
        if let Some(phone) = &self.support_phone
            && (phone.len() > 20 || !phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)))
        {
            return Err("Support phone: digits, spaces and + only, like 0712 345 678.".into());
        }
        if let Some(color) = &self.color
            && !(color.len() == 7 && color.starts_with('#') && color[1..].bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err("Colour: like #0b6e4f.".into());
        }
        if let Some(language) = &self.language
            && language != "en"
            && language != "sw"
        {
            return Err("Language: English or Kiswahili.".into());
        }
        if let Some(logo) = &self.logo
            && !(logo.len() <= MAX_LOGO_BYTES * 4 / 3 + 64
                && ["data:image/png;base64,", "data:image/jpeg;base64,", "data:image/webp;base64,"].iter().any(|p| logo.starts_with(p)))
        {
            return Err("Logo: a PNG, JPEG or WebP image of at most 24 KB.".into());
        }
        Ok(())
    }
}

/// The logo's `data:` URI if `bytes` are a PNG, JPEG or WebP image (told by their first
/// bytes, whatever the upload claimed) of at most [`MAX_LOGO_BYTES`].
pub fn logo_data_uri(bytes: &[u8]) -> Result<String, String> {
    if bytes.len() > MAX_LOGO_BYTES {
        return Err("Logo: at most 24 KB; make it smaller (a 200 px wide PNG is plenty).".into());
    }
    let kind = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "png"
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        "jpeg"
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        "webp"
    } else {
        return Err("Logo: a PNG, JPEG or WebP image.".into());
    };
    Ok(format!("data:image/{kind};base64,{}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_are_checked() {
        assert_eq!(PortalLook::default().check(), Ok(()));
        let good = PortalLook {
            welcome: Some("Karibu!".into()),
            support_phone: Some("+254 712 345 678".into()),
            color: Some("#0B6E4F".into()),
            language: Some("sw".into()),
            logo: Some(logo_data_uri(b"\x89PNG\r\n\x1a\nrest").unwrap()),
        };
        assert_eq!(good.check(), Ok(()));
        for bad in [
            PortalLook { color: Some("red".into()), ..good.clone() },
            PortalLook { color: Some("#12345g".into()), ..good.clone() },
            PortalLook { support_phone: Some("call<me>".into()), ..good.clone() },
            PortalLook { language: Some("fr".into()), ..good.clone() },
            PortalLook { welcome: Some("two\nlines".into()), ..good.clone() },
            PortalLook { logo: Some("data:image/svg+xml;base64,PHN2Zz4=".into()), ..good.clone() },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        assert!(logo_data_uri(b"<svg onload=alert(1)>").is_err());
        assert!(logo_data_uri(&vec![0xff; MAX_LOGO_BYTES + 1]).is_err());
    }
}
