//! Vouchers: printed codes an owner sells for cash, each a hotspot login for one plan,
//! loaded onto routers ahead of time in batches. A code is a bearer credential: its `Debug`
//! output hides it, like a password's.

use std::fmt;

use jasiyo_shared::{MacAddress, RouterId};
use rand::Rng;
use serde::Serialize;

use super::{PlanId, TenantId, VoucherBatchId};

/// The characters codes are made of: upper-case letters and digits without the ones people
/// misread on paper (no 0/O, 1/I/L).
pub const VOUCHER_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// The most codes in one batch.
pub const MAX_BATCH_CODES: u32 = 5_000;
/// The shortest random part of a code. Longer than a paid login's six characters, so a
/// voucher never takes a paid customer's user name on the router; 31^7 (about 27 billion)
/// codes make guessing hopeless under the portal's rate limits.
pub const MIN_CODE_LENGTH: u32 = 7;
/// The longest random part of a code.
pub const MAX_CODE_LENGTH: u32 = 16;
/// The longest prefix.
pub const MAX_PREFIX_LEN: usize = 6;

/// A voucher code: a prefix (maybe empty) and random characters, all from
/// [`VOUCHER_ALPHABET`] or digits, upper case, at most 22 characters. Typed codes are read
/// with [`VoucherCode::parse`], which forgives case, spaces and dashes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct VoucherCode(String);

impl VoucherCode {
    /// A fresh code: `prefix` then `length` characters drawn from the operating system's
    /// CSPRNG (`rand`'s thread generator is a CSPRNG reseeded from the OS).
    pub fn generate(prefix: &str, length: u32) -> VoucherCode {
        let mut rng = rand::rng();
        let random: String = (0..length).map(|_| VOUCHER_ALPHABET[rng.random_range(0..VOUCHER_ALPHABET.len())] as char).collect();
        VoucherCode(format!("{prefix}{random}"))
    }

    /// A code as a customer typed it (any case, spaces and dashes ignored), or `None` when
    /// it cannot be a code.
    pub fn parse(typed: &str) -> Option<VoucherCode> {
        let code: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_ascii_uppercase();
        let fits = (MIN_CODE_LENGTH as usize..=MAX_CODE_LENGTH as usize + MAX_PREFIX_LEN).contains(&code.len())
            && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        fits.then_some(VoucherCode(code))
    }

    /// The code itself (also the hotspot user's name and password).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code in groups of four for print (`ABCD-EFGH`); [`VoucherCode::parse`] reads it back.
    pub fn grouped(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
    }

    /// Reads a stored code without checking it.
    pub(crate) fn stored(code: String) -> VoucherCode {
        VoucherCode(code)
    }
}

impl fmt::Debug for VoucherCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VoucherCode(***)")
    }
}

/// Where a code is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VoucherState {
    /// Printed, not used yet.
    Unused,
    /// Logged in at least once (its time runs on the router while it is online).
    InUse,
    /// Never used before its batch's valid-until.
    Expired,
    /// Withdrawn by the owner (removed from the routers).
    Revoked,
}

impl VoucherState {
    /// The word shown and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            VoucherState::Unused => "unused",
            VoucherState::InUse => "in_use",
            VoucherState::Expired => "expired",
            VoucherState::Revoked => "revoked",
        }
    }

    /// The state of a stored code (`unused`, `in_use`, `revoked`) whose batch is valid
    /// until `valid_until` (Unix s), at `now` (Unix s).
    pub fn at(stored: &str, valid_until: Option<i64>, now: i64) -> Option<VoucherState> {
        Some(match stored {
            "unused" if valid_until.is_some_and(|until| until <= now) => VoucherState::Expired,
            "unused" => VoucherState::Unused,
            "in_use" => VoucherState::InUse,
            "revoked" => VoucherState::Revoked,
            _ => return None,
        })
    }
}

/// A batch as the owner asked for it, checked ([`VoucherBatchInput::check`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoucherBatchInput {
    /// The plan each code gives.
    pub plan_id: PlanId,
    /// How many codes.
    pub count: u32,
    /// Random characters per code.
    pub code_length: u32,
    /// Printed before each code (upper-case letters and digits).
    pub prefix: Option<String>,
    /// What the owner sells each code for, for the record (KES).
    pub price_kes: Option<u32>,
    /// Unsold codes stop working after this time (Unix s).
    pub valid_until: Option<i64>,
    /// The routers to load the codes on.
    pub routers: Vec<RouterId>,
}

impl VoucherBatchInput {
    /// Checks the limits; the prefix comes back upper-cased.
    pub fn check(mut self, now: i64) -> Result<VoucherBatchInput, String> {
        if self.count == 0 || self.count > MAX_BATCH_CODES {
            return Err(format!("a batch has 1 to {MAX_BATCH_CODES} codes"));
        }
        if !(MIN_CODE_LENGTH..=MAX_CODE_LENGTH).contains(&self.code_length) {
            return Err(format!("a code has {MIN_CODE_LENGTH} to {MAX_CODE_LENGTH} random characters"));
        }
        if let Some(prefix) = self.prefix.take().filter(|p| !p.trim().is_empty()) {
            let prefix = prefix.trim().to_ascii_uppercase();
            if prefix.len() > MAX_PREFIX_LEN || !prefix.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
                return Err(format!("a prefix is 1 to {MAX_PREFIX_LEN} letters and digits"));
            }
            self.prefix = Some(prefix);
        }
        if self.valid_until.is_some_and(|until| until <= now) {
            return Err("valid-until must be in the future".into());
        }
        if self.routers.is_empty() {
            return Err("name at least one router to load the codes on".into());
        }
        self.routers.sort_by_key(|r| r.to_string());
        self.routers.dedup();
        Ok(self)
    }
}

/// A batch as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VoucherBatch {
    /// Its id.
    pub id: VoucherBatchId,
    /// Its owner.
    pub tenant_id: TenantId,
    /// The plan each code gives.
    pub plan_id: PlanId,
    /// How many codes it has.
    pub count: u32,
    /// Random characters per code.
    pub code_length: u32,
    /// The codes' prefix.
    pub prefix: Option<String>,
    /// The price for the record (KES).
    pub price_kes: Option<u32>,
    /// Unsold codes stop working after this (Unix s).
    pub valid_until: Option<i64>,
    /// The routers it is loaded on.
    pub routers: Vec<RouterId>,
    /// Unix ms.
    pub created_at: i64,
    /// When the owner revoked the whole batch (Unix ms).
    pub revoked_at: Option<i64>,
}

/// How many of a batch's codes are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VoucherCounts {
    /// Not used yet.
    pub unused: u32,
    /// Used (sold).
    pub in_use: u32,
    /// Unused past valid-until.
    pub expired: u32,
    /// Revoked.
    pub revoked: u32,
}

impl VoucherCounts {
    /// Adds one code in `state`.
    pub fn add(&mut self, state: VoucherState) {
        match state {
            VoucherState::Unused => self.unused += 1,
            VoucherState::InUse => self.in_use += 1,
            VoucherState::Expired => self.expired += 1,
            VoucherState::Revoked => self.revoked += 1,
        }
    }
}

/// One code and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VoucherLine {
    /// The code.
    pub code: VoucherCode,
    /// Its state now.
    pub state: VoucherState,
    /// When it first logged a device in (Unix ms).
    pub first_used_at: Option<i64>,
    /// The device it logged in.
    pub device_mac: Option<MacAddress>,
    /// A second router it logged in on while in use on its first: that login was ended and
    /// the code removed from every router but the first.
    pub second_router: Option<jasiyo_shared::RouterId>,
    /// When that second login was reported (Unix ms).
    pub second_seen_at: Option<i64>,
    /// The data it used on the router it logged in on, once that router reported traffic.
    pub usage: Option<crate::store::users::DataUsed>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_the_unambiguous_alphabet_and_read_back_as_typed() {
        for _ in 0..200 {
            let code = VoucherCode::generate("V", 8);
            assert_eq!(code.as_str().len(), 9);
            assert!(code.as_str()[1..].bytes().all(|b| VOUCHER_ALPHABET.contains(&b)));
            assert!(!code.as_str()[1..].contains(['0', 'O', '1', 'I', 'L']));
            assert_eq!(VoucherCode::parse(&code.grouped().to_lowercase()), Some(code.clone()));
        }
        assert_eq!(VoucherCode::parse("abc"), None);
        assert_eq!(VoucherCode::parse("ABCD EFG!"), None);
        assert!(!format!("{:?}", VoucherCode::generate("", 8)).contains(char::is_numeric));
    }

    #[test]
    fn batch_limits() {
        let input = |count, code_length| VoucherBatchInput {
            plan_id: PlanId::random(),
            count,
            code_length,
            prefix: Some(" ab1 ".into()),
            price_kes: None,
            valid_until: None,
            routers: vec![RouterId::new()],
        };
        assert_eq!(input(10, 8).check(0).unwrap().prefix.as_deref(), Some("AB1"));
        assert!(input(0, 8).check(0).is_err());
        assert!(input(5_001, 8).check(0).is_err());
        assert!(input(10, 6).check(0).is_err());
        assert!(VoucherBatchInput { routers: vec![], ..input(1, 8) }.check(0).is_err());
        assert!(VoucherBatchInput { valid_until: Some(5), ..input(1, 8) }.check(10).is_err());
    }
}
