//! Which menus and verbs the emulated router knows, and what they share: argument checks,
//! `.id`/`numbers` resolution, `print` with queries, `.proplist` and `count-only`, and
//! `remove`. The menus themselves are in [`users`](super::users),
//! [`sessions`](super::sessions), [`server_profiles`](super::server_profiles) and
//! [`system`](super::system).

use std::time::Instant;

use jasiyo_agent::routeros::sentence::Request;

use super::query::{Query, Row, project};
use super::state::RouterState;
use super::{EmulatorConfig, server_profiles, sessions, system, users};

/// The menus the emulator answers. Anything else is `no such command prefix`.
pub(crate) const MENUS: &[&str] = &[
    "/ip/hotspot/user",
    "/ip/hotspot/user/profile",
    "/ip/hotspot/active",
    "/ip/hotspot/cookie",
    "/ip/hotspot/host",
    "/ip/hotspot/profile",
    "/system/identity",
    "/system/resource",
];

/// Exact RouterOS 7 texts (reference section 1.9).
pub(crate) const NO_SUCH_ITEM: &str = "no such item (4)";
pub(crate) const NO_SUCH_COMMAND: &str = "no such command";
pub(crate) const NO_SUCH_PREFIX: &str = "no such command prefix";
/// Seen in client code that handles real routers; its exact RouterOS wording is unverified.
pub(crate) const UNKNOWN_PARAMETER: &str = "unknown parameter";
/// A query the emulator cannot evaluate (stack underflow); the real text is unverified.
pub(crate) const BAD_QUERY: &str = "invalid query";

/// What a command produced, before it becomes reply sentences.
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// `!re` rows.
    pub rows: Vec<Row>,
    /// `=ret=` on the `!done`.
    pub ret: Option<String>,
    /// A print: no rows means `!empty` on 7.18+.
    pub is_print: bool,
}

impl Output {
    /// A plain `!done`.
    pub fn done() -> Output {
        Output::default()
    }

    /// `!done =ret=<ret>`.
    pub fn ret(ret: impl Into<String>) -> Output {
        Output { ret: Some(ret.into()), ..Output::default() }
    }
}

/// A `!trap` message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failure(pub String);

/// Shorthand for a command's result.
pub(crate) type Outcome = Result<Output, Failure>;

/// Builds a trap.
pub(crate) fn fail<T>(message: &str) -> Result<T, Failure> {
    Err(Failure(message.to_string()))
}

/// What commands may read besides the tables.
pub(crate) struct Context<'a> {
    pub config: &'a EmulatorConfig,
    pub started: Instant,
}

/// Runs one command (not `/login`, `/cancel` or `/quit`) against the router state.
pub(crate) fn run(state: &mut RouterState, ctx: &Context<'_>, request: &Request) -> Outcome {
    let (menu, verb) = request.command.rsplit_once('/').unwrap_or(("", request.command.as_str()));
    // `getall` is the old API alias of `print`.
    let verb = if verb == "getall" { "print" } else { verb };
    let outcome = match menu {
        "/ip/hotspot/user" => users::user(state, verb, request),
        "/ip/hotspot/user/profile" => users::profile(state, verb, request),
        "/ip/hotspot/active" | "/ip/hotspot/cookie" | "/ip/hotspot/host" => sessions::run(state, menu, verb, request),
        "/ip/hotspot/profile" => server_profiles::run(state, verb, request),
        "/system/identity" | "/system/resource" => system::run(state, ctx, menu, verb, request),
        _ if MENUS.contains(&request.command.as_str()) => None,
        _ => return fail(NO_SUCH_PREFIX),
    };
    outcome.unwrap_or_else(|| fail(NO_SUCH_COMMAND))
}

/// Traps on any attribute that is not in `allowed` (API attributes such as `.id` and
/// `.proplist` always pass).
pub(crate) fn check_arguments(request: &Request, allowed: &[&str]) -> Result<(), Failure> {
    match request.attributes.iter().find(|(name, _)| !name.starts_with('.') && !allowed.contains(&name.as_str())) {
        Some(_) => fail(UNKNOWN_PARAMETER),
        None => Ok(()),
    }
}

/// The items a `set`/`remove` names through `=.id=` or `=numbers=`, comma lists allowed.
/// `resolve` maps one item (an id like `*1A`, or for some menus a name) to a row's id.
pub(crate) fn targets(request: &Request, resolve: impl Fn(&str) -> Option<String>) -> Result<Vec<String>, Failure> {
    let list = request.get(".id").or_else(|| request.get("numbers")).unwrap_or("");
    let items: Vec<&str> = list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if items.is_empty() {
        return fail(NO_SUCH_ITEM);
    }
    items.into_iter().map(|item| resolve(item).ok_or_else(|| Failure(NO_SUCH_ITEM.to_string()))).collect()
}

/// `print`: filter by the query words, then `count-only` or `.proplist`.
pub(crate) fn print(rows: Vec<Row>, request: &Request) -> Outcome {
    let rows = Query::parse(&request.queries).filter(rows).or_else(|_| fail(BAD_QUERY))?;
    if request.get("count-only").is_some() {
        return Ok(Output::ret(rows.len().to_string()));
    }
    let proplist = request.get(".proplist");
    Ok(Output { rows: rows.into_iter().map(|row| project(row, proplist)).collect(), ret: None, is_print: true })
}

/// `remove`: every named item must exist, or nothing is removed.
pub(crate) fn remove<T>(table: &mut Vec<T>, request: &Request, id_of: impl Fn(&T) -> &str) -> Outcome {
    let ids = targets(request, |item| table.iter().find(|row| id_of(row) == item).map(|row| id_of(row).to_string()))?;
    table.retain(|row| !ids.iter().any(|id| id == id_of(row)));
    Ok(Output::done())
}
