//! The money path: from a customer's "pay" on the portal to a hotspot user on the router.
//!
//! - [`service`]: starting payments (validation, guards, the provider's STK push) and what
//!   the portal sees of them.
//! - [`settle`]: a provider's word (callback or query) applied exactly once; paid payments
//!   provisioned in the same transaction.
//! - [`reconcile`]: asking providers about payments whose callback never came.
//! - [`phone`], [`limits`], [`sealer`], [`model`]: the pieces.

pub mod limits;
pub mod model;
pub mod phone;
pub mod reconcile;
pub mod sealer;
pub mod service;
pub mod settle;

pub use service::{InitiateRequest, Payments, PaymentsConfig, PaymentView, PortalError, Stage};
