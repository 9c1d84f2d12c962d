//! Whether providers can reach the callback URLs made from the cloud's public URL.
//!
//! Every provider calls back over the internet, so the URL must be public `https://`
//! (Daraja refuses plain `http` callback URLs). Safaricom also refuses URLs containing some
//! words ("M-PESA"/"mpesa", "Safaricom", "exe", "exec", "cmd", "sql", "query": documented for
//! C2B URLs and applied in practice to the STK CallBackURL; `../shared/reference/providers.md`
//! section F). A cloud whose public URL breaks these rules takes payments whose callbacks never
//! arrive, so `serve` refuses to start (`--allow-unreachable-callbacks` turns that into a loud
//! warning for local use) and `provider set` warns.

use std::fmt;

/// Words Safaricom refuses in callback URLs (compared without case, and without `-`).
pub const REFUSED_WORDS: [&str; 7] = ["mpesa", "safaricom", "exe", "exec", "cmd", "sql", "query"];

/// Why providers may not reach the callbacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// No public URL: callbacks would go to the address the cloud listens on.
    Missing,
    /// Not a URL with a host.
    Invalid(String),
    /// Not `https://`.
    NotHttps,
    /// A word Safaricom refuses.
    RefusedWord(&'static str),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing => {
                write!(
                    f,
                    "no public URL: callbacks would go to http://<the listen address>, which providers cannot reach (set --public-url)"
                )
            }
            Problem::Invalid(url) => write!(f, "{url:?} is not a URL with a host"),
            Problem::NotHttps => write!(f, "the public URL is not https://: providers call back only over https"),
            Problem::RefusedWord(word) => write!(f, "the public URL contains {word:?}, which Safaricom refuses in callback URLs"),
        }
    }
}

/// What keeps providers from reaching callbacks under `public_url` (empty: nothing).
pub fn problems(public_url: Option<&str>) -> Vec<Problem> {
    let Some(url) = public_url.map(str::trim) else {
        return vec![Problem::Missing];
    };
    let parsed = match reqwest::Url::parse(url) {
        Ok(parsed) if parsed.host_str().is_some() => parsed,
        _ => return vec![Problem::Invalid(url.to_string())],
    };
    let mut found = Vec::new();
    if parsed.scheme() != "https" {
        found.push(Problem::NotHttps);
    }
    let plain = url.to_ascii_lowercase().replace('-', "");
    found.extend(REFUSED_WORDS.iter().filter(|word| plain.contains(*word)).map(|word| Problem::RefusedWord(word)));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_https_urls_pass_and_the_rest_is_named() {
        assert_eq!(problems(Some("https://pay.example.co.ke")), vec![]);
        assert_eq!(problems(Some("https://cloud.example/jasiyo")), vec![]);
        assert_eq!(problems(None), vec![Problem::Missing]);
        assert_eq!(problems(Some("not a url")), vec![Problem::Invalid("not a url".into())]);
        assert_eq!(problems(Some("http://pay.example")), vec![Problem::NotHttps]);
        assert_eq!(problems(Some("https://M-Pesa-pay.example")), vec![Problem::RefusedWord("mpesa")]);
        assert_eq!(
            problems(Some("http://wifi.example/exec/sql")),
            vec![Problem::NotHttps, Problem::RefusedWord("exe"), Problem::RefusedWord("exec"), Problem::RefusedWord("sql")]
        );
    }
}
