//! The cap on agent handshakes, on both databases: past `max_handshakes` agents between
//! their upgrade and their welcome, an upgrade is answered with HTTP 503 and a
//! `Retry-After`; a welcome frees the place, and the agent sent away is then welcomed.

use std::time::Duration;

use jasiyo_cloud::hub::{AgentLimits, HubConfig};
use jasiyo_shared::{AGENT_WS_PATH, AgentMessage, CloudMessage, Hello, PROTOCOL_VERSION, ROUTER_ID_HEADER, RouterId};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::raw_agent::{Cloud, RawAgent, WAIT, World};

/// Dials as `router` and expects a 503; returns its `Retry-After` (seconds).
async fn sent_away(cloud: &Cloud, router: RouterId, token: &str) -> u64 {
    let mut request = format!("ws://{}{AGENT_WS_PATH}", cloud.addr).into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request.headers_mut().insert(ROUTER_ID_HEADER, router.to_string().parse().unwrap());
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request)).await.expect("answered in time") {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 503);
            let hint = response.headers().get("retry-after").expect("a Retry-After").to_str().unwrap();
            hint.parse().expect("delay-seconds")
        }
        Ok(_) => panic!("upgraded past the cap"),
        Err(other) => panic!("connecting: {other}"),
    }
}

async fn past_the_cap_an_agent_is_sent_away_with_a_retry_hint(world: World) {
    let config = HubConfig { heartbeat: Duration::from_secs(5), max_handshakes: 1, ..HubConfig::default() };
    let cloud = Cloud::start_with(world.store.clone(), config, AgentLimits::default()).await;
    let (first, first_token) = world.router("first").await;
    let (second, second_token) = world.router("second").await;
    // The first agent is upgraded and holds the only place until its welcome.
    let mut slow = RawAgent::connect(&cloud, first, first_token.expose()).await.expect("upgraded");
    let hint = sent_away(&cloud, second, second_token.expose()).await;
    assert!((1..=2).contains(&hint), "Retry-After {hint}");
    let hello = Hello { protocol: PROTOCOL_VERSION, agent_version: "raw".into(), journal_high: None, journal_reset: false };
    slow.send(&AgentMessage::Hello(hello)).await;
    assert!(matches!(slow.recv().await, Some(CloudMessage::WelcomeAt(_))));
    // Welcomed: the place is free, and the agent sent away gets in.
    RawAgent::welcomed(&cloud, second, second_token.expose(), None).await;
    cloud.stop();
}

async fn a_place_is_freed_by_an_agent_that_goes_away_before_its_hello(world: World) {
    let config = HubConfig { heartbeat: Duration::from_secs(5), max_handshakes: 1, ..HubConfig::default() };
    let cloud = Cloud::start_with(world.store.clone(), config, AgentLimits::default()).await;
    let (first, first_token) = world.router("first").await;
    let (second, second_token) = world.router("second").await;
    let gone = RawAgent::connect(&cloud, first, first_token.expose()).await.expect("upgraded");
    sent_away(&cloud, second, second_token.expose()).await;
    drop(gone);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match RawAgent::connect(&cloud, second, second_token.expose()).await {
            Ok(_) => break,
            Err(503) if tokio::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(status) => panic!("HTTP {status} after the first agent left"),
        }
    }
    cloud.stop();
}

jasiyo_cloud::on_each_backend!(
    World::new;
    past_the_cap_an_agent_is_sent_away_with_a_retry_hint,
    a_place_is_freed_by_an_agent_that_goes_away_before_its_hello
);
