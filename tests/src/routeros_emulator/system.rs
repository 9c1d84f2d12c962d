//! `/system/identity` (print, set) and `/system/resource` (print).

use jasiyo_agent::routeros::sentence::Request;

use super::menus::{Context, Outcome, Output, check_arguments, print};
use super::state::{RouterState, pair};
use super::time::format_interval;

/// `/system/{identity,resource}/<verb>`; `None` for an unknown verb.
pub(crate) fn run(state: &mut RouterState, ctx: &Context<'_>, menu: &str, verb: &str, request: &Request) -> Option<Outcome> {
    Some(match (menu, verb) {
        ("/system/identity", "print") => print(vec![vec![pair("name", &state.identity)]], request),
        ("/system/identity", "set") => check_arguments(request, &["name"]).map(|()| {
            if let Some(name) = request.get("name") {
                state.identity = name.to_string();
            }
            Output::done()
        }),
        ("/system/resource", "print") => print(vec![resource(ctx)], request),
        _ => return None,
    })
}

/// One resource row with raw numbers, as the API (not the console) sends them. The
/// hardware figures are those of a real hAP ax^3.
fn resource(ctx: &Context<'_>) -> Vec<(String, String)> {
    let uptime = format_interval(ctx.started.elapsed().as_secs() * 1_000);
    vec![
        pair("uptime", &uptime),
        pair("version", &ctx.config.version),
        pair("build-time", "2025-06-01 10:00:00"),
        pair("factory-software", "7.5"),
        pair("free-memory", "697303040"),
        pair("total-memory", "1073741824"),
        pair("cpu", "ARM64"),
        pair("cpu-count", "4"),
        pair("cpu-frequency", "864"),
        pair("cpu-load", "1"),
        pair("free-hdd-space", "100765696"),
        pair("total-hdd-space", "134217728"),
        pair("write-sect-since-reboot", "120"),
        pair("write-sect-total", "4500"),
        pair("bad-blocks", "0"),
        pair("architecture-name", "arm64"),
        pair("board-name", &ctx.config.board),
        pair("platform", "MikroTik"),
    ]
}
