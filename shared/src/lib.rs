//! The protocol between a Jasiyo agent and the cloud.
//!
//! Everything that crosses the phone-home WebSocket is defined here, once: typed ids
//! ([`RouterId`], [`CommandId`], [`Seq`]), the [`Command`]s the cloud asks a router to carry
//! out, the messages each side sends ([`AgentMessage`], [`CloudMessage`]) and the
//! [`codec`] that turns them into binary frames. This crate has no runtime dependencies
//! (no tokio, no I/O) so it compiles fast and cross-compiles with the agent.

pub mod codec;
pub mod command;
pub mod ids;
pub mod message;

pub use codec::{CodecError, MAX_FRAME_BYTES, decode, encode};
pub use command::{Command, HotspotUser, MacAddress, Outcome, SEQUENCE_CONFLICT, UnixTime};
pub use ids::{CommandId, RouterId, Seq};
pub use message::{AgentEvent, AgentMessage, CloudMessage, Delivery, Hello, RejectReason, Report, RouterStatus, Welcome};

/// The protocol version spoken by this build. A hello with any other version is refused
/// with [`RejectReason::UnsupportedVersion`].
pub const PROTOCOL_VERSION: u16 = 1;

/// The path on the cloud that agents dial (`wss://<cloud>/agent/v1/ws`).
pub const AGENT_WS_PATH: &str = "/agent/v1/ws";

/// The HTTP header carrying the router id on the agent's upgrade request; the router's
/// token travels as `Authorization: Bearer <token>`.
pub const ROUTER_ID_HEADER: &str = "x-jasiyo-router-id";
