//! End-to-end test support for Jasiyo, and the emulators that tests and the demo run
//! against.
//!
//! - [`chaos`]: the chaos run (real processes, a stream of customers, random faults, and
//!   the check that nothing paid was lost or served twice).
//! - [`cluster`]: `scripts/cluster` (instances behind HAProxy) driven by a test.
//! - [`demo`]: the local demo's emulated MikroTik (hotspot login page) and live view.
//! - [`harness`]: a cloud and agents in-process, on ephemeral ports and temporary
//!   directories, torn down through their shutdown tokens.
//! - [`relay`]: a TCP relay between agent and cloud that tests cut, freeze and re-point.
//! - [`private_postgres`]: a PostgreSQL server of a test's own, to crash and restart.
//! - [`processes`]: the real `jasiyo-cloud` and `jasiyo-agent` binaries as child processes,
//!   for crash tests.
//! - [`routeros_emulator`]: a RouterOS API server with hotspot menus and fault switches.
//! - [`routeros_process`]: that emulator as a process with a state file, to SIGKILL and
//!   restart like a router losing power.
//! - [`routeros_script`]: a syntax check of our RouterOS scripts against the command lists of
//!   real RouterOS versions.
//! - [`shop`]: a plan and a Daraja provider for tests that run the cloud as a process.
//! - [`smtp_server`]: an SMTP server that keeps the mail it accepts, for the dashboard's mail.
//! - [`payment_emulator`]: Daraja, PayHero and Paystack at their real paths, with prompts
//!   resolved by tests or a phone page, callbacks sent back, and fault switches.

pub mod chaos;
pub mod cluster;
pub mod demo;
pub mod harness;
pub mod long_poll;
pub mod payment_emulator;
pub mod payment_process;
pub mod private_postgres;
pub mod processes;
pub mod relay;
pub mod routeros_emulator;
pub mod routeros_process;
pub mod routeros_script;
pub mod shop;
pub mod smtp_server;
