//! After quiet, each site's agent is stopped with SIGKILL (its journal must survive that
//! anyway) and its journal opened through the agent's own [`Journal`], only to be read, and
//! compared with that site's router:
//!
//! - it is the journal the agent kept, not a fresh one;
//! - every user the journal enforces (unexpired) is on the router, bound to the same MAC,
//!   with the same expiry; every user on the router is one the journal enforces;
//! - every command the journal still holds (its outcome not yet acknowledged) has an
//!   outcome, and each applied create whose user no later command removes is on the router.

use std::collections::{HashMap, HashSet};
use std::fmt;

use jasiyo_agent::journal::Journal;
use jasiyo_shared::{Command, Delivery, HotspotUser, Outcome};

use super::check::router_expiry;
use super::site::Site;
use super::stack::Stack;
use crate::routeros_emulator::HotspotUserRow;

/// What the journals held, once they agreed with their routers (or not: see the
/// violations), summed over the sites.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JournalCheck {
    /// Users the journal enforces.
    pub users: usize,
    /// Commands it still holds, their outcomes not yet acknowledged by the cloud.
    pub unacknowledged: usize,
}

impl fmt::Display for JournalCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} users, {} commands awaiting the cloud's acknowledgement", self.users, self.unacknowledged)
    }
}

/// Kills every agent for good, reads its journal and compares it with its router. Returns
/// what the journals held and every disagreement.
pub async fn compare(stack: &Stack) -> anyhow::Result<(JournalCheck, Vec<String>)> {
    let (mut total, mut problems) = (JournalCheck::default(), Vec::new());
    for site in &stack.sites {
        let (check, found) = compare_site(site).await?;
        total.users += check.users;
        total.unacknowledged += check.unacknowledged;
        problems.extend(found.into_iter().map(|p| format!("journal: {}: {p}", site.label())));
    }
    Ok((total, problems))
}

/// One site's journal against its router; the problems without the "journal:" prefix.
async fn compare_site(site: &Site) -> anyhow::Result<(JournalCheck, Vec<String>)> {
    site.kill_agent_for_good().await;
    let dir = site.agent_dir();
    let (reset, users, held) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let (journal, reset) = Journal::open(&dir)?;
        Ok((reset, journal.entitlements()?, journal.unacknowledged()?))
    })
    .await??;
    let router: HashMap<String, HotspotUserRow> = site.router.users().await.into_iter().map(|u| (u.name.clone(), u)).collect();
    let mut problems = Vec::new();
    if reset {
        problems.push("the agent's journal was gone after the SIGKILL (a fresh one opened)".to_string());
    }
    let now = jasiyo_cloud::store::now_ms() / 1000;
    let known: HashSet<&str> = users.iter().map(|u| u.name.as_str()).collect();
    for user in users.iter().filter(|u| u.expires_at.is_none_or(|at| at.0 > now)) {
        if let Some(problem) = disagreement(user, router.get(&user.name)) {
            problems.push(format!("user {}: {problem}", user.name));
        }
    }
    for name in router.keys().filter(|name| !known.contains(name.as_str())) {
        problems.push(format!("user {name} is on the router, unknown to the journal"));
    }
    problems.extend(held_problems(&held, &router));
    Ok((JournalCheck { users: users.len(), unacknowledged: held.len() }, problems))
}

/// How the router's copy of a user the journal enforces differs from the journal's.
fn disagreement(user: &HotspotUser, on_router: Option<&HotspotUserRow>) -> Option<String> {
    let Some(row) = on_router else { return Some("in the journal, not on the router".to_string()) };
    let mac = user.mac.map(|m| m.to_string());
    if row.mac_address != mac {
        return Some(format!("bound to {mac:?} in the journal, {:?} on the router", row.mac_address));
    }
    let expiry = user.expires_at.map(|at| at.0);
    let routers = router_expiry(row.comment.as_deref());
    (routers != expiry).then(|| format!("expires at {expiry:?} in the journal, {routers:?} on the router"))
}

/// The commands the journal still holds: none without an outcome; each applied create on
/// the router unless a later one removes its user.
fn held_problems(held: &[(Delivery, Option<Outcome>)], router: &HashMap<String, HotspotUserRow>) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, (delivery, outcome)) in held.iter().enumerate() {
        let seq = delivery.seq.0;
        match outcome {
            None => problems.push(format!("command {seq} ({}) left without an outcome", delivery.command.kind())),
            Some(Outcome::Failed { .. }) => {}
            Some(Outcome::Applied { .. }) => {
                let removed_later = |name: &str| {
                    held[i + 1..].iter().any(|(d, _)| matches!(&d.command, Command::RemoveHotspotUser { name: n } if n == name))
                };
                for name in created(&delivery.command).filter(|name| !removed_later(name)) {
                    if !router.contains_key(name) {
                        problems.push(format!("command {seq} created {name}, which is not on the router"));
                    }
                }
            }
        }
    }
    problems
}

/// The users a command creates (or updates).
fn created(command: &Command) -> impl Iterator<Item = &str> {
    let users: Vec<&str> = match command {
        Command::UpsertHotspotUser(user) | Command::UpsertHotspotUserInProfile { user, .. } => vec![user.name.as_str()],
        Command::UpsertHotspotUsers { users, .. } => users.iter().map(|u| u.name.as_str()).collect(),
        _ => Vec::new(),
    };
    users.into_iter()
}

#[cfg(test)]
mod tests {
    use jasiyo_shared::command::Password;
    use jasiyo_shared::{CommandId, Seq, UnixTime};

    use super::*;

    const MAC: &str = "02:C0:00:00:00:07";

    fn user(name: &str) -> HotspotUser {
        HotspotUser {
            name: name.to_string(),
            password: Password("123456".to_string()),
            profile: None,
            mac: Some(MAC.parse().unwrap()),
            expires_at: Some(UnixTime(1_900_000_000)),
            limit_uptime_secs: Some(3600),
            limit_bytes_total: None,
            comment: None,
        }
    }

    fn row(name: &str, mac: &str, expires_at: i64) -> HotspotUserRow {
        HotspotUserRow {
            id: "*1".to_string(),
            name: name.to_string(),
            password: "123456".to_string(),
            profile: "default".to_string(),
            mac_address: Some(mac.to_string()),
            limit_uptime: Some("1h".to_string()),
            limit_bytes_total: None,
            comment: Some(format!("jasiyo exp={expires_at} 1 hour")),
            disabled: false,
            bytes_in: 0,
            bytes_out: 0,
        }
    }

    fn delivery(seq: u64, command: Command) -> Delivery {
        let id: CommandId = format!("00000000-0000-4000-8000-{seq:012x}").parse().unwrap();
        Delivery { seq: Seq(seq), id, command }
    }

    #[test]
    fn a_user_agrees_only_with_the_same_binding_and_expiry() {
        let journalled = user("ABC234");
        assert_eq!(disagreement(&journalled, Some(&row("ABC234", MAC, 1_900_000_000))), None);
        assert!(disagreement(&journalled, None).is_some(), "missing from the router");
        assert!(disagreement(&journalled, Some(&row("ABC234", "02:D0:00:00:00:07", 1_900_000_000))).is_some(), "another device");
        assert!(disagreement(&journalled, Some(&row("ABC234", MAC, 1_900_000_001))).is_some(), "another expiry");
    }

    #[test]
    fn held_commands_need_an_outcome_and_their_users_on_the_router_unless_removed() {
        let applied = Some(Outcome::Applied { note: None });
        let router: HashMap<String, HotspotUserRow> = [("ON1234".to_string(), row("ON1234", MAC, 1_900_000_000))].into();
        let create = |name: &str| Command::UpsertHotspotUser(user(name));
        let fine = [
            (delivery(1, create("ON1234")), applied.clone()),
            (delivery(2, create("GONE23")), applied.clone()),
            (delivery(3, Command::RemoveHotspotUser { name: "GONE23".to_string() }), applied.clone()),
        ];
        assert!(held_problems(&fine, &router).is_empty(), "{:?}", held_problems(&fine, &router));
        let broken = [(delivery(4, create("LOST23")), applied), (delivery(5, create("ON1234")), None)];
        let problems = held_problems(&broken, &router);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("LOST23") && problems[1].contains("without an outcome"), "{problems:?}");
    }
}
