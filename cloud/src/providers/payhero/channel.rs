//! Which kind of PayHero payment channel a `channel_id` names, and so what a push must say
//! it is (docs.payhero.co.ke, "Initiate M-Pesa STK Push"; the reference, section B.2).

use serde::{Deserialize, Serialize};

/// Which kind of PayHero payment channel `channel_id` names: the `provider` (and network
/// code) a push must name (reference B.2: `m-pesa` for an M-Pesa paybill or till channel,
/// `sasapay` with `network_code` `63902` for a PayHero wallet channel).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayHeroChannel {
    /// An M-Pesa paybill or till channel (`provider: "m-pesa"`), the default.
    #[default]
    Mpesa,
    /// A PayHero wallet channel (`provider: "sasapay"`, `network_code: "63902"`).
    Wallet,
}

impl PayHeroChannel {
    /// The push's `provider` field.
    pub fn provider_field(self) -> &'static str {
        match self {
            PayHeroChannel::Mpesa => "m-pesa",
            PayHeroChannel::Wallet => "sasapay",
        }
    }

    /// The push's `network_code` field, where the channel needs one.
    pub fn network_code(self) -> Option<&'static str> {
        match self {
            PayHeroChannel::Mpesa => None,
            PayHeroChannel::Wallet => Some("63902"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{ProviderConfig, Secret};

    #[test]
    fn payhero_settings_stored_without_a_channel_are_mpesa() {
        let old = serde_json::json!({"provider": "payhero", "username": "u", "password": "p", "channel_id": 7, "base_url": null});
        let config: ProviderConfig = serde_json::from_value(old).unwrap();
        assert!(matches!(config, ProviderConfig::Payhero { channel: PayHeroChannel::Mpesa, .. }), "{config:?}");
        let wallet = ProviderConfig::Payhero {
            username: Secret("u".into()),
            password: Secret("p".into()),
            channel_id: 7,
            channel: PayHeroChannel::Wallet,
            base_url: None,
        };
        let json = serde_json::to_value(&wallet).unwrap();
        assert_eq!(json["channel"], "wallet");
        assert_eq!(serde_json::from_value::<ProviderConfig>(json).unwrap(), wallet);
    }
}
