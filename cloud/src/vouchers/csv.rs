//! A batch as CSV, for the owner's spreadsheet or a print shop: one line per code.

use crate::model::{VoucherBatch, VoucherLine};

/// `code,state,first_used_at,device_mac,plan,price_kes,valid_until`; times as RFC 3339
/// (UTC), empty when unknown. Codes, states and MACs never hold commas or quotes; the plan
/// name is quoted.
pub fn export(batch: &VoucherBatch, plan_name: &str, lines: &[VoucherLine]) -> String {
    let mut out = String::from("code,state,first_used_at,device_mac,plan,price_kes,valid_until\n");
    let plan = format!("\"{}\"", plan_name.replace('"', "\"\""));
    let price = batch.price_kes.map(|p| p.to_string()).unwrap_or_default();
    let until = batch.valid_until.map(|s| rfc3339(s * 1000)).unwrap_or_default();
    for line in lines {
        let used = line.first_used_at.map(rfc3339).unwrap_or_default();
        let mac = line.device_mac.map(|m| m.to_string()).unwrap_or_default();
        out.push_str(&format!("{},{},{used},{mac},{plan},{price},{until}\n", line.code.as_str(), line.state.as_str()));
    }
    out
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|t| t.to_string()).unwrap_or_default()
}
