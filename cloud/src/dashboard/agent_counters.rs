//! A router's agent counters on its page (protocol-3 agents): commands applied and refused,
//! how long the router took (latest, median and longest of the recent ones), RouterOS
//! errors by kind, and reconnections, since the agent started.

use jasiyo_shared::AgentCounters;
use maud::{Markup, html};

/// The `#agent` table, or a line saying the agent does not report counters.
pub fn agent_counters(counters: Option<&AgentCounters>) -> Markup {
    let Some(c) = counters else {
        return html! { p.muted #agent { "This agent does not report its counters (it predates protocol 3)." } };
    };
    let ms = |v: Option<u32>| v.map_or("-".to_string(), |ms| format!("{ms} ms"));
    let errors: Vec<String> = c.routeros_errors.by_kind().iter().filter(|(_, n)| *n > 0).map(|(kind, n)| format!("{n} {kind}")).collect();
    html! {
        h2 { "Agent" }
        div.scroll {
            table #agent {
                thead { tr {
                    th.num { "Applied" } th.num { "Refused" } th { "Apply time (last · median · max)" }
                    th { "RouterOS errors" } th.num { "Cloud reconnects" } th.num { "Router reconnects" }
                } }
                tbody { tr {
                    td.num { (c.commands_applied) }
                    td.num { (c.commands_failed) }
                    td { (ms(c.last_apply_ms)) " · " (ms(c.recent_p50_ms)) " · " (ms(c.recent_max_ms)) }
                    td class=(if errors.is_empty() { "" } else { "err" }) {
                        @if errors.is_empty() { "none" } @else { (c.routeros_errors.total()) " (" (errors.join(", ")) ")" }
                    }
                    td.num { (c.cloud_reconnects) }
                    td.num { (c.router_reconnects) }
                } }
            }
        }
        p.muted { "Counted since the agent started." }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_the_counters_or_says_there_are_none() {
        let mut counters = AgentCounters { commands_applied: 12, last_apply_ms: Some(8), recent_max_ms: Some(40), ..Default::default() };
        counters.routeros_errors.connection = 3;
        counters.router_reconnects = 2;
        let page = agent_counters(Some(&counters)).into_string();
        assert!(page.contains("<td class=\"num\">12</td>"), "{page}");
        assert!(page.contains("8 ms · - · 40 ms"), "{page}");
        assert!(page.contains("3 (3 connection)"), "{page}");
        assert!(agent_counters(None).into_string().contains("does not report its counters"));
    }
}
