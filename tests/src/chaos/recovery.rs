//! "Already paid?" on a second device: a share of the paying customers, once their user is
//! on the router, open the portal on another device of theirs (a new MAC and IP in the
//! router's host table) and type the M-Pesa receipt from their SMS with the paying phone
//! (`POST /api/portal/{router}/recover`), trying again through faults as the page lets
//! them. The plan must move: still the payment's one user, now bound to the second device,
//! which is logged in (unless a reboot of the router may have logged it out: see
//! [`check`]), and the first device no longer.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use jasiyo_cloud::model::{Entitlement, Payment};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::site::Site;
use super::stack::Stack;
use crate::routeros_emulator::control::RouterSnapshot;
use crate::routeros_emulator::{ActiveRow, HotspotUserRow};

/// How long the second device waits for the first device's user to be on the router.
const WAIT_FOR_USER: Duration = Duration::from_secs(120);

/// How long the customer keeps trying to recover on the second device.
const TRYING: Duration = Duration::from_secs(60);

/// The longest pause between two tries (the first is 1 s; each doubles).
const LONGEST_PAUSE: Duration = Duration::from_secs(8);

/// Tries the cloud answered, at most: it allows five per receipt in ten minutes (a try
/// that did not reach it, the cloud being down, does not count).
const ANSWERED_TRIES: usize = 5;

/// The second device of a customer and what recovering on it gave.
#[derive(Clone, Debug)]
pub struct SecondDevice {
    /// Its MAC, as the hotspot reports it.
    pub mac: String,
    /// Its IP on the hotspot.
    pub ip: String,
    /// What the portal did.
    pub outcome: Recovery,
    /// When it did (a login it enqueued happens after this).
    pub at: Instant,
}

/// What recovering on the second device gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// The portal answered with this login (the plan moved, or had already).
    Moved {
        /// The hotspot login it gave.
        username: String,
    },
    /// The first device's user never reached the router (the checker reports the payment).
    NoUser,
    /// The provider shows no receipt for the approved prompt: nothing to type.
    NoReceipt,
    /// The portal refused for good, or until the customer gave up: the last status and
    /// error code.
    Refused(String),
}

/// The portal's error code for a receipt it does not know (or not yet).
const NOT_FOUND: &str = "404 receipt_not_found";

/// Customer `n`'s second device: a MAC and an IP no first device has.
pub fn second_device(n: usize) -> (String, String) {
    let mac = format!("02:D0:{:02X}:{:02X}:{:02X}:{:02X}", (n >> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
    let ip = format!("172.{}.{}.{}", 16 + (n >> 14) % 16, (n >> 6) & 0xff, 4 + (n & 0x3f));
    (mac, ip)
}

/// Where customer `n`'s second device talks from: an address of its own in 127/8, so the
/// cloud's per-address limit on recoveries counts this device, not the whole run (every
/// customer is on 127.0.0.1).
fn client_address(n: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 2, ((n / 250) % 256) as u8, (1 + n % 250) as u8))
}

/// Waits for the user bound to `first_mac` on `site`'s router, then recovers the plan paid
/// from `phone` through `provider_ref`'s prompt on customer `n`'s second device.
pub async fn recover(stack: &Stack, site: &Site, n: usize, phone: &str, first_mac: &str, provider_ref: &str) -> SecondDevice {
    let (mac, ip) = second_device(n);
    let device = |outcome| SecondDevice { mac: mac.clone(), ip: ip.clone(), outcome, at: Instant::now() };
    let first_on = |router: &RouterSnapshot| router.users.iter().any(|u| u.mac_address.as_deref() == Some(first_mac));
    if !site.router.wait_until(WAIT_FOR_USER, first_on).await {
        return device(Recovery::NoUser);
    }
    // The receipt is in the customer's SMS the moment they approve.
    let Some(receipt) = stack.pay.prompt(provider_ref).await.and_then(|p| p.receipt) else { return device(Recovery::NoReceipt) };
    site.router.add_host(&mac, &ip).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).local_address(client_address(n)).build().expect("http client");
    let url = format!("{}/api/portal/{}/recover", stack.base_url(), site.creds.id);
    let body = json!({ "receipt": receipt, "phone": phone, "mac": mac, "ip": ip });
    let deadline = Instant::now() + TRYING;
    let mut pause = Duration::from_secs(1);
    let mut answered = 0;
    loop {
        let why = match http.post(&url).json(&body).send().await {
            Ok(response) if response.status().is_success() => {
                let answer: Value = response.json().await.unwrap_or_default();
                return match answer["login"]["username"].as_str() {
                    Some(username) => device(Recovery::Moved { username: username.to_string() }),
                    None => device(Recovery::Refused(format!("200 without a login: {answer}"))),
                };
            }
            Ok(response) => {
                let status = response.status();
                let answer: Value = response.json().await.unwrap_or_default();
                let why = format!("{} {}", status.as_u16(), answer["error"].as_str().unwrap_or(""));
                // HAProxy's own 502/503 (no instance up) never reached a cloud.
                answered += usize::from(answer["error"].is_string());
                // Tried again: the cloud or its database failing (5xx), the plan moving at
                // the same moment (409), and a code the cloud does not know yet (its
                // callback may still be coming: the page lets the customer try again).
                let again = status.is_server_error() || status == StatusCode::CONFLICT || why == NOT_FOUND;
                if !again {
                    return device(Recovery::Refused(why));
                }
                why
            }
            // The cloud is down or restarting.
            Err(error) => error.to_string(),
        };
        if answered >= ANSWERED_TRIES || Instant::now() + pause > deadline {
            return device(Recovery::Refused(why));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// What the checker made of a second device.
#[derive(Debug, PartialEq, Eq)]
pub enum Checked {
    /// The plan moved as it must.
    Moved,
    /// The cloud cannot know the code: the payment was settled by a status query (which
    /// does not give Daraja's receipt) because its callback was lost to a fault.
    Impossible,
    /// Something is wrong.
    Problem(String),
}

/// Checks a paid payment's second device against the cloud's entitlement, the router's
/// users and its sessions; `first_mac` is the device that paid. `rebooted` says a reboot of
/// the site's router may have ended the second device's session (one was under way when
/// the recovery answered, or came later): a reboot logs every device out, and nothing in
/// the cloud or the agent logs it back in; the customer's browser does, when the router
/// sends it to the portal again and the page resumes the plan it kept
/// (`docs/routeros-notes.md`, "A reboot"), which this harness's devices, having no browser,
/// do not. Then the session is not required; the binding to the second device still is.
pub fn check(
    device: &SecondDevice,
    first_mac: &str,
    payment: &Payment,
    entitlement: &Entitlement,
    users: &HashMap<String, HotspotUserRow>,
    active: &[ActiveRow],
    rebooted: bool,
) -> Checked {
    let username = match &device.outcome {
        Recovery::Moved { username } => username,
        Recovery::Refused(why) if why == NOT_FOUND && payment.receipt.is_none() => return Checked::Impossible,
        other => {
            return Checked::Problem(format!("second device {}: {other:?} (the payment's receipt: {:?})", device.mac, payment.receipt));
        }
    };
    let bound = entitlement.device_mac.map(|m| m.to_string());
    let on_router = users.get(username).and_then(|u| u.mac_address.clone());
    let problem = if *username != entitlement.username {
        format!("recovery gave login {username}, the payment's user is {}", entitlement.username)
    } else if bound.as_deref() != Some(device.mac.as_str()) {
        format!("the cloud binds {username} to {bound:?}, not to the second device {}", device.mac)
    } else if on_router.as_deref() != Some(device.mac.as_str()) {
        format!("{username} is bound to {on_router:?} on the router, not to the second device {}", device.mac)
    } else if !rebooted && !active.iter().any(|a| a.mac_address == device.mac && a.user == *username) {
        format!("the second device {} is not logged in as {username}: {active:?}", device.mac, active = sessions_of(active, username))
    } else if active.iter().any(|a| a.mac_address == first_mac) {
        format!("the first device {first_mac} is still logged in: {:?}", sessions_of(active, username))
    } else {
        return Checked::Moved;
    };
    Checked::Problem(problem)
}

fn sessions_of<'a>(active: &'a [ActiveRow], username: &str) -> Vec<&'a ActiveRow> {
    active.iter().filter(|a| a.user == username).collect()
}
