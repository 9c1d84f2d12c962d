//! The money path: from a customer's "pay" on the portal to a hotspot user on the router.
//!
//! - [`offer`]: what a router's portal offers (owner, plans).
//! - [`service`]: starting payments (validation, guards, the provider's STK push); [`view`]:
//!   what the portal sees of them; [`answer`]: the push's answer written down, retried in
//!   the background when the database is away.
//! - [`settle`]: a provider's word (callback or query) applied exactly once; paid payments
//!   provisioned in the same transaction; [`kept_callback`]: a callback the database could
//!   not take, applied again in the background.
//! - [`reconcile`]: asking providers about payments whose callback never came.
//! - [`release`]: "wrong number? start again", the device let go of its open prompt.
//! - [`recover`]: "already paid?", moving a paid plan to the customer's new device;
//!   [`complaints`]: the operator's recheck and settle; [`resend`]: a paid user sent to
//!   its router again.
//! - [`providers_config`], [`plans`]: what an operator sets up: a tenant's provider (sealed
//!   credentials, callback token) and its plans.
//! - `counted`: what the service counts for the operator's metrics.
//! - [`phone`], [`limits`], [`sealer`]: the pieces; [`budgets`]: the limits an attempt
//!   spends, in memory and shared by instances; [`held`]: the portal's held long polls.

pub mod answer;
pub mod budgets;
pub mod complaints;
mod counted;
pub mod held;
pub mod kept_callback;
pub mod limits;
pub mod offer;
pub mod phone;
pub mod plans;
pub mod providers_config;
pub mod public_url;
pub mod reconcile;
pub mod recover;
pub mod release;
pub mod resend;
pub mod sealer;
pub mod service;
pub mod settle;
mod token_cache;
pub mod users;
pub mod view;
mod window;

pub use offer::Offer;
pub use plans::{AddPlanError, add_plan, edit_plan, move_plan};
pub use providers_config::{ProviderSet, SetProviderError, set_provider};
pub use recover::{RecoverError, RecoverRequest, Recovered};
pub use service::{InitiateRequest, Payments, PaymentsConfig, PortalError};
pub use view::{LoginInfo, PaymentView, Stage};
