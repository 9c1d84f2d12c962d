//! The service wallet's balance (`GET /api/v2/wallets?wallet_type=service_wallet`): the
//! "test connection" call, which proves the API username and password and moves no money.
//! Answer documented at docs.payhero.co.ke, "GET: Service Wallet Balance":
//! `{"id","account_id","wallet_type":"service_wallet","currency":"KES","available_balance":15101.36,…}`.

use serde_json::Value;

/// The path of the wallet query, under the base URL.
pub(super) const WALLETS_PATH: &str = "/api/v2/wallets";

/// What a successful wallet answer says, in words for the owner: the wallet and its
/// balance. `None` when the answer is not the documented shape (no `available_balance`).
pub(super) fn wallet_said(body: &Value) -> Option<String> {
    let balance = body.get("available_balance").filter(|b| b.is_number() || b.is_string())?;
    let balance = balance.as_str().map_or_else(|| balance.to_string(), str::to_owned);
    let currency = body.get("currency").and_then(Value::as_str).unwrap_or("KES");
    let wallet = body.get("wallet_type").and_then(Value::as_str).unwrap_or("service_wallet").replace('_', " ");
    Some(format!("PayHero {wallet} balance {currency} {balance}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_documented_answer_reads_as_its_balance() {
        let body = json!({"id":22156,"account_id":22183,"wallet_type":"service_wallet","currency":"KES",
            "available_balance":15101.36,"created_at":"2024-01-12T08:36:38.209573Z","updated_at":"2024-01-15T12:40:33.157508Z"});
        assert_eq!(wallet_said(&body).as_deref(), Some("PayHero service wallet balance KES 15101.36"));
        assert_eq!(wallet_said(&json!({"available_balance": 0})).as_deref(), Some("PayHero service wallet balance KES 0"));
        assert_eq!(wallet_said(&json!({"success": true})), None);
    }
}
