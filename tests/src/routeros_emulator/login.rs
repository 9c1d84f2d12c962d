//! `/login`, both kinds: the one-round-trip clear-text login of RouterOS 6.43+ and, with
//! `legacy_login`, the pre-6.43 MD5 challenge (`!done =ret=<challenge>`, then
//! `=response=00<md5(0 ‖ password ‖ challenge)>`).

use jasiyo_agent::routeros::sentence::Request;
use md5::{Digest, Md5};

use super::EmulatorConfig;
use super::menus::{Failure, Outcome, Output};

/// The v7 text for bad credentials (reference section 1.8).
pub(crate) const INVALID_LOGIN: &str = "invalid user name or password (6)";
/// What routers of the MD5-login era said instead.
pub(crate) const LEGACY_INVALID_LOGIN: &str = "cannot log in";

/// The pre-6.43 login answer for `password` and the challenge bytes: `00` followed by the
/// hex MD5 of a zero byte, the password and the challenge.
pub fn legacy_response(password: &str, challenge: &[u8]) -> String {
    let mut md5 = Md5::new();
    md5.update([0u8]);
    md5.update(password.as_bytes());
    md5.update(challenge);
    format!("00{}", to_hex(&md5.finalize()))
}

/// Lower-case hex.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One connection's login progress.
#[derive(Debug, Default)]
pub(crate) struct LoginState {
    /// The last challenge handed out, until a response uses it.
    challenge: Option<[u8; 16]>,
}

impl LoginState {
    /// Answers a `/login`. The flag says whether the connection is now logged in.
    pub fn handle(&mut self, config: &EmulatorConfig, request: &Request) -> (Outcome, bool) {
        let name_ok = request.get("name") == Some(config.username.as_str());
        if config.legacy_login {
            let Some(response) = request.get("response") else {
                // Routers of this era ignore a password and always answer with a challenge,
                // which is what lets two-step clients fall back to MD5.
                let challenge: [u8; 16] = rand::random();
                self.challenge = Some(challenge);
                return (Ok(Output::ret(to_hex(&challenge))), false);
            };
            let expected = self.challenge.take().map(|c| legacy_response(&config.password, &c));
            let ok = name_ok && expected.is_some_and(|e| e.eq_ignore_ascii_case(response));
            return if ok { (Ok(Output::done()), true) } else { (Err(Failure(LEGACY_INVALID_LOGIN.into())), false) };
        }
        let ok = name_ok && request.get("password") == Some(config.password.as_str());
        if ok { (Ok(Output::done()), true) } else { (Err(Failure(INVALID_LOGIN.into())), false) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_go_routeros_vector() {
        assert_eq!(legacy_response("passTest", &[0xab, 0xc1, 0x23]), "0021277bff9ac7caf06aa608e46616d47f");
    }
}
