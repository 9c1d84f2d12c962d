//! The protocol between a Jasiyo agent and the cloud.
//!
//! Everything that crosses the phone-home WebSocket is defined here, once: typed ids
//! ([`RouterId`], [`CommandId`], [`Seq`]), the [`Command`]s the cloud asks a router to carry
//! out, the messages each side sends ([`AgentMessage`], [`CloudMessage`]) and the
//! [`codec`] that turns them into binary frames. This crate has no runtime dependencies
//! (no tokio, no I/O) so it compiles fast and cross-compiles with the agent.

pub mod batch;
pub mod clock;
pub mod codec;
pub mod command;
pub mod counters;
pub mod ids;
pub mod message;
pub mod profile;
pub mod trial;

pub use batch::MAX_USERS_PER_COMMAND;
pub use clock::{CLOCK_IN_STEP_MS, describe_skew};
pub use codec::{CodecError, MAX_FRAME_BYTES, decode, encode};
pub use command::{Command, HotspotProfile, HotspotTrial, HotspotUser, MacAddress, Outcome, SEQUENCE_CONFLICT, UnixTime};
pub use counters::{APPLY_BUCKETS_MS, AgentCounters, RECENT_APPLIES, RouterOsErrors};
pub use ids::{CommandId, RouterId, Seq};
pub use message::{
    AgentEvent, AgentMessage, CloudMessage, Delivery, Hello, MAX_USAGE_PER_MESSAGE, RejectReason, Report, RouterStatus, UserUsage, Welcome,
    WelcomeAt,
};
pub use trial::TRIAL_USER_PREFIX;

/// The newest protocol version spoken by this build; an agent says it in its hello.
///
/// 1: the first. 2: adds the cloud's clock in the welcome ([`WelcomeAt`]), the agent's clock
/// skew ([`AgentMessage::Clock`]) and data used per user ([`AgentMessage::Usage`]). 3: adds
/// the agent's own counters ([`AgentMessage::Counters`]). 4: adds many users in one command
/// ([`Command::UpsertHotspotUsers`]: a voucher batch loads in seconds; an older agent gets
/// one command per user) and the free trial ([`Command::SetHotspotTrial`], which the cloud
/// never sends to an older agent).
pub const PROTOCOL_VERSION: u16 = 4;

/// The oldest protocol version this build still speaks: a cloud accepts hellos from
/// [`MIN_PROTOCOL_VERSION`] to [`PROTOCOL_VERSION`] (any other gets
/// [`RejectReason::UnsupportedVersion`]), and an agent refused by an older cloud falls back
/// to it.
pub const MIN_PROTOCOL_VERSION: u16 = 1;

/// The path on the cloud that agents dial (`wss://<cloud>/agent/v1/ws`).
pub const AGENT_WS_PATH: &str = "/agent/v1/ws";

/// The HTTP header carrying the router id on the agent's upgrade request; the router's
/// token travels as `Authorization: Bearer <token>`.
pub const ROUTER_ID_HEADER: &str = "x-jasiyo-router-id";
