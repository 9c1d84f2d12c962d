//! The Jasiyo edge agent.
pub mod config;
pub mod journal;
