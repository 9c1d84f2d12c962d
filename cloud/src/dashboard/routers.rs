//! The routers pages: the list (link state, last status), adding one (its token and
//! install instructions shown once, then a wait for its agent), and one router (status,
//! command queue with retry, the agent's counters, agent reports, token rotation, revoke).

use maud::{Markup, PreEscaped, html};

use super::{Frame, Nav, csrf_field, page};
use crate::model::{CommandState, Link, Role, Router};

/// A router as the pages show it.
#[derive(Clone, Debug)]
pub struct RouterLine {
    /// The router.
    pub router: Router,
    /// Whether its agent is connected now (and its token not revoked).
    pub online: bool,
    /// Its link as the store tells it, with since when.
    pub link: Link,
    /// When its agent was last heard from, in the tenant's time zone ("never").
    pub seen: String,
    /// Since when it has been online (or offline), in the tenant's time zone and as an
    /// age: "09:12 (3 h)", "yesterday 18:40 (15 h)"; `None` if it never connected.
    pub since: Option<String>,
}

/// A router just added, or given a new token: shown once.
#[derive(Clone)]
pub struct Fresh {
    /// The router.
    pub router: Router,
    /// The agent token (shown only now).
    pub token: String,
    /// The agent's settings (its environment).
    pub agent_settings: String,
    /// The RouterOS script installing the hotspot pages (when the router is new).
    pub script: Option<String>,
    /// The RouterOS script installing the agent as a container on the router.
    pub container_script: String,
}

impl std::fmt::Debug for Fresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token, and the settings and script made from it, are secrets.
        f.debug_struct("Fresh").field("router", &self.router.id).field("token", &"***").finish_non_exhaustive()
    }
}

/// A command in the queue as the router page shows it.
#[derive(Clone, Debug)]
pub struct CommandLine {
    /// Its sequence number.
    pub seq: u64,
    /// Its kind.
    pub kind: &'static str,
    /// How long ago it was enqueued ("3 min").
    pub age: String,
    /// Where it is.
    pub state: CommandState,
    /// Its result, as text ("" before one).
    pub result: String,
    /// The command itself, passwords hidden.
    pub detail: String,
}

/// Everything the router page shows.
#[derive(Clone, Debug)]
pub struct RouterDetail {
    /// The router.
    pub line: RouterLine,
    /// Its newest commands.
    pub commands: Vec<CommandLine>,
    /// What its agent reported doing on its own: (when, what).
    pub events: Vec<(String, String)>,
    /// A new token, shown once after rotation.
    pub fresh: Option<Fresh>,
    /// A message after a change.
    pub notice: Option<String>,
    /// The free trial.
    pub trial: super::router_trial::TrialView,
}

pub use crate::time::age;

/// The link badge.
pub fn link_badge(line: &RouterLine) -> Markup {
    html! {
        @if line.router.revoked_at.is_some() { span.st.bad { "revoked" } }
        @else if line.online { span.st.ok { "online" @if let Some(since) = &line.since { " since " (since) } } }
        @else if let Some(since) = &line.since { span.st.bad { "offline since " (since) } }
        @else { span.st.bad { "never connected" } }
    }
}

fn mb(bytes: u64) -> String {
    format!("{} MB", bytes / (1024 * 1024))
}

/// The status fields of one router (from its agent's last status).
fn status_cells(line: &RouterLine) -> Markup {
    let status = line.router.status.as_ref();
    let text = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    html! {
        td { (text(line.router.agent_version.clone())) }
        td { (text(status.and_then(|s| s.identity.clone()))) }
        td { (text(status.and_then(|s| s.routeros_version.clone()))) " " span.muted { (text(status.and_then(|s| s.board.clone()))) } }
        td.num { (text(status.and_then(|s| s.uptime_secs).map(|u| age(u as i64 * 1000)))) }
        td.num { (text(status.and_then(|s| s.cpu_load).map(|c| format!("{c}%")))) }
        td.num { (text(status.and_then(|s| s.free_memory).map(mb))) }
        td.num { (text(status.and_then(|s| s.active_sessions).map(|a| a.to_string()))) }
        td.num { (text(status.map(|s| s.journal_depth.to_string()))) }
    }
}

const STATUS_HEAD: [&str; 8] = ["Agent", "Identity", "RouterOS", "Uptime", "CPU", "Free memory", "Sessions", "Journal"];

/// The token and instructions of a fresh router, and a badge that turns green when its
/// agent connects (a small poll of `/dashboard/routers/{id}/state`).
fn fresh_box(fresh: &Fresh, nonce: &str) -> Markup {
    let id = fresh.router.id;
    html! {
        div.box #fresh {
            h2 { "Router " (fresh.router.name) " " span.st.wait #link { "waiting for its agent" } }
            p { "Router id: " code { (id) } }
            p { "Agent token: " code #token { (fresh.token) } }
            p.muted { "The token is shown only now; give it to the agent (JASIYO_TOKEN). If it is lost, rotate the token." }
            h2 { "1. Start the agent" }
            details open {
                summary { "On the router, as a container (RouterOS 7.21+, arm64, arm or x86)" }
                @if fresh.script.is_some() {
                    p.muted {
                        "Upload the agent image for the router's architecture to its disk, then paste this in the router's terminal "
                        "(or save it as a file and /import it). It checks device-mode, turns on NTP, makes an API user with "
                        "minimal rights, the container's network and firewall rule, and starts the agent."
                    }
                } @else {
                    p.muted { "Paste this in the router's terminal: the agent's container gets the new token and restarts." }
                }
                pre { (fresh.container_script) }
            }
            details {
                summary { "On a sidecar (a small Linux box on the router's LAN), or by hand" }
                p.muted {
                    "Start the agent with these settings, plus JASIYO_ROUTEROS_ADDR (the router's LAN address:8728) and an API user. "
                    "If the sidecar sits on a hotspot port, let it through: /ip hotspot ip-binding add mac-address=<sidecar MAC> type=bypassed."
                }
                pre { (fresh.agent_settings) }
            }
            @if let Some(script) = &fresh.script {
                h2 { "2. Install the hotspot pages: paste this in the router's terminal" }
                pre { (script) }
            }
            script nonce=(nonce) {
                (PreEscaped(format!(
                    "(function(){{var b=document.getElementById('link');function poll(){{fetch('/dashboard/routers/{id}/state',{{credentials:'same-origin'}}).then(function(r){{return r.ok?r.json():null}}).then(function(j){{if(j&&j.online){{b.className='st ok';b.textContent='connected';return}}setTimeout(poll,3000)}}).catch(function(){{setTimeout(poll,5000)}})}}poll()}})();"
                )))
            }
        }
    }
}

/// The routers list, with the add form for the owner, and a fresh router's box.
pub fn routers_page(frame: &Frame, lines: &[RouterLine], fresh: Option<&Fresh>, error: Option<&str>) -> Markup {
    let owner = frame.role == Role::Owner;
    page(
        "Routers",
        frame,
        Nav::Routers,
        html! {
            h1 { "Routers" }
            @if let Some(error) = error { div.err { (error) } }
            @if let Some(fresh) = fresh { (fresh_box(fresh, &frame.nonce)) }
            div.scroll {
                table #routers {
                    thead { tr { th { "Name" } th { "Link" } @for h in STATUS_HEAD { th { (h) } } } }
                    tbody {
                        @for line in lines {
                            tr {
                                td { a href={ "/dashboard/routers/" (line.router.id) } { (line.router.name) } }
                                td { (link_badge(line)) }
                                (status_cells(line))
                            }
                        }
                        @if lines.is_empty() { tr { td colspan="10" .muted { "No routers yet." } } }
                    }
                }
            }
            @if owner {
                h2 { "Add a router" }
                form.stack.box method="post" action="/dashboard/routers" {
                    (csrf_field(&frame.csrf))
                    label for="name" { "Name" }
                    input #name name="name" required maxlength="60" placeholder="Shop 1";
                    p { button type="submit" { "Add router" } }
                }
            }
        },
    )
}

/// One router's page.
pub fn router_page(frame: &Frame, detail: &RouterDetail) -> Markup {
    let owner = frame.role == Role::Owner;
    let line = &detail.line;
    let id = line.router.id;
    let live = line.router.revoked_at.is_none();
    page(
        &line.router.name,
        frame,
        Nav::Routers,
        html! {
            h1 { (line.router.name) " " (link_badge(line)) }
            @if let Some(notice) = &detail.notice { div.ok-msg { (notice) } }
            @if let Some(fresh) = &detail.fresh { (fresh_box(fresh, &frame.nonce)) }
            p.muted { "Id " code { (id) } " · last seen " (line.seen) }
            @if let Some(skew) = line.router.clock_skew_ms {
                p #clock class=(if line.router.clock_off() { "err" } else { "muted" }) {
                    "clock: " (crate::model::describe_skew(skew))
                    @if line.router.clock_off() { " (set up NTP on the router; expiries still hold)" }
                }
            }
            @if let Some(error) = line.router.status.as_ref().and_then(|s| s.last_error.as_deref()) { div.err { "The agent reports: " (error) } }
            div.scroll { table #status { thead { tr { @for h in STATUS_HEAD { th { (h) } } } } tbody { tr { (status_cells(line)) } } } }
            (super::agent_counters::agent_counters(line.router.counters.as_ref()))
            (super::router_trial::trial_box(&id.to_string(), &detail.trial, &frame.csrf, owner && live))
            h2 { "Command queue" }
            div.scroll {
                table #commands {
                    thead { tr { th.num { "#" } th { "Kind" } th { "Age" } th { "State" } th { "Result" } th { "Command" } @if owner { th {} } } }
                    tbody {
                        @for c in &detail.commands {
                            tr {
                                td.num { (c.seq) }
                                td { (c.kind) }
                                td { (c.age) }
                                td { (state_badge(c.state)) }
                                td { (c.result) }
                                td { code { (c.detail) } }
                                @if owner {
                                    td { @if c.state == CommandState::Failed && live {
                                        form method="post" action={ "/dashboard/routers/" (id) "/commands/" (c.seq) "/retry" } {
                                            (csrf_field(&frame.csrf)) button.quiet type="submit" { "Retry" }
                                        }
                                    } }
                                }
                            }
                        }
                        @if detail.commands.is_empty() { tr { td colspan="7" .muted { "No commands yet." } } }
                    }
                }
            }
            h2 { "Agent reports" }
            div.scroll {
                table #events {
                    thead { tr { th { "When" } th { "What" } } }
                    tbody {
                        @for (when, what) in &detail.events { tr { td { (when) } td { code { (what) } } } }
                        @if detail.events.is_empty() { tr { td colspan="2" .muted { "Nothing reported." } } }
                    }
                }
            }
            @if owner && live {
                h2 { "Token" }
                div.box.row {
                    form method="post" action={ "/dashboard/routers/" (id) "/rotate" } {
                        (csrf_field(&frame.csrf)) button.quiet type="submit" { "Rotate token" }
                    }
                    form method="post" action={ "/dashboard/routers/" (id) "/revoke" } {
                        (csrf_field(&frame.csrf))
                        label { input type="checkbox" name="confirm" value="yes" required style="width:auto"; " I want to revoke this router" }
                        button.danger type="submit" { "Revoke" }
                    }
                }
            }
        },
    )
}

fn state_badge(state: CommandState) -> Markup {
    let class = match state {
        CommandState::Applied => "st ok",
        CommandState::Failed => "st bad",
        _ => "st wait",
    };
    html! { span class=(class) { (state.as_str()) } }
}
