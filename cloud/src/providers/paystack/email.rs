//! The customer e-mail Paystack's charge requires (`email` is mandatory, reference C.1):
//! `<msisdn>@<domain>`, a syntactically valid address on a domain the operator controls
//! (`serve --paystack-email-domain`), by default `hotspot.` + the public URL's host. Nothing
//! is mailed to it by us; Paystack may send receipts there, so the operator's own domain is
//! where they land rather than a reserved name that cannot receive mail.

use std::fmt;

/// Used when the public URL's host is not a DNS name (an IP address, `localhost`): local
/// and test runs. A deployment reachable by providers has a DNS name.
pub const LOCAL_FALLBACK: &str = "hotspot.localhost";

/// A domain customer e-mails are made on: lower-case DNS labels (letters, digits, inner
/// hyphens; 1 to 63 characters each), at least two of them, at most 253 characters, and
/// not under the reserved `.invalid`.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailDomain(String);

impl EmailDomain {
    /// Checks `text` as such a domain; the error says what is wrong.
    pub fn parse(text: &str) -> Result<EmailDomain, String> {
        let domain = text.trim().trim_end_matches('.').to_ascii_lowercase();
        if domain.is_empty() || domain.len() > 253 {
            return Err(format!("{text:?} is not a domain (1 to 253 characters)"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(format!("{text:?} needs at least two labels (customers.example.co.ke)"));
        }
        let good = |label: &&str| {
            (1..=63).contains(&label.len())
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        };
        if let Some(bad) = labels.iter().find(|label| !good(label)) {
            return Err(format!("{text:?} has an invalid label {bad:?} (letters, digits and inner hyphens)"));
        }
        if labels.last() == Some(&"invalid") {
            return Err(format!("{text:?} is under the reserved .invalid, which can receive no mail"));
        }
        Ok(EmailDomain(domain))
    }

    /// `hotspot.` + the host of `public_url` when that host is a DNS name, else
    /// [`LOCAL_FALLBACK`].
    pub fn for_public_url(public_url: &str) -> EmailDomain {
        let host = reqwest::Url::parse(public_url).ok().and_then(|url| url.host_str().map(str::to_owned));
        let host = host.filter(|host| host.parse::<std::net::Ipv4Addr>().is_err() && !host.starts_with('['));
        host.and_then(|host| EmailDomain::parse(&format!("hotspot.{host}")).ok().filter(|_| host.contains('.')))
            .unwrap_or_else(|| EmailDomain(LOCAL_FALLBACK.to_owned()))
    }

    /// Whether this is [`LOCAL_FALLBACK`] (worth a warning where providers are live).
    pub fn is_local_fallback(&self) -> bool {
        self.0 == LOCAL_FALLBACK
    }

    /// The domain.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The customer's address: `<msisdn>@<domain>`.
    pub fn address(&self, msisdn: &str) -> String {
        format!("{msisdn}@{}", self.0)
    }
}

impl Default for EmailDomain {
    fn default() -> Self {
        EmailDomain(LOCAL_FALLBACK.to_owned())
    }
}

impl fmt::Debug for EmailDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailDomain({})", self.0)
    }
}

impl std::str::FromStr for EmailDomain {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        EmailDomain::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_checked() {
        assert_eq!(EmailDomain::parse("Customers.Example.co.ke.").unwrap().as_str(), "customers.example.co.ke");
        for bad in ["", "localhost", "a..b", "-a.b", "a-.b", "a b.c", "x@y.z", "hotspot.jasiyo.invalid", &"a".repeat(64)] {
            assert!(EmailDomain::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_default_follows_the_public_url() {
        assert_eq!(
            EmailDomain::for_public_url("https://cloud.example.co.ke/").address("254712345678"),
            "254712345678@hotspot.cloud.example.co.ke"
        );
        assert!(EmailDomain::for_public_url("http://127.0.0.1:8080").is_local_fallback());
        assert!(EmailDomain::for_public_url("http://localhost:8080").is_local_fallback());
        assert!(EmailDomain::for_public_url("not a url").is_local_fallback());
    }
}
