//! Voucher batches and codes; [`VoucherStore`] is implemented here directly. Compiled once
//! per backend (see `sql/mod.rs`).

use std::collections::HashMap;

use async_trait::async_trait;
use jasiyo_shared::{Command, MacAddress, RouterId};
use sqlx::FromRow;

use super::{Db, This, outbox};
use crate::model::{PlanId, TenantId, VoucherBatch, VoucherBatchId, VoucherCode, VoucherCounts, VoucherLine, VoucherState};
use crate::store::sql::rows::parse_router;
use crate::store::sql::{Backend, conflict_or, parse_uuid};
use crate::store::users::DataUsed;
use crate::store::vouchers::{Redeemed, VoucherStore};
use crate::store::{StoreError, StoreResult};

/// Codes inserted per statement (four bound values each: well under both backends' caps).
const CODES_PER_INSERT: usize = 1_000;

const BATCH_COLUMNS: &str = "id, tenant_id, plan_id, count, code_length, prefix, price_kes, valid_until, created_at, revoked_at";

#[derive(FromRow)]
struct BatchRow {
    id: String,
    tenant_id: String,
    plan_id: String,
    count: i64,
    code_length: i64,
    prefix: Option<String>,
    price_kes: Option<i64>,
    valid_until: Option<i64>,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl BatchRow {
    fn into_batch(self, routers: Vec<RouterId>) -> StoreResult<VoucherBatch> {
        Ok(VoucherBatch {
            id: VoucherBatchId(parse_uuid("voucher batch id", &self.id)?),
            tenant_id: TenantId(parse_uuid("tenant id", &self.tenant_id)?),
            plan_id: PlanId(parse_uuid("plan id", &self.plan_id)?),
            count: self.count.max(0) as u32,
            code_length: self.code_length.max(0) as u32,
            prefix: self.prefix,
            price_kes: self.price_kes.map(|p| p.max(0) as u32),
            valid_until: self.valid_until,
            routers,
            created_at: self.created_at,
            revoked_at: self.revoked_at,
        })
    }
}

/// The routers of each of the tenant's batches (of one batch, when given).
async fn batch_routers(store: &This, tenant: TenantId, id: Option<VoucherBatchId>) -> StoreResult<HashMap<String, Vec<RouterId>>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT br.batch_id, br.router_id FROM voucher_batch_routers br JOIN voucher_batches b ON b.id = br.batch_id \
         WHERE b.tenant_id = $1 AND ($2 = '' OR b.id = $2) ORDER BY br.router_id",
    )
    .bind(tenant.to_string())
    .bind(id.map(|i| i.to_string()).unwrap_or_default())
    .fetch_all(store.reads())
    .await?;
    let mut routers: HashMap<String, Vec<RouterId>> = HashMap::new();
    for (batch, router) in rows {
        routers.entry(batch).or_default().push(parse_router(&router)?);
    }
    Ok(routers)
}

fn parse_mac(text: Option<String>) -> Option<MacAddress> {
    text.and_then(|t| t.parse().ok())
}

#[async_trait]
impl VoucherStore for This {
    async fn create_voucher_batch(
        &self,
        batch: &VoucherBatch,
        codes: &[VoucherCode],
        commands: &[(RouterId, Command)],
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.writes().begin().await?;
        sqlx::query(&format!("INSERT INTO voucher_batches ({BATCH_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)"))
            .bind(batch.id.to_string())
            .bind(batch.tenant_id.to_string())
            .bind(batch.plan_id.to_string())
            .bind(i64::from(batch.count))
            .bind(i64::from(batch.code_length))
            .bind(&batch.prefix)
            .bind(batch.price_kes.map(i64::from))
            .bind(batch.valid_until)
            .bind(batch.created_at)
            .execute(&mut *tx)
            .await?;
        for router in &batch.routers {
            sqlx::query(
                "INSERT INTO voucher_batch_routers (batch_id, router_id) SELECT $1, id FROM routers WHERE id = $2 AND tenant_id = $3",
            )
            .bind(batch.id.to_string())
            .bind(router.to_string())
            .bind(batch.tenant_id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            .eq(&1)
            .then_some(())
            .ok_or_else(|| StoreError::NotFound(format!("router {router}")))?;
        }
        for chunk in codes.chunks(CODES_PER_INSERT) {
            let mut insert = sqlx::QueryBuilder::<Db>::new("INSERT INTO voucher_codes (tenant_id, code, batch_id, state) ");
            insert.push_values(chunk, |mut row, code| {
                row.push_bind(batch.tenant_id.to_string())
                    .push_bind(code.as_str().to_string())
                    .push_bind(batch.id.to_string())
                    .push_bind("unused");
            });
            insert.build().execute(&mut *tx).await.map_err(|e| conflict_or(e, "a voucher code"))?;
        }
        for (router, command) in commands {
            outbox::enqueue_tx(&mut tx, *router, command, now_ms).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn voucher_batches(&self, tenant: TenantId, now: i64) -> StoreResult<Vec<(VoucherBatch, VoucherCounts)>> {
        let rows: Vec<BatchRow> =
            sqlx::query_as(&format!("SELECT {BATCH_COLUMNS} FROM voucher_batches WHERE tenant_id = $1 ORDER BY created_at DESC, id"))
                .bind(tenant.to_string())
                .fetch_all(self.reads())
                .await?;
        let counted: Vec<(String, String, Option<i64>, i64)> = sqlx::query_as(
            "SELECT c.batch_id, c.state, b.valid_until, COUNT(*) FROM voucher_codes c JOIN voucher_batches b ON b.id = c.batch_id \
             WHERE c.tenant_id = $1 GROUP BY c.batch_id, c.state, b.valid_until",
        )
        .bind(tenant.to_string())
        .fetch_all(self.reads())
        .await?;
        let mut counts: HashMap<String, VoucherCounts> = HashMap::new();
        for (batch, stored, valid_until, n) in counted {
            let state =
                VoucherState::at(&stored, valid_until, now).ok_or_else(|| StoreError::Corrupt(format!("voucher state {stored:?}")))?;
            let entry = counts.entry(batch).or_default();
            for _ in 0..n {
                entry.add(state);
            }
        }
        let mut routers = batch_routers(self, tenant, None).await?;
        rows.into_iter()
            .map(|row| {
                let counted = counts.remove(&row.id).unwrap_or_default();
                let routers = routers.remove(&row.id).unwrap_or_default();
                Ok((row.into_batch(routers)?, counted))
            })
            .collect()
    }

    async fn voucher_batch(&self, tenant: TenantId, id: VoucherBatchId) -> StoreResult<Option<VoucherBatch>> {
        let row: Option<BatchRow> =
            sqlx::query_as(&format!("SELECT {BATCH_COLUMNS} FROM voucher_batches WHERE tenant_id = $1 AND id = $2"))
                .bind(tenant.to_string())
                .bind(id.to_string())
                .fetch_optional(self.reads())
                .await?;
        let Some(row) = row else { return Ok(None) };
        let routers = batch_routers(self, tenant, Some(id)).await?.remove(&row.id).unwrap_or_default();
        row.into_batch(routers).map(Some)
    }

    async fn voucher_batch_any(&self, id: VoucherBatchId) -> StoreResult<Option<VoucherBatch>> {
        let tenant: Option<String> = sqlx::query_scalar("SELECT tenant_id FROM voucher_batches WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.reads())
            .await?;
        match tenant {
            Some(tenant) => self.voucher_batch(TenantId(parse_uuid("tenant id", &tenant)?), id).await,
            None => Ok(None),
        }
    }

    async fn voucher_codes(&self, tenant: TenantId, id: VoucherBatchId, now: i64) -> StoreResult<Vec<VoucherLine>> {
        type Row =
            (String, String, Option<i64>, Option<String>, Option<i64>, Option<String>, Option<i64>, Option<i64>, Option<i64>, Option<i64>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT c.code, c.state, c.first_used_at, c.device_mac, b.valid_until, c.second_router_id, c.second_seen_at, \
             c.bytes_in, c.bytes_out, c.usage_at FROM voucher_codes c \
             JOIN voucher_batches b ON b.id = c.batch_id WHERE c.tenant_id = $1 AND b.tenant_id = $1 AND c.batch_id = $2 ORDER BY c.code",
        )
        .bind(tenant.to_string())
        .bind(id.to_string())
        .fetch_all(self.reads())
        .await?;
        rows.into_iter()
            .map(|(code, stored, first_used_at, mac, valid_until, second, second_seen_at, bytes_in, bytes_out, usage_at)| {
                let state =
                    VoucherState::at(&stored, valid_until, now).ok_or_else(|| StoreError::Corrupt(format!("voucher state {stored:?}")))?;
                let second_router = second.as_deref().map(parse_router).transpose()?;
                let usage = match (bytes_in, bytes_out, usage_at) {
                    (Some(i), Some(o), Some(at)) => Some(DataUsed { bytes_in: i.max(0) as u64, bytes_out: o.max(0) as u64, at }),
                    _ => None,
                };
                Ok(VoucherLine {
                    code: VoucherCode::stored(code),
                    state,
                    first_used_at,
                    device_mac: parse_mac(mac),
                    second_router,
                    second_seen_at,
                    usage,
                })
            })
            .collect()
    }

    async fn revoke_vouchers(
        &self,
        tenant: TenantId,
        id: VoucherBatchId,
        code: Option<&VoucherCode>,
        removal: &(dyn for<'c> Fn(&'c VoucherCode) -> Vec<Command> + Sync),
        now_ms: i64,
    ) -> StoreResult<Vec<VoucherCode>> {
        let mut tx = self.writes().begin().await?;
        let only = code.map(|c| c.as_str().to_string()).unwrap_or_default();
        let revoked: Vec<String> = sqlx::query_scalar(
            "UPDATE voucher_codes SET state = 'revoked', revoked_at = $3 WHERE tenant_id = $1 AND batch_id = $2 \
             AND state <> 'revoked' AND ($4 = '' OR code = $4) RETURNING code",
        )
        .bind(tenant.to_string())
        .bind(id.to_string())
        .bind(now_ms)
        .bind(&only)
        .fetch_all(&mut *tx)
        .await?;
        if code.is_none() {
            sqlx::query("UPDATE voucher_batches SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
                .bind(tenant.to_string())
                .bind(id.to_string())
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
        }
        let routers: Vec<String> = sqlx::query_scalar(
            "SELECT br.router_id FROM voucher_batch_routers br JOIN voucher_batches b ON b.id = br.batch_id \
             WHERE b.tenant_id = $1 AND b.id = $2 ORDER BY br.router_id",
        )
        .bind(tenant.to_string())
        .bind(id.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let mut codes: Vec<VoucherCode> = revoked.into_iter().map(VoucherCode::stored).collect();
        codes.sort();
        for router in &routers {
            let router = parse_router(router)?;
            for code in &codes {
                for command in removal(code) {
                    outbox::enqueue_tx(&mut tx, router, &command, now_ms).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(codes)
    }

    async fn remove_expired_vouchers(
        &self,
        before: i64,
        limit: u32,
        removal: &(dyn for<'c> Fn(&'c VoucherCode) -> Vec<Command> + Sync),
        now_ms: i64,
    ) -> StoreResult<(Vec<VoucherCode>, Vec<RouterId>)> {
        let mut tx = self.writes().begin().await?;
        let found: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT c.tenant_id, c.code, c.batch_id FROM voucher_codes c JOIN voucher_batches b ON b.id = c.batch_id \
             WHERE c.state = 'unused' AND c.removed_at IS NULL AND b.valid_until IS NOT NULL AND b.valid_until <= $1 \
             ORDER BY b.valid_until, c.code LIMIT $2",
        )
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut codes = Vec::new();
        let mut touched = std::collections::BTreeSet::new();
        for (tenant, code, batch) in found {
            let taken = sqlx::query(
                "UPDATE voucher_codes SET removed_at = $3 WHERE tenant_id = $1 AND code = $2 AND state = 'unused' AND removed_at IS NULL",
            )
            .bind(&tenant)
            .bind(&code)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            if taken.rows_affected() != 1 {
                continue;
            }
            let routers: Vec<String> =
                sqlx::query_scalar("SELECT router_id FROM voucher_batch_routers WHERE batch_id = $1 ORDER BY router_id")
                    .bind(&batch)
                    .fetch_all(&mut *tx)
                    .await?;
            let code = VoucherCode::stored(code);
            for router in routers {
                let router = parse_router(&router)?;
                for command in removal(&code) {
                    outbox::enqueue_tx(&mut tx, router, &command, now_ms).await?;
                }
                touched.insert(router.to_string());
            }
            codes.push(code);
        }
        tx.commit().await?;
        let routers = touched.iter().map(|r| parse_router(r)).collect::<StoreResult<Vec<_>>>()?;
        Ok((codes, routers))
    }

    async fn redeem_voucher(&self, router: RouterId, code: &VoucherCode, mac: MacAddress, now_ms: i64) -> StoreResult<Redeemed> {
        type Row = (String, String, Option<String>, String, Option<i64>, Option<String>);
        let mut tx = self.writes().begin().await?;
        let found: Option<Row> = sqlx::query_as(
            "SELECT c.tenant_id, c.state, c.device_mac, b.plan_id, b.valid_until, c.used_router_id FROM voucher_codes c \
             JOIN voucher_batches b ON b.id = c.batch_id JOIN voucher_batch_routers br ON br.batch_id = b.id \
             JOIN routers r ON r.id = br.router_id AND r.tenant_id = c.tenant_id WHERE br.router_id = $1 AND c.code = $2",
        )
        .bind(router.to_string())
        .bind(code.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((tenant, stored, device, plan, valid_until, used_on)) = found else { return Ok(Redeemed::Unknown) };
        // A code is for the first router it is used on (see `voucher_reuse.rs`).
        let here = used_on.is_none_or(|used| used == router.to_string());
        let plan_id = PlanId(parse_uuid("plan id", &plan)?);
        let state = VoucherState::at(&stored, valid_until, now_ms / 1000)
            .ok_or_else(|| StoreError::Corrupt(format!("voucher state {stored:?}")))?;
        let answer = match state {
            VoucherState::Revoked => Redeemed::Revoked,
            VoucherState::Expired => Redeemed::Expired,
            VoucherState::InUse if here && parse_mac(device) == Some(mac) => Redeemed::Valid { plan_id, first: false },
            VoucherState::InUse => Redeemed::InUseElsewhere,
            VoucherState::Unused => {
                let taken = sqlx::query(
                    "UPDATE voucher_codes SET state = 'in_use', first_used_at = $3, device_mac = $4, used_router_id = $5 \
                     WHERE tenant_id = $1 AND code = $2 AND state = 'unused'",
                )
                .bind(&tenant)
                .bind(code.as_str())
                .bind(now_ms)
                .bind(mac.to_string())
                .bind(router.to_string())
                .execute(&mut *tx)
                .await?;
                // Another request took it between the look and the update.
                if taken.rows_affected() == 1 { Redeemed::Valid { plan_id, first: true } } else { Redeemed::InUseElsewhere }
            }
        };
        tx.commit().await?;
        Ok(answer)
    }
}
