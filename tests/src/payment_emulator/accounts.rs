//! The merchant accounts the emulator knows, one per provider, with test defaults.

/// Safaricom's public sandbox passkey for short code 174379.
pub const SANDBOX_PASSKEY: &str = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919";

/// The merchant accounts the emulator accepts requests for.
#[derive(Clone, Debug, Default)]
pub struct EmulatorAccounts {
    /// The merchant's own Daraja app and short code.
    pub daraja: DarajaAccount,
    /// A PayHero API key and payment channel.
    pub payhero: PayHeroAccount,
    /// A Paystack secret key and dashboard webhook.
    pub paystack: PaystackAccount,
}

/// A Daraja app plus the short code its passkey belongs to.
#[derive(Clone, Debug)]
pub struct DarajaAccount {
    /// OAuth consumer key (the Basic user name).
    pub consumer_key: String,
    /// OAuth consumer secret (the Basic password).
    pub consumer_secret: String,
    /// `BusinessShortCode`: the Paybill, or for a till the store (HO) number.
    pub short_code: String,
    /// Lipa Na M-Pesa Online passkey, part of `Password`.
    pub passkey: String,
    /// `None`: a Paybill (`CustomerPayBillOnline`, `PartyB` = short code). `Some(till)`: a
    /// Till (`CustomerBuyGoodsOnline`, `PartyB` = the till number).
    pub till: Option<String>,
}

impl Default for DarajaAccount {
    fn default() -> DarajaAccount {
        DarajaAccount {
            consumer_key: "ck_test".into(),
            consumer_secret: "cs_test".into(),
            short_code: "174379".into(),
            passkey: SANDBOX_PASSKEY.into(),
            till: None,
        }
    }
}

/// A PayHero API key and the channel payments are routed to.
#[derive(Clone, Debug)]
pub struct PayHeroAccount {
    /// API user name (the Basic user name).
    pub username: String,
    /// API password (the Basic password).
    pub password: String,
    /// The registered payment channel, `channel_id`.
    pub channel_id: u64,
    /// The channel is a PayHero wallet channel: pushes must name `provider: "sasapay"` and
    /// `network_code: "63902"`; otherwise an M-Pesa channel (`provider: "m-pesa"`).
    pub wallet_channel: bool,
}

impl Default for PayHeroAccount {
    fn default() -> PayHeroAccount {
        PayHeroAccount { username: "ph_user".into(), password: "ph_pass".into(), channel_id: 911, wallet_channel: false }
    }
}

/// A Paystack secret key and the webhook URL set on its dashboard.
#[derive(Clone, Debug)]
pub struct PaystackAccount {
    /// `sk_…`: the Bearer key and the webhook HMAC key.
    pub secret_key: String,
    /// Where `charge.success` events go; also settable later with
    /// [`PaymentEmulator::set_paystack_webhook`](super::PaymentEmulator::set_paystack_webhook).
    pub webhook_url: Option<String>,
}

impl Default for PaystackAccount {
    fn default() -> PaystackAccount {
        PaystackAccount { secret_key: "sk_test_jasiyo".into(), webhook_url: None }
    }
}

/// An emulator a provider's settings can point at: in this process
/// ([`PaymentEmulator`](super::PaymentEmulator)) or a child process
/// ([`PaymentProcess`](crate::payment_process::PaymentProcess)).
pub trait EmulatedProviders {
    /// The base URL for every provider.
    fn base_url(&self) -> String;
    /// The merchant accounts it accepts.
    fn accounts(&self) -> &EmulatorAccounts;
}

impl EmulatedProviders for super::PaymentEmulator {
    fn base_url(&self) -> String {
        super::PaymentEmulator::base_url(self)
    }

    fn accounts(&self) -> &EmulatorAccounts {
        super::PaymentEmulator::accounts(self)
    }
}
