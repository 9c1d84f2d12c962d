//! Kenyan phone numbers as customers type them (`07..`, `01..`, `+254..`, `254..`, with
//! spaces or dashes), normalised to the `2547XXXXXXXX` / `2541XXXXXXXX` form M-Pesa wants.

use std::fmt;

use serde::Serialize;

/// A Kenyan mobile number in `2547XXXXXXXX` / `2541XXXXXXXX` form.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Msisdn(String);

/// Why a number was refused, in words a customer understands.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing typed.
    #[error("Enter the M-Pesa phone number to pay with.")]
    Empty,
    /// Letters or symbols.
    #[error("A phone number has only digits, like 0712 345 678.")]
    NotDigits,
    /// Too short or too long.
    #[error("That number has the wrong length: use 10 digits like 0712 345 678.")]
    WrongLength,
    /// Not a Kenyan mobile number.
    #[error("That is not a Kenyan mobile number: it should start with 07 or 01.")]
    NotMobile,
}

/// The mobile operator a number's prefix was first assigned to. Numbers can be ported, so
/// this is a hint for the customer, never a refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// Safaricom (M-Pesa).
    Safaricom,
    /// Airtel.
    Airtel,
    /// Telkom.
    Telkom,
    /// Equitel.
    Equitel,
    /// Not known.
    Unknown,
}

impl Msisdn {
    /// Normalises what a customer typed.
    pub fn parse(typed: &str) -> Result<Msisdn, PhoneError> {
        let cleaned: String = typed.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.')).collect();
        if cleaned.is_empty() {
            return Err(PhoneError::Empty);
        }
        let digits = cleaned.strip_prefix('+').unwrap_or(&cleaned);
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(PhoneError::NotDigits);
        }
        let national = if let Some(rest) = digits.strip_prefix("254") {
            // `+2540712...` is a common slip: drop the extra 0.
            if rest.len() == 10 && rest.starts_with('0') { &rest[1..] } else { rest }
        } else if let Some(rest) = digits.strip_prefix('0') {
            rest
        } else {
            digits
        };
        if national.len() != 9 {
            return Err(PhoneError::WrongLength);
        }
        if !(national.starts_with('7') || national.starts_with('1')) {
            return Err(PhoneError::NotMobile);
        }
        Ok(Msisdn(format!("254{national}")))
    }

    /// `2547XXXXXXXX`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The operator the prefix belongs to (a hint: numbers can be ported).
    pub fn operator(&self) -> Operator {
        let ndc: u32 = self.0[3..6].parse().unwrap_or(0);
        match ndc {
            700..=729 | 740..=749 | 757..=759 | 768..=769 | 790..=799 | 110..=115 => Operator::Safaricom,
            730..=739 | 750..=756 | 785..=789 | 100..=102 => Operator::Airtel,
            770..=779 => Operator::Telkom,
            763..=766 => Operator::Equitel,
            _ => Operator::Unknown,
        }
    }

    /// A warning to show when the number does not look like Safaricom's (M-Pesa works only
    /// on Safaricom lines).
    pub fn hint(&self) -> Option<String> {
        let name = match self.operator() {
            Operator::Safaricom | Operator::Unknown => return None,
            Operator::Airtel => "Airtel",
            Operator::Telkom => "Telkom",
            Operator::Equitel => "Equitel",
        };
        Some(format!("This looks like an {name} number; M-Pesa prompts reach Safaricom lines only."))
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_way_kenyans_type_numbers() {
        for typed in [
            "0712345678",
            "0712 345 678",
            "0712-345-678",
            "712345678",
            "+254712345678",
            "254712345678",
            "+254 712 345 678",
            "+2540712345678",
        ] {
            assert_eq!(Msisdn::parse(typed).unwrap().as_str(), "254712345678", "{typed}");
        }
        assert_eq!(Msisdn::parse("0110123456").unwrap().as_str(), "254110123456");
    }

    #[test]
    fn mistakes_are_explained() {
        assert_eq!(Msisdn::parse(""), Err(PhoneError::Empty));
        assert_eq!(Msisdn::parse("07123abc78"), Err(PhoneError::NotDigits));
        assert_eq!(Msisdn::parse("071234567"), Err(PhoneError::WrongLength));
        assert_eq!(Msisdn::parse("07123456789"), Err(PhoneError::WrongLength));
        assert_eq!(Msisdn::parse("0212345678"), Err(PhoneError::NotMobile));
        assert_eq!(Msisdn::parse("+1 555 123 4567"), Err(PhoneError::WrongLength));
    }

    #[test]
    fn other_operators_get_a_hint() {
        assert_eq!(Msisdn::parse("0712345678").unwrap().hint(), None);
        assert!(Msisdn::parse("0733123456").unwrap().hint().unwrap().contains("Airtel"));
        assert!(Msisdn::parse("0771123456").unwrap().hint().unwrap().contains("Telkom"));
        assert!(Msisdn::parse("0101123456").unwrap().hint().unwrap().contains("Airtel"));
    }
}
