//! Hotspot user profiles (`/ip/hotspot/user/profile`): what a plan's users share, their
//! speed (`rate-limit`) and how many devices may use one login at once (`shared-users`).
//! Only profiles whose names start with [`HotspotProfile::PREFIX`] are ever written.

use jasiyo_shared::HotspotProfile;

use super::error::ApiError;
use super::router::Router;
use super::sentence::Request;

const PROFILES: &str = "/ip/hotspot/user/profile";

/// A user profile as the router has it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileRow {
    /// RouterOS `.id`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `rate-limit`, if set.
    pub rate_limit: Option<String>,
    /// `shared-users` as printed (`1`, `3`, `unlimited`).
    pub shared_users: Option<String>,
}

impl ProfileRow {
    fn from_attributes(row: &[(String, String)]) -> ProfileRow {
        let get = |name: &str| row.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        ProfileRow {
            id: get(".id").unwrap_or_default(),
            name: get("name").unwrap_or_default(),
            rate_limit: get("rate-limit").filter(|r| !r.is_empty()),
            shared_users: get("shared-users"),
        }
    }

    /// Whether the router already has the profile as `profile` wants it.
    pub fn matches(&self, profile: &HotspotProfile) -> bool {
        self.rate_limit == profile.rate_limit && self.shared_users.as_deref() == Some(profile.shared_users.to_string().as_str())
    }
}

fn profile_args(request: Request, profile: &HotspotProfile) -> Request {
    request.attr("rate-limit", profile.rate_limit.clone().unwrap_or_default()).attr("shared-users", profile.shared_users.to_string())
}

impl Router {
    /// The user profile with this name, if the router has one.
    pub async fn find_profile(&self, name: &str) -> Result<Option<ProfileRow>, ApiError> {
        let response = self.call(Request::new(format!("{PROFILES}/print")).query(format!("name={name}"))).await?;
        Ok(response.rows.iter().map(|r| ProfileRow::from_attributes(r)).find(|p| p.name == name))
    }

    /// Creates the profile.
    pub async fn add_profile(&self, profile: &HotspotProfile) -> Result<(), ApiError> {
        self.call(profile_args(Request::new(format!("{PROFILES}/add")).attr("name", profile.name.clone()), profile)).await.map(drop)
    }

    /// Brings the profile with this `.id` to `profile`.
    pub async fn set_profile(&self, id: &str, profile: &HotspotProfile) -> Result<(), ApiError> {
        self.call(profile_args(Request::new(format!("{PROFILES}/set")).attr(".id", id), profile)).await.map(drop)
    }
}
