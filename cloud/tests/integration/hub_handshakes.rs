//! The cap on agent handshakes and the line in front of it, on both databases: past
//! `max_under_way` agents between their upgrade and their welcome, an upgrade waits in line
//! for a place and is then welcomed without a 503; with the line full, or a wait that runs
//! out, it is answered with HTTP 503 and a `Retry-After`.

use std::time::Duration;

use jasiyo_cloud::hub::{AgentLimits, HandshakeLimits, HubConfig};
use jasiyo_cloud::token::AgentToken;
use jasiyo_shared::{AGENT_WS_PATH, AgentMessage, CloudMessage, Hello, PROTOCOL_VERSION, ROUTER_ID_HEADER, RouterId};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::raw_agent::{Cloud, RawAgent, WAIT, World};

/// A cloud with these handshake limits.
async fn cloud(world: &World, max_under_way: usize, max_waiting: usize, max_wait: Duration) -> Cloud {
    let handshakes = HandshakeLimits { max_under_way, max_waiting, max_wait };
    let config = HubConfig { heartbeat: Duration::from_secs(5), handshakes, ..HubConfig::default() };
    Cloud::start_with(world.store.clone(), config, AgentLimits::default()).await
}

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

/// Says hello on an upgraded link and expects the welcome (which frees its place).
async fn hello(agent: &mut RawAgent) {
    let hello = Hello { protocol: PROTOCOL_VERSION, agent_version: "raw".into(), journal_high: None, journal_reset: false };
    agent.send(&AgentMessage::Hello(hello)).await;
    assert!(matches!(agent.recv().await, Some(CloudMessage::WelcomeAt(_))));
}

/// An agent dialling in its own task, welcomed in the end (a 503 fails it).
fn dial(cloud: &Cloud, router: RouterId, token: &AgentToken) -> JoinHandle<RawAgent> {
    let (addr, token) = (cloud.addr, token.expose().to_string());
    tokio::spawn(async move { RawAgent::welcomed_at(addr, router, &token, None).await })
}

/// Waits until `n` upgrades wait in the line.
async fn line_reaches(cloud: &Cloud, n: usize) {
    let mut waiting = cloud.hub.handshakes_waiting();
    tokio::time::timeout(WAIT, waiting.wait_for(|&w| w == n))
        .await
        .unwrap_or_else(|_| panic!("{n} in line within {WAIT:?}"))
        .expect("the hub is up");
}

async fn a_crowd_past_the_cap_waits_in_line_and_is_welcomed_without_a_503(world: World) {
    let cloud = cloud(&world, 2, 16, Duration::from_secs(60)).await;
    // Two upgraded agents hold both places until their hello.
    let mut holders = Vec::new();
    for name in ["a", "b"] {
        let (router, token) = world.router(name).await;
        holders.push(RawAgent::connect(&cloud, router, token.expose()).await.expect("upgraded"));
    }
    let mut crowd = Vec::new();
    for i in 0..6 {
        let (router, token) = world.router(&format!("crowd-{i}")).await;
        crowd.push(dial(&cloud, router, &token));
    }
    line_reaches(&cloud, 6).await;
    for holder in &mut holders {
        hello(holder).await;
    }
    for agent in crowd {
        tokio::time::timeout(WAIT, agent).await.expect("welcomed in time").expect("welcomed after waiting, not sent away");
    }
    line_reaches(&cloud, 0).await;
    cloud.stop();
}

async fn past_a_full_line_an_agent_is_sent_away_with_the_longest_wait_as_its_hint(world: World) {
    let cloud = cloud(&world, 1, 1, Duration::from_secs(60)).await;
    let (first, first_token) = world.router("first").await;
    let (second, second_token) = world.router("second").await;
    let (third, third_token) = world.router("third").await;
    // The first agent is upgraded and holds the only place until its welcome; the second
    // takes the only place in line; the third finds the line full.
    let mut slow = RawAgent::connect(&cloud, first, first_token.expose()).await.expect("upgraded");
    let waiting = dial(&cloud, second, &second_token);
    line_reaches(&cloud, 1).await;
    assert_eq!(sent_away(&cloud, third, third_token.expose()).await, 60);
    hello(&mut slow).await;
    tokio::time::timeout(WAIT, waiting).await.expect("welcomed in time").expect("the one in line is welcomed");
    // The sent-away agent, coming back, gets in.
    RawAgent::welcomed(&cloud, third, third_token.expose(), None).await;
    cloud.stop();
}

async fn a_wait_that_runs_out_is_answered_503_with_a_short_hint(world: World) {
    let cloud = cloud(&world, 1, 4, Duration::from_millis(200)).await;
    let (first, first_token) = world.router("first").await;
    let (second, second_token) = world.router("second").await;
    let _slow = RawAgent::connect(&cloud, first, first_token.expose()).await.expect("upgraded");
    assert_eq!(sent_away(&cloud, second, second_token.expose()).await, 1);
    line_reaches(&cloud, 0).await;
    cloud.stop();
}

async fn a_place_is_freed_by_an_agent_that_goes_away_before_its_hello(world: World) {
    let cloud = cloud(&world, 1, 1, Duration::from_secs(60)).await;
    let (first, first_token) = world.router("first").await;
    let (second, second_token) = world.router("second").await;
    let gone = RawAgent::connect(&cloud, first, first_token.expose()).await.expect("upgraded");
    let waiting = dial(&cloud, second, &second_token);
    line_reaches(&cloud, 1).await;
    drop(gone);
    tokio::time::timeout(WAIT, waiting).await.expect("welcomed in time").expect("welcomed once the place is free");
    cloud.stop();
}

jasiyo_cloud::on_each_backend!(
    World::new;
    a_crowd_past_the_cap_waits_in_line_and_is_welcomed_without_a_503,
    past_a_full_line_an_agent_is_sent_away_with_the_longest_wait_as_its_hint,
    a_wait_that_runs_out_is_answered_503_with_a_short_hint,
    a_place_is_freed_by_an_agent_that_goes_away_before_its_hello
);
