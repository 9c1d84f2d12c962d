//! Vouchers, the domain service: an owner's batch of printed codes becomes hotspot users on
//! the chosen routers (through their outboxes, like any other command, so the codes work
//! while the link or the cloud is down), can be revoked (the users removed again), and a
//! code typed on the portal is checked for the router it was typed on.
//!
//! Each code is a hotspot user named and passworded by the code, in the plan's profile, with
//! RouterOS `limit-uptime` set to the plan's length: the router counts the time from the
//! first login, not from printing. The agent holds no absolute expiry for it.
//!
//! Codes are bearer credentials: they are logged only at debug level, never at info.

pub mod csv;
pub mod expiry;
pub mod portal;

use jasiyo_shared::command::Password;
use jasiyo_shared::{Command, HotspotUser, MAX_USERS_PER_COMMAND, RouterId};

use crate::model::{Plan, TenantId, VoucherBatch, VoucherBatchId, VoucherBatchInput, VoucherCode};
use crate::store::{Store, StoreError, now_ms};

/// Why a voucher operation was not done.
#[derive(Debug, thiserror::Error)]
pub enum VoucherError {
    /// The input breaks a rule (the words say which).
    #[error("{0}")]
    Invalid(String),
    /// No such batch, plan, router or code for this tenant.
    #[error("{0} not found")]
    NotFound(String),
    /// The store failed.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for VoucherError {
    fn from(error: StoreError) -> VoucherError {
        match error {
            StoreError::NotFound(what) => VoucherError::NotFound(what),
            other => VoucherError::Internal(other.into()),
        }
    }
}

/// How many times a batch is drawn again when one of its codes collides with one the
/// tenant already has (with seven or more random characters, practically never).
const DRAWS: usize = 3;

/// The hotspot user a code becomes on a router.
pub fn voucher_user(plan: &Plan, batch: VoucherBatchId, code: &VoucherCode) -> HotspotUser {
    HotspotUser {
        name: code.as_str().to_string(),
        password: Password(code.as_str().to_string()),
        profile: plan.profile.clone(),
        mac: None,
        // No absolute expiry: a sold voucher's time starts at its first login.
        expires_at: None,
        limit_uptime_secs: Some(plan.duration_secs),
        limit_bytes_total: plan.data_mb.map(|mb| mb * 1024 * 1024),
        comment: Some(format!("voucher batch {}", short(batch))),
    }
}

/// The first eight characters of a batch id, as printed and put in router comments.
pub fn short(batch: VoucherBatchId) -> String {
    batch.to_string().chars().take(8).collect()
}

/// Creates a batch of fresh codes for `tenant` and puts every code on every router named,
/// in one transaction. Returns the batch and its codes.
pub async fn create_batch(
    store: &dyn Store,
    tenant: TenantId,
    input: VoucherBatchInput,
) -> Result<(VoucherBatch, Vec<VoucherCode>), VoucherError> {
    let now = now_ms();
    let input = input.check(now / 1000).map_err(VoucherError::Invalid)?;
    let plan = store.plan(input.plan_id).await?.filter(|p| p.tenant_id == tenant).ok_or_else(|| VoucherError::NotFound("plan".into()))?;
    for router in &input.routers {
        store
            .router(*router)
            .await?
            .filter(|r| r.tenant_id == tenant && r.revoked_at.is_none())
            .ok_or_else(|| VoucherError::NotFound(format!("router {router}")))?;
    }
    let batch = VoucherBatch {
        id: VoucherBatchId::random(),
        tenant_id: tenant,
        plan_id: plan.id,
        count: input.count,
        code_length: input.code_length,
        prefix: input.prefix.clone(),
        price_kes: input.price_kes,
        valid_until: input.valid_until,
        routers: input.routers.clone(),
        created_at: now,
        revoked_at: None,
    };
    for _ in 0..DRAWS {
        let codes = draw(&input);
        let load = load_commands(&plan, batch.id, &codes);
        let commands: Vec<(RouterId, Command)> =
            batch.routers.iter().flat_map(|router| load.iter().map(|command| (*router, command.clone()))).collect();
        match store.create_voucher_batch(&batch, &codes, &commands, now).await {
            Ok(()) => {
                tracing::info!(%tenant, batch = %batch.id, plan = %plan.id, codes = codes.len(), routers = batch.routers.len(), "voucher batch created");
                return Ok((batch, codes));
            }
            Err(StoreError::Conflict(_)) => {
                tracing::warn!(%tenant, "a new voucher code collided with an existing one; drawing the batch again")
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(VoucherError::Invalid("could not draw unique codes; use longer codes".into()))
}

/// The commands that put `codes` on a router: batches of up to [`MAX_USERS_PER_COMMAND`]
/// users in the plan's profile (protocol 4; the hub splits them for older agents), so that
/// 5,000 codes are 25 commands, 25 journal entries and one profile write each, not 5,000.
pub fn load_commands(plan: &Plan, batch: VoucherBatchId, codes: &[VoucherCode]) -> Vec<Command> {
    codes
        .chunks(MAX_USERS_PER_COMMAND)
        .map(|chunk| {
            let users = chunk.iter().map(|code| voucher_user(plan, batch, code));
            // Each user as `plan_upsert` would put it alone: in our profile for the plan, if any.
            match plan.managed_profile() {
                Some(profile) => Command::UpsertHotspotUsers {
                    users: users.map(|user| HotspotUser { profile: Some(profile.name.clone()), ..user }).collect(),
                    profile: Some(profile),
                },
                None => Command::UpsertHotspotUsers { profile: None, users: users.collect() },
            }
        })
        .collect()
}

/// `input.count` distinct codes.
fn draw(input: &VoucherBatchInput) -> Vec<VoucherCode> {
    let prefix = input.prefix.as_deref().unwrap_or("");
    let mut codes = std::collections::BTreeSet::new();
    while codes.len() < input.count as usize {
        codes.insert(VoucherCode::generate(prefix, input.code_length));
    }
    codes.into_iter().collect()
}

/// Revokes a whole batch, or one code of it: the codes stop working on the portal at once
/// and are removed from the batch's routers (their sessions ended) through the outboxes,
/// whatever their state: unused, in use (sold) or expired unsold.
/// Returns how many codes were revoked now.
pub async fn revoke(store: &dyn Store, tenant: TenantId, batch: VoucherBatchId, code: Option<&str>) -> Result<usize, VoucherError> {
    store.voucher_batch(tenant, batch).await?.ok_or_else(|| VoucherError::NotFound("voucher batch".into()))?;
    let code = match code {
        Some(typed) => Some(VoucherCode::parse(typed).ok_or_else(|| VoucherError::NotFound("voucher code".into()))?),
        None => None,
    };
    let removal = |code: &VoucherCode| vec![Command::RemoveHotspotUser { name: code.as_str().to_string() }];
    let revoked = store.revoke_vouchers(tenant, batch, code.as_ref(), &removal, now_ms()).await?;
    if code.is_some() && revoked.is_empty() {
        let known = store.voucher_codes(tenant, batch, now_ms() / 1000).await?.into_iter().any(|l| Some(&l.code) == code.as_ref());
        if !known {
            return Err(VoucherError::NotFound("voucher code".into()));
        }
    }
    tracing::info!(%tenant, %batch, revoked = revoked.len(), one_code = code.is_some(), "vouchers revoked");
    Ok(revoked.len())
}
