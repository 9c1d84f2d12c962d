//! Routers as an owner manages them: adding one (a fresh agent token, shown once), its
//! hotspot install script (with a download credential made from the token), its container
//! install script, and what an agent needs to be told. The operations behind the CLI's `router ...` and the dashboard's
//! routers pages.

use jasiyo_shared::RouterId;

use crate::model::{Router, TenantId};
use crate::portal::container::{self, ContainerInstall};
use crate::portal::hotspot::{PortalHost, install_script};
use crate::store::{Store, StoreError, StoreResult, now_ms};
use crate::token::AgentToken;

/// Why a router was not added.
#[derive(Debug, thiserror::Error)]
pub enum AddRouterError {
    /// The name is empty or too long.
    #[error("a router needs a name of 1 to {MAX_ROUTER_NAME_LEN} characters")]
    Name,
    /// The store refused (a name already taken is `StoreError::Conflict`) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The longest router name, in bytes.
pub const MAX_ROUTER_NAME_LEN: usize = 60;

/// Adds a router named `name` (trimmed) for `tenant`; its token is returned, to show once.
pub async fn add_router(store: &dyn Store, tenant: TenantId, name: &str) -> Result<(Router, AgentToken), AddRouterError> {
    let name = name.trim();
    if name.is_empty() || name.len() > MAX_ROUTER_NAME_LEN {
        return Err(AddRouterError::Name);
    }
    let token = AgentToken::generate();
    let router = store.create_router(tenant, name, &token.hash(), now_ms()).await?;
    Ok((router, token))
}

/// The RouterOS script installing `router`'s hotspot pages, for an agent token the caller
/// has checked: records the download credential made from `token` (good for the hotspot
/// files and nothing else) and renders the script with it.
pub async fn hotspot_script(store: &dyn Store, portal: &PortalHost, router: &Router, token: &str) -> StoreResult<String> {
    let download = crate::token::download_token(token.trim());
    store.set_download_token(router.id, &crate::token::hash_token(&download), &router.token_hash, now_ms()).await?;
    Ok(install_script(portal, router.id, &router.name, &download))
}

/// The RouterOS script installing `router`'s agent as a container, for an agent token the
/// caller has checked, with a new password for the router's API user.
pub fn container_script(cloud_url: &str, router: &Router, token: &str) -> String {
    let password = container::api_password();
    container::container_script(&ContainerInstall {
        cloud_url,
        router: router.id,
        router_name: &router.name,
        token,
        api_password: &password,
    })
}

/// The RouterOS script giving `router`'s agent container a new token (after a rotation).
pub fn token_update_script(cloud_url: &str, router: &Router, token: &str) -> String {
    let password = container::api_password();
    container::token_update_script(&ContainerInstall {
        cloud_url,
        router: router.id,
        router_name: &router.name,
        token,
        api_password: &password,
    })
}

/// What the agent is started with (its environment), for a token shown once.
pub fn agent_settings(cloud_url: &str, router: RouterId, token: &str) -> String {
    format!("JASIYO_CLOUD_URL={}\nJASIYO_ROUTER_ID={router}\nJASIYO_TOKEN={token}\n", cloud_url.trim_end_matches('/'))
}

/// The lines `router add` and `router rotate-token` print after a new token.
pub fn token_notice(router: RouterId, token: &str) -> String {
    format!("router id: {router}\ntoken:     {token}\nThe token is shown only now; give it to the agent (JASIYO_TOKEN).\n")
}
