//! Sentences with meaning: the requests a client sends and the replies a router sends,
//! built from and read into raw [`Words`](super::codec::Words).
//!
//! Position is never relied on: `.tag=` and `=ret=` may sit anywhere in a sentence.

use super::codec::Words;

/// What kind of reply a router sentence is (its first word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    /// `!re`: one data row.
    Re,
    /// `!done`: the last sentence of a command.
    Done,
    /// `!trap`: an error; a `!done` still follows.
    Trap,
    /// `!fatal`: the connection is closing.
    Fatal,
    /// `!empty` (RouterOS 7.18+): no rows; a `!done` still follows.
    Empty,
}

impl ReplyKind {
    /// The reply word.
    pub fn word(self) -> &'static str {
        match self {
            ReplyKind::Re => "!re",
            ReplyKind::Done => "!done",
            ReplyKind::Trap => "!trap",
            ReplyKind::Fatal => "!fatal",
            ReplyKind::Empty => "!empty",
        }
    }
}

/// A sentence from the router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Its kind.
    pub kind: ReplyKind,
    /// The `.tag` it carries, if any.
    pub tag: Option<String>,
    /// Its `=name=value` attributes, in order.
    pub attributes: Vec<(String, String)>,
    /// For `!fatal`: the bare reason word(s).
    pub reason: Option<String>,
}

/// A router sentence that is not a reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// An empty sentence.
    #[error("empty reply sentence")]
    Empty,
    /// The first word is not a known reply word.
    #[error("unknown reply word {0:?}")]
    UnknownKind(String),
}

impl Reply {
    /// Reads a router sentence.
    pub fn parse(words: &Words) -> Result<Reply, ReplyError> {
        let (first, rest) = words.split_first().ok_or(ReplyError::Empty)?;
        let kind = match first.as_slice() {
            b"!re" => ReplyKind::Re,
            b"!done" => ReplyKind::Done,
            b"!trap" => ReplyKind::Trap,
            b"!fatal" => ReplyKind::Fatal,
            b"!empty" => ReplyKind::Empty,
            other => return Err(ReplyError::UnknownKind(text(other))),
        };
        let mut reply = Reply { kind, tag: None, attributes: Vec::new(), reason: None };
        let mut bare = Vec::new();
        for word in rest {
            let word = text(word);
            if let Some(tag) = word.strip_prefix(".tag=") {
                reply.tag = Some(tag.to_string());
            } else if let Some((name, value)) = split_attribute(&word) {
                reply.attributes.push((name.to_string(), value.to_string()));
            } else {
                bare.push(word);
            }
        }
        if !bare.is_empty() {
            reply.reason = Some(bare.join(" "));
        }
        Ok(reply)
    }

    /// The value of attribute `name` (`ret`, `message`, `.id`, ...).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Encodes the reply (used by the emulator and tests). The tag goes first or last.
    pub fn to_words(&self, tag_first: bool) -> Vec<String> {
        let mut words = vec![self.kind.word().to_string()];
        let tag = self.tag.as_ref().map(|t| format!(".tag={t}"));
        if tag_first {
            words.extend(tag.clone());
        }
        if let Some(reason) = &self.reason {
            words.push(reason.clone());
        }
        words.extend(self.attributes.iter().map(|(n, v)| format!("={n}={v}")));
        if !tag_first {
            words.extend(tag);
        }
        words
    }
}

/// A sentence from the client: a command word, attributes, queries and a tag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// The command word, such as `/ip/hotspot/user/add`.
    pub command: String,
    /// `=name=value` attributes (including API ones such as `.id`, `.proplist`), in order.
    pub attributes: Vec<(String, String)>,
    /// Query words (`?name=x`, `?=name=x`, `?#|`, ...), in order, without the `?`.
    pub queries: Vec<String>,
    /// The `.tag`, if any.
    pub tag: Option<String>,
}

impl Request {
    /// A request for `command` with no arguments.
    pub fn new(command: impl Into<String>) -> Request {
        Request { command: command.into(), ..Request::default() }
    }

    /// Adds `=name=value`.
    pub fn attr(mut self, name: &str, value: impl Into<String>) -> Request {
        self.attributes.push((name.to_string(), value.into()));
        self
    }

    /// Adds a query word (without the leading `?`).
    pub fn query(mut self, query: impl Into<String>) -> Request {
        self.queries.push(query.into());
        self
    }

    /// The value of attribute `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The words to send, with the tag last.
    pub fn to_words(&self) -> Vec<String> {
        let mut words = vec![self.command.clone()];
        words.extend(self.attributes.iter().map(|(n, v)| format!("={n}={v}")));
        words.extend(self.queries.iter().map(|q| format!("?{q}")));
        words.extend(self.tag.as_ref().map(|t| format!(".tag={t}")));
        words
    }

    /// Reads a client sentence (used by the emulator). `None` for an empty sentence, which
    /// RouterOS ignores.
    pub fn parse(words: &Words) -> Option<Request> {
        let (first, rest) = words.split_first()?;
        let mut request = Request::new(text(first));
        for word in rest {
            let word = text(word);
            if let Some(tag) = word.strip_prefix(".tag=") {
                request.tag = Some(tag.to_string());
            } else if let Some(query) = word.strip_prefix('?') {
                request.queries.push(query.to_string());
            } else if let Some(rest) = word.strip_prefix('=') {
                // Some clients send an empty value without its second `=` (`=count-only`).
                let (name, value) = rest.split_once('=').unwrap_or((rest, ""));
                request.attributes.push((name.to_string(), value.to_string()));
            }
        }
        Some(request)
    }
}

/// Splits `=name=value` at the second `=` (values may contain `=`).
fn split_attribute(word: &str) -> Option<(&str, &str)> {
    word.strip_prefix('=')?.split_once('=')
}

/// Words are bytes; RouterOS sends latin-1 or cp1250 as often as UTF-8. Decode leniently.
fn text(word: &[u8]) -> String {
    String::from_utf8_lossy(word).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(ws: &[&str]) -> Words {
        ws.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn tag_and_ret_are_found_anywhere() {
        for sentence in [&["!done", ".tag=7", "=ret=*1A"][..], &["!done", "=ret=*1A", ".tag=7"][..]] {
            let reply = Reply::parse(&words(sentence)).unwrap();
            assert_eq!(reply.kind, ReplyKind::Done);
            assert_eq!(reply.tag.as_deref(), Some("7"));
            assert_eq!(reply.get("ret"), Some("*1A"));
        }
    }

    #[test]
    fn values_keep_their_equals_signs_and_may_be_empty() {
        let reply = Reply::parse(&words(&["!re", "=comment=a=b=c", "=follow=", "=.id=*3"])).unwrap();
        assert_eq!(reply.get("comment"), Some("a=b=c"));
        assert_eq!(reply.get("follow"), Some(""));
        assert_eq!(reply.get(".id"), Some("*3"));
    }

    #[test]
    fn fatal_carries_a_bare_reason_and_unknown_words_are_errors() {
        let reply = Reply::parse(&words(&["!fatal", "session terminated on request"])).unwrap();
        assert_eq!(reply.kind, ReplyKind::Fatal);
        assert_eq!(reply.reason.as_deref(), Some("session terminated on request"));
        assert_eq!(Reply::parse(&words(&["!what"])), Err(ReplyError::UnknownKind("!what".into())));
        assert_eq!(Reply::parse(&Vec::new()), Err(ReplyError::Empty));
        assert_eq!(Reply::parse(&words(&["!empty", ".tag=19936"])).unwrap().kind, ReplyKind::Empty);
    }

    #[test]
    fn requests_round_trip() {
        let mut request = Request::new("/ip/hotspot/user/print").attr(".proplist", ".id,name").query("=name=x");
        request.tag = Some("4".into());
        let parsed = Request::parse(&words(&request.to_words().iter().map(String::as_str).collect::<Vec<_>>())).unwrap();
        assert_eq!(parsed, request);
        assert_eq!(Request::parse(&Vec::new()), None);
        let bare = Request::parse(&words(&["/ip/hotspot/user/print", "=count-only"])).unwrap();
        assert_eq!(bare.get("count-only"), Some(""));
    }
}
