//! The end-to-end suite, one test binary: real clouds, agents, emulated routers and
//! providers, over real sockets and processes. Each module is one part of the system;
//! tests that run on both databases are listed with `jasiyo_cloud::on_each_backend!`.

mod agent_counters;
mod agent_settings;
mod alerts_mail;
mod backbone;
mod backups;
mod benchmarks;
mod chaos;
mod clock;
mod cluster;
mod crash;
mod dashboard_browser;
mod dashboard_mail;
mod database_restart;
mod demo_browser;
mod edge;
mod hotspot_pages;
mod install_scripts;
mod instances;
mod logs;
mod metrics;
mod payment_emulator;
mod payments;
mod plan_profiles;
mod portal_browser;
mod prometheus;
mod readme;
mod routeros_emulator;
mod routeros_peers;
mod settlement;
mod start_again;
mod trial;
mod usage;
mod voucher_fallback;
mod vouchers;
mod vouchers_two_routers;
