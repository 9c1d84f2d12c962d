//! The agent's hello, read before a session starts, and the welcome that answers it in the
//! agent's protocol version.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use jasiyo_shared::codec::peek_hello_version;
use jasiyo_shared::{
    AgentMessage, CloudMessage, Hello, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, RejectReason, RouterId, Welcome, WelcomeAt, decode, encode,
};

use super::End;

pub(super) async fn read_hello(socket: &mut WebSocket, timeout: Duration) -> Result<Hello, RejectReason> {
    let frame = match tokio::time::timeout(timeout, socket.recv()).await {
        Err(_) => return Err(RejectReason::BadHello(format!("no hello within {timeout:?}"))),
        Ok(Some(Ok(Message::Binary(frame)))) => frame,
        Ok(Some(Ok(other))) => return Err(RejectReason::BadHello(format!("expected a binary frame, got {}", kind(&other)))),
        Ok(Some(Err(error))) => return Err(RejectReason::BadHello(error.to_string())),
        Ok(None) => return Err(RejectReason::BadHello("closed before hello".into())),
    };
    match peek_hello_version(&frame) {
        Some(version) if (MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&version) => {}
        Some(agent) => return Err(RejectReason::UnsupportedVersion { agent, cloud: PROTOCOL_VERSION }),
        None => return Err(RejectReason::BadHello("first message is not a hello".into())),
    }
    match decode::<AgentMessage>(&frame) {
        Ok(AgentMessage::Hello(hello)) => Ok(hello),
        Ok(_) => Err(RejectReason::BadHello("first message is not a hello".into())),
        Err(error) => Err(RejectReason::BadHello(error.to_string())),
    }
}

/// The welcome for an agent speaking `protocol`: with the cloud's clock (`now_ms`) from
/// protocol 2 on, the plain one before.
pub(super) fn welcome(router_id: RouterId, heartbeat_ms: u32, protocol: u16, now_ms: i64) -> CloudMessage {
    if protocol >= 2 {
        CloudMessage::WelcomeAt(WelcomeAt { router_id, heartbeat_ms, now_ms })
    } else {
        CloudMessage::Welcome(Welcome { router_id, heartbeat_ms })
    }
}

fn kind(message: &Message) -> &'static str {
    match message {
        Message::Text(_) => "text",
        Message::Binary(_) => "binary",
        Message::Ping(_) => "ping",
        Message::Pong(_) => "pong",
        Message::Close(_) => "close",
    }
}

pub(super) async fn send(socket: &mut WebSocket, message: &CloudMessage) -> Result<(), End> {
    let frame = encode(message).map_err(End::Frame)?;
    socket.send(Message::Binary(frame.into())).await.map_err(End::Link)
}
