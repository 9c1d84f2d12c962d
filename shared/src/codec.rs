//! Turning messages into WebSocket binary frames and back.
//!
//! A frame is exactly one postcard-encoded message. Decoding never panics: anything that is
//! not one whole message within [`MAX_FRAME_BYTES`] is a [`CodecError`].

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The largest frame either side sends or accepts. Commands are small; this leaves room for
/// long comments and status reports while bounding what a peer can make us buffer.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Why a frame could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The frame is larger than [`MAX_FRAME_BYTES`].
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The frame's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The frame ends in the middle of a message.
    #[error("frame ends in the middle of a message")]
    Truncated,
    /// The frame holds a whole message followed by more bytes.
    #[error("{0} unexpected bytes after the message")]
    TrailingBytes(usize),
    /// The bytes are not a message of the expected type.
    #[error("malformed frame: {0}")]
    Malformed(String),
}

/// Encodes one message as one frame.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, CodecError> {
    let bytes = postcard::to_allocvec(message).map_err(|e| CodecError::Malformed(e.to_string()))?;
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(CodecError::TooLarge { len: bytes.len(), max: MAX_FRAME_BYTES });
    }
    Ok(bytes)
}

/// Decodes one frame holding exactly one message.
pub fn decode<T: DeserializeOwned>(frame: &[u8]) -> Result<T, CodecError> {
    if frame.len() > MAX_FRAME_BYTES {
        return Err(CodecError::TooLarge { len: frame.len(), max: MAX_FRAME_BYTES });
    }
    match postcard::take_from_bytes::<T>(frame) {
        Ok((message, [])) => Ok(message),
        Ok((_, rest)) => Err(CodecError::TrailingBytes(rest.len())),
        Err(postcard::Error::DeserializeUnexpectedEnd) => Err(CodecError::Truncated),
        Err(e) => Err(CodecError::Malformed(e.to_string())),
    }
}

/// Reads the protocol version out of a frame that starts like a hello, whatever the rest of
/// it holds. Lets a cloud refuse an agent of another version with a clear reason instead of
/// a decode error. Returns `None` when the frame is not a hello at all.
pub fn peek_hello_version(frame: &[u8]) -> Option<u16> {
    // A hello is variant 0 of `AgentMessage`, whose first field is the version.
    match postcard::take_from_bytes::<(u32, u16)>(frame) {
        Ok(((0, version), _)) => Some(version),
        _ => None,
    }
}
