//! The cloud's identifiers: one macro for every UUID newtype, so each id has the same
//! Display, FromStr and serde shape. Router and command ids are the protocol's own
//! (`jasiyo_shared`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random id.
            pub fn random() -> Self {
                $name(Uuid::new_v4())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map($name)
            }
        }
    };
}

uuid_id!(
    /// Identifies a tenant (a router owner).
    TenantId
);
uuid_id!(
    /// Identifies a plan.
    PlanId
);
uuid_id!(
    /// Identifies a payment; unguessable, so it also serves as the portal's handle on it.
    PaymentId
);
uuid_id!(
    /// Identifies a dashboard account (an owner, staff member or operator).
    AccountId
);
uuid_id!(
    /// Identifies a voucher batch.
    VoucherBatchId
);
