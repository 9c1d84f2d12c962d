//! The free trial's box on a router's page: whether it is on and for how long, how many
//! devices used it (today and ever; a record, never a transaction), and the owner's form to
//! turn it on with minutes or off.

use maud::{Markup, html};

use super::csrf_field;
use crate::store::trials::TrialUses;
use crate::trial::TRIAL_MINUTES;

/// What the box shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct TrialView {
    /// Minutes once a day per device, `None` when off.
    pub minutes: Option<u32>,
    /// Devices on the trial: today (in the tenant's zone) and ever.
    pub uses: TrialUses,
}

/// The box; the form only for the owner of a router in use.
pub fn trial_box(router: &str, trial: &TrialView, csrf: &str, editable: bool) -> Markup {
    html! {
        h2 { "Free trial" }
        div.box #trial {
            p #trial-state {
                @match trial.minutes {
                    Some(m) => { span.st.ok { "on" } " " (m) " minutes once a day per device: the portal offers \"Try free\", and the router enforces it." }
                    None => { span.st { "off" } " Customers cannot get on before paying, except to the portal." }
                }
            }
            p.muted #trial-uses { "Devices on the trial: " b { (trial.uses.recent) } " today, " (trial.uses.total) " in all." }
            @if editable {
                form.row method="post" action={ "/dashboard/routers/" (router) "/trial" } {
                    (csrf_field(csrf))
                    label { "Minutes" br;
                        input type="number" name="minutes" min=(TRIAL_MINUTES.start()) max=(TRIAL_MINUTES.end()) value=(trial.minutes.unwrap_or(5)) style="max-width:8rem";
                    }
                    button type="submit" name="action" value="on" { @if trial.minutes.is_some() { "Save" } @else { "Turn on" } }
                    @if trial.minutes.is_some() { button.quiet type="submit" name="action" value="off" { "Turn off" } }
                }
            }
        }
    }
}
