//! The RouterOS API wire format: length-prefixed words grouped into sentences that end
//! with an empty word.
//!
//! Lengths use five big-endian prefix forms (1 to 5 bytes); a first byte of `0xF8` or above
//! is a control byte no peer may send. Words are raw bytes: RouterOS enforces no encoding.
//! The decoder tells "need more bytes" ([`Decoded::Incomplete`]) from "malformed"
//! ([`ProtocolError`]).

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The longest word we accept. Real words are a few hundred bytes; this bounds what a
/// broken or hostile peer can make us allocate.
pub const MAX_WORD: usize = 1 << 20;
/// The most words in one sentence we accept.
pub const MAX_WORDS: usize = 4096;
/// The most bytes of words in one sentence we accept (a user row is a few hundred): with
/// [`MAX_WORD`] and [`MAX_WORDS`] alone a peer could make one sentence gigabytes.
pub const MAX_SENTENCE: usize = 1 << 20;

/// One sentence: its words, in order, without the terminating empty word.
pub type Words = Vec<Vec<u8>>;

/// The byte stream is not valid RouterOS API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A length prefix started with a reserved control byte (0xF8..=0xFF).
    #[error("reserved control byte 0x{0:02X} in a length prefix")]
    ControlByte(u8),
    /// A word longer than [`MAX_WORD`].
    #[error("word of {0} bytes exceeds the limit")]
    WordTooLong(usize),
    /// A sentence with more than [`MAX_WORDS`] words.
    #[error("sentence has more than {MAX_WORDS} words")]
    TooManyWords,
    /// A sentence whose words add up to more than [`MAX_SENTENCE`] bytes.
    #[error("sentence exceeds {MAX_SENTENCE} bytes")]
    SentenceTooLong,
    /// The stream ended in the middle of a sentence.
    #[error("connection closed in the middle of a sentence")]
    Truncated,
}

/// Appends the length prefix for a word of `len` bytes.
pub fn encode_length(len: usize, out: &mut Vec<u8>) {
    let len = len as u32;
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0x3FFF => out.extend_from_slice(&((len | 0x8000) as u16).to_be_bytes()),
        0x4000..=0x1F_FFFF => out.extend_from_slice(&(len | 0xC0_0000).to_be_bytes()[1..]),
        0x20_0000..=0x0FFF_FFFF => out.extend_from_slice(&(len | 0xE000_0000).to_be_bytes()),
        _ => {
            out.push(0xF0);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
}

/// Encodes a sentence: every word with its prefix, then the empty word.
pub fn encode_sentence<W: AsRef<[u8]>>(words: &[W]) -> Vec<u8> {
    let mut out = Vec::with_capacity(words.iter().map(|w| w.as_ref().len() + 2).sum::<usize>() + 1);
    for word in words {
        let word = word.as_ref();
        encode_length(word.len(), &mut out);
        out.extend_from_slice(word);
    }
    out.push(0);
    out
}

/// How many prefix bytes a length starting with `first` has, or the control byte error.
fn prefix_len(first: u8) -> Result<usize, ProtocolError> {
    match first {
        0x00..=0x7F => Ok(1),
        0x80..=0xBF => Ok(2),
        0xC0..=0xDF => Ok(3),
        0xE0..=0xEF => Ok(4),
        0xF0..=0xF7 => Ok(5),
        _ => Err(ProtocolError::ControlByte(first)),
    }
}

/// Reads a length from a complete prefix.
fn decode_length(prefix: &[u8]) -> usize {
    match prefix.len() {
        1 => prefix[0] as usize,
        2 => (u16::from_be_bytes([prefix[0], prefix[1]]) & 0x3FFF) as usize,
        3 => (u32::from_be_bytes([0, prefix[0], prefix[1], prefix[2]]) & 0x1F_FFFF) as usize,
        4 => (u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) & 0x0FFF_FFFF) as usize,
        _ => u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize,
    }
}

/// What [`decode_sentence`] found at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A whole sentence, and how many bytes it took.
    Sentence(Words, usize),
    /// The buffer ends before the sentence does.
    Incomplete,
}

/// Decodes the first sentence in `buf`.
pub fn decode_sentence(buf: &[u8]) -> Result<Decoded, ProtocolError> {
    let mut words = Vec::new();
    let mut at = 0;
    let mut total = 0;
    loop {
        let Some(&first) = buf.get(at) else { return Ok(Decoded::Incomplete) };
        let n = prefix_len(first)?;
        let Some(prefix) = buf.get(at..at + n) else { return Ok(Decoded::Incomplete) };
        let len = decode_length(prefix);
        at += n;
        if len == 0 {
            return Ok(Decoded::Sentence(words, at));
        }
        if len > MAX_WORD {
            return Err(ProtocolError::WordTooLong(len));
        }
        if words.len() == MAX_WORDS {
            return Err(ProtocolError::TooManyWords);
        }
        total += len;
        if total > MAX_SENTENCE {
            return Err(ProtocolError::SentenceTooLong);
        }
        let Some(word) = buf.get(at..at + len) else { return Ok(Decoded::Incomplete) };
        words.push(word.to_vec());
        at += len;
    }
}

/// Reads one sentence from a stream. `Ok(None)` means the peer closed cleanly between
/// sentences; a close inside one is [`ProtocolError::Truncated`].
pub async fn read_sentence<R: AsyncRead + Unpin>(reader: &mut R) -> std::io::Result<Option<Words>> {
    let mut words = Vec::new();
    let mut total = 0;
    loop {
        let first = match reader.read_u8().await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && words.is_empty() => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(invalid(ProtocolError::Truncated)),
            Err(e) => return Err(e),
        };
        let n = prefix_len(first).map_err(invalid)?;
        let mut prefix = [first, 0, 0, 0, 0];
        reader.read_exact(&mut prefix[1..n]).await.map_err(truncated)?;
        let len = decode_length(&prefix[..n]);
        if len == 0 {
            return Ok(Some(words));
        }
        if len > MAX_WORD {
            return Err(invalid(ProtocolError::WordTooLong(len)));
        }
        if words.len() == MAX_WORDS {
            return Err(invalid(ProtocolError::TooManyWords));
        }
        total += len;
        if total > MAX_SENTENCE {
            return Err(invalid(ProtocolError::SentenceTooLong));
        }
        let mut word = vec![0u8; len];
        reader.read_exact(&mut word).await.map_err(truncated)?;
        words.push(word);
    }
}

/// Writes one sentence and flushes it.
pub async fn write_sentence<W: AsyncWrite + Unpin, S: AsRef<[u8]>>(writer: &mut W, words: &[S]) -> std::io::Result<()> {
    writer.write_all(&encode_sentence(words)).await?;
    writer.flush().await
}

/// Wraps a protocol error for the `io::Error` channel of readers; recover it with
/// [`protocol_error`].
fn invalid(e: ProtocolError) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e)
}

fn truncated(e: std::io::Error) -> std::io::Error {
    if e.kind() == std::io::ErrorKind::UnexpectedEof { invalid(ProtocolError::Truncated) } else { e }
}

/// The protocol error inside an I/O error from [`read_sentence`], if that is what it is.
pub fn protocol_error(e: &std::io::Error) -> Option<&ProtocolError> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<ProtocolError>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        encode_length(len, &mut out);
        out
    }

    #[test]
    fn all_five_length_forms_at_their_boundaries() {
        let cases: &[(usize, &[u8])] = &[
            (0, &[0x00]),
            (0x7F, &[0x7F]),
            (0x80, &[0x80, 0x80]),
            (209, &[0x80, 0xD1]),
            (0x3FFF, &[0xBF, 0xFF]),
            (0x4000, &[0xC0, 0x40, 0x00]),
            (0x1F_FFFF, &[0xDF, 0xFF, 0xFF]),
            (0x20_0000, &[0xE0, 0x20, 0x00, 0x00]),
            (0x0FFF_FFFF, &[0xEF, 0xFF, 0xFF, 0xFF]),
            (0x1000_0000, &[0xF0, 0x10, 0x00, 0x00, 0x00]),
        ];
        for &(len, bytes) in cases {
            assert_eq!(prefix(len), bytes, "encoding {len:#x}");
            assert_eq!(prefix_len(bytes[0]).unwrap(), bytes.len());
            assert_eq!(decode_length(bytes), len, "decoding {len:#x}");
        }
        // The classic endianness bug: 256 must not start with a zero byte.
        assert_eq!(prefix(256), [0x81, 0x00]);
    }

    #[test]
    fn control_bytes_are_errors() {
        for b in 0xF8..=0xFF {
            assert_eq!(decode_sentence(&[b, 1, 2, 3]), Err(ProtocolError::ControlByte(b)));
        }
    }

    #[test]
    fn the_reference_example_is_byte_exact() {
        let words = ["/ip/hotspot/user/add", "=name=0712345678", "=password=4821", "=profile=1h-50", "=limit-uptime=1h", ".tag=7"];
        let bytes = encode_sentence(&words);
        assert_eq!(bytes.len(), 93);
        assert_eq!(&bytes[..2], &[0x14, b'/']);
        assert_eq!(bytes[bytes.len() - 1], 0);
        let Decoded::Sentence(decoded, used) = decode_sentence(&bytes).unwrap() else { panic!() };
        assert_eq!(used, 93);
        assert_eq!(decoded, words.iter().map(|w| w.as_bytes().to_vec()).collect::<Words>());
    }

    #[test]
    fn every_prefix_of_a_sentence_is_incomplete() {
        let long = "x".repeat(0x4001);
        let bytes = encode_sentence(&["!re", long.as_str(), "=a=b"]);
        for cut in 0..bytes.len() {
            assert_eq!(decode_sentence(&bytes[..cut]), Ok(Decoded::Incomplete), "cut at {cut}");
        }
        assert!(matches!(decode_sentence(&bytes), Ok(Decoded::Sentence(w, n)) if w.len() == 3 && n == bytes.len()));
    }

    #[test]
    fn oversized_words_are_refused_before_allocation() {
        assert_eq!(decode_sentence(&[0xEF, 0xFF, 0xFF, 0xFF]), Err(ProtocolError::WordTooLong(0x0FFF_FFFF)));
    }

    #[tokio::test]
    async fn oversized_sentences_are_refused_before_allocation() {
        // Two words, each within MAX_WORD, together over MAX_SENTENCE: refused at the second
        // word's prefix, before its bytes arrive or are allocated.
        let half = MAX_SENTENCE / 2 + 1;
        let mut bytes = prefix(half);
        bytes.extend(std::iter::repeat_n(b'a', half));
        bytes.extend(prefix(half));
        assert_eq!(decode_sentence(&bytes), Err(ProtocolError::SentenceTooLong));
        let error = read_sentence(&mut bytes.as_slice()).await.unwrap_err();
        assert_eq!(protocol_error(&error), Some(&ProtocolError::SentenceTooLong));
    }

    #[tokio::test]
    async fn reads_sentences_through_a_tiny_pipe() {
        let (mut a, mut b) = tokio::io::duplex(3);
        let big = vec![b'y'; 0x3FFF + 1];
        let sentences: Vec<Vec<Vec<u8>>> = vec![
            vec![b"!done".to_vec(), b"=ret=*1A".to_vec(), b".tag=7".to_vec()],
            vec![b"!re".to_vec(), vec![b'z'; 0x7F], vec![b'w'; 0x80], big],
            vec![b"!trap".to_vec(), "=message=ünïcode bytes".as_bytes().to_vec()],
        ];
        let expected = sentences.clone();
        let writer = tokio::spawn(async move {
            for s in &sentences {
                write_sentence(&mut a, s).await.unwrap();
            }
        });
        for want in expected {
            assert_eq!(read_sentence(&mut b).await.unwrap(), Some(want));
        }
        writer.await.unwrap();
        assert_eq!(read_sentence(&mut b).await.unwrap(), None, "clean close between sentences");
    }

    #[tokio::test]
    async fn a_close_inside_a_sentence_is_truncated() {
        let (mut a, mut b) = tokio::io::duplex(64);
        let bytes = encode_sentence(&["!done", "=ret=1"]);
        tokio::io::AsyncWriteExt::write_all(&mut a, &bytes[..bytes.len() - 3]).await.unwrap();
        drop(a);
        let err = read_sentence(&mut b).await.unwrap_err();
        assert_eq!(protocol_error(&err), Some(&ProtocolError::Truncated));
    }
}
