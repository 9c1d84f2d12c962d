//! The cloud crate's integration tests, one test binary: the real `jasiyo-cloud` binary's
//! commands, the HTTP API over a real socket, the portal page, the providers' clients
//! against their documented formats, and the store contract on both databases.

mod agent_tokens;
mod alerts_delivery;
mod backups;
mod budgets;
mod checks_store;
mod cli;
mod cli_router_tokens;
mod cli_vouchers;
mod dashboard_alerts;
mod dashboard_auth;
mod dashboard_owner_pages;
mod dashboard_platform;
mod dashboard_portal_look;
mod dashboard_provider_check;
mod dashboard_transaction_actions;
mod dashboard_transactions;
mod dashboard_transactions_bench;
mod dashboard_users;
mod dashboard_vouchers;
mod hotspot_files;
mod http_api;
mod hub_batches;
mod hub_handshakes;
mod hub_instances;
mod hub_limits;
mod hub_protocol;
mod operator_tokens;
mod outbox_props;
mod payment_props;
mod portal_page;
mod providers;
mod public_edge;
mod raw_agent;
mod request_ids;
mod router_clock;
mod sealing;
mod session_starts;
mod store_contract;
mod tenant_api;
mod tenant_api_parity;
mod trial;
mod voucher_data_used;
mod voucher_sales;
mod vouchers_store;
