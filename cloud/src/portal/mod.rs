//! The captive portal, rendered: the page customers see, and the hotspot files (and their
//! install script) routers serve to send devices here. No state and no store: the handlers
//! in [`crate::http`] gather what these render.
//!
//! - [`page`]: the page (inline CSS and script); [`plan_card`]: one plan as the page shows
//!   it, for the dashboard's preview.
//! - [`hotspot`]: the router's hotspot pages and the RouterOS script that installs them;
//!   [`login_page`]: its `login.html` (on to the portal, or a voucher form when offline);
//!   [`router_pages`]: the pages RouterOS serves on its own (redirects, logout, api.json).
//! - [`container`]: the RouterOS script installing the agent as a container on the router.

pub mod container;
pub mod hotspot;
pub mod login_page;
pub mod page;
pub mod plan_card;
pub mod router_pages;
pub mod trial;
