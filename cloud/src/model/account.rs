//! Dashboard accounts: the people who sign in (owners, their staff, the platform's
//! operators), and the one-time links sent to them.

use std::fmt;

use serde::Serialize;

use super::{AccountId, TenantId};

/// What an account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything within its tenant.
    Owner,
    /// Transactions, hotspot users and complaint actions within its tenant; no provider
    /// secrets, no money settings, no staff.
    Staff,
    /// The platform's operator: every tenant, read-mostly (suspend a tenant).
    Operator,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Staff => "staff",
            Role::Operator => "operator",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "owner" => Some(Role::Owner),
            "staff" => Some(Role::Staff),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }
}

/// Who an account is (never its password hash: see [`crate::store::accounts`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Its id.
    pub id: AccountId,
    /// Its tenant; `None` for an operator.
    pub tenant_id: Option<TenantId>,
    /// Its e-mail address, lower-cased.
    pub email: Email,
    /// The person's name.
    pub name: String,
    /// A phone number, if given.
    pub phone: Option<String>,
    /// What it may do.
    pub role: Role,
    /// Whether a password is set (an invitation not yet accepted has none).
    pub has_password: bool,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When it was disabled, if it was.
    pub disabled_at: Option<i64>,
}

/// An account to make.
#[derive(Clone, Debug)]
pub struct NewAccount {
    /// Its tenant (`None`: an operator).
    pub tenant_id: Option<TenantId>,
    /// Its e-mail address.
    pub email: Email,
    /// The person's name.
    pub name: String,
    /// A phone number.
    pub phone: Option<String>,
    /// Its role.
    pub role: Role,
}

/// What a one-time link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Choose a new password.
    Reset,
    /// Accept an invitation (choose a first password).
    Invite,
}

impl LinkPurpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Reset => "reset",
            LinkPurpose::Invite => "invite",
        }
    }
}

/// The longest e-mail address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// An e-mail address: trimmed, lower-cased, one `@` with text on both sides and a dot in
/// the domain, no spaces or control characters. (Whether it receives mail is for the mail
/// server to say.)
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Checks and normalises an address.
    pub fn parse(text: &str) -> Option<Email> {
        let text = text.trim().to_lowercase();
        if text.is_empty() || text.len() > MAX_EMAIL_LEN || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (local, domain) = text.split_once('@')?;
        let domain_ok = !domain.contains('@') && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.');
        (!local.is_empty() && domain_ok).then_some(Email(text))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_lower_cased() {
        assert_eq!(Email::parse("  Wanjiku@Example.CO.KE ").unwrap().as_str(), "wanjiku@example.co.ke");
        for bad in ["", "no-at", "@example.com", "a@", "a@b", "a b@example.com", "a@@example.com", "a@example.", "a@.example"] {
            assert!(Email::parse(bad).is_none(), "{bad:?}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_none());
    }

    #[test]
    fn roles_round_trip() {
        for role in [Role::Owner, Role::Staff, Role::Operator] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("admin"), None);
    }
}
