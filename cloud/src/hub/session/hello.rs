//! The agent's hello, read before a session starts.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use jasiyo_shared::codec::peek_hello_version;
use jasiyo_shared::{AgentMessage, CloudMessage, Hello, PROTOCOL_VERSION, RejectReason, decode, encode};

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
        Some(PROTOCOL_VERSION) => {}
        Some(agent) => return Err(RejectReason::UnsupportedVersion { agent, cloud: PROTOCOL_VERSION }),
        None => return Err(RejectReason::BadHello("first message is not a hello".into())),
    }
    match decode::<AgentMessage>(&frame) {
        Ok(AgentMessage::Hello(hello)) => Ok(hello),
        Ok(_) => Err(RejectReason::BadHello("first message is not a hello".into())),
        Err(error) => Err(RejectReason::BadHello(error.to_string())),
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
