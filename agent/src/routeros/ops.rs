//! Typed operations on the router: the only place that knows RouterOS menu paths and
//! argument names. Everything above speaks in [`UserSpec`]s and MAC addresses.

use std::net::Ipv4Addr;

use jasiyo_shared::MacAddress;

use super::client::Response;
use super::error::ApiError;
use super::router::Router;
use super::sentence::Request;
use super::time::{format_interval, parse_interval};

const USERS: &str = "/ip/hotspot/user";
const ACTIVE: &str = "/ip/hotspot/active";
const COOKIES: &str = "/ip/hotspot/cookie";
const HOSTS: &str = "/ip/hotspot/host";

/// A hotspot user as we want it on the router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSpec {
    /// Login name.
    pub name: String,
    /// Password.
    pub password: String,
    /// Profile (`default` when none is wanted).
    pub profile: String,
    /// Bound device, if any.
    pub mac: Option<MacAddress>,
    /// Cumulative online time allowed, in seconds.
    pub limit_uptime_secs: Option<u64>,
    /// Bytes allowed, in and out.
    pub limit_bytes_total: Option<u64>,
    /// The full comment, marker included.
    pub comment: String,
}

/// A hotspot user as the router has it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserRow {
    /// RouterOS `.id` (`*1A`).
    pub id: String,
    /// Login name.
    pub name: String,
    /// Password (RouterOS prints it to API users with the `sensitive` policy).
    pub password: Option<String>,
    /// Profile.
    pub profile: Option<String>,
    /// Bound device.
    pub mac: Option<MacAddress>,
    /// Cumulative online time allowed, in seconds (`None` or 0: no limit).
    pub limit_uptime_secs: Option<u64>,
    /// Bytes allowed (`None` or 0: no limit).
    pub limit_bytes_total: Option<u64>,
    /// Comment.
    pub comment: Option<String>,
    /// Bytes the router received from the user's devices (`bytes-in`: their upload).
    pub bytes_in: Option<u64>,
    /// Bytes the router sent to the user's devices (`bytes-out`: their download).
    pub bytes_out: Option<u64>,
}

impl UserRow {
    fn from_attributes(row: &[(String, String)]) -> UserRow {
        let get = |name: &str| row.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        UserRow {
            id: get(".id").unwrap_or_default(),
            name: get("name").unwrap_or_default(),
            password: get("password"),
            profile: get("profile"),
            mac: get("mac-address").and_then(|m| m.parse().ok()).filter(|m: &MacAddress| m.0 != [0; 6]),
            limit_uptime_secs: get("limit-uptime").and_then(|v| parse_interval(&v)).filter(|&s| s > 0),
            limit_bytes_total: get("limit-bytes-total").and_then(|v| v.parse().ok()).filter(|&b| b > 0),
            comment: get("comment"),
            bytes_in: get("bytes-in").and_then(|v| v.parse().ok()),
            bytes_out: get("bytes-out").and_then(|v| v.parse().ok()),
        }
    }

    /// Whether the router already has the user exactly as `spec` wants it. A password the
    /// router did not print is not counted as a difference.
    pub fn matches(&self, spec: &UserSpec) -> bool {
        self.name == spec.name
            && self.password.as_ref().is_none_or(|p| *p == spec.password)
            && self.profile.as_deref().unwrap_or("default") == spec.profile
            && self.mac == spec.mac
            && self.limit_uptime_secs == spec.limit_uptime_secs.filter(|&s| s > 0)
            && self.limit_bytes_total == spec.limit_bytes_total.filter(|&b| b > 0)
            && self.comment.as_deref().unwrap_or("") == spec.comment
    }
}

/// A device logged in to the hotspot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveSession {
    /// RouterOS `.id`.
    pub id: String,
    /// The hotspot user.
    pub user: String,
    /// The device.
    pub mac: Option<MacAddress>,
}

/// What `/system/resource` and `/system/identity` say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouterInfo {
    /// Identity name.
    pub identity: Option<String>,
    /// RouterOS version.
    pub version: Option<String>,
    /// Board name.
    pub board: Option<String>,
    /// Uptime in seconds.
    pub uptime_secs: Option<u64>,
    /// CPU load, percent.
    pub cpu_load: Option<u8>,
    /// Free memory, bytes.
    pub free_memory: Option<u64>,
}

fn user_args(request: Request, spec: &UserSpec) -> Request {
    request
        .attr("name", spec.name.clone())
        .attr("password", spec.password.clone())
        .attr("profile", spec.profile.clone())
        .attr("mac-address", spec.mac.map_or("00:00:00:00:00:00".to_string(), |m| m.to_string()))
        .attr("limit-uptime", format_interval(spec.limit_uptime_secs.unwrap_or(0)))
        .attr("limit-bytes-total", spec.limit_bytes_total.unwrap_or(0).to_string())
        .attr("comment", spec.comment.clone())
}

fn rows<T>(response: Response, f: impl Fn(&[(String, String)]) -> T) -> Vec<T> {
    response.rows.iter().map(|r| f(r)).collect()
}

impl Router {
    /// The user with this name, if the router has one.
    pub async fn find_user(&self, name: &str) -> Result<Option<UserRow>, ApiError> {
        let response = self.call(Request::new(format!("{USERS}/print")).query(format!("name={name}"))).await?;
        Ok(rows(response, UserRow::from_attributes).into_iter().find(|u| u.name == name))
    }

    /// Every hotspot user.
    pub async fn users(&self) -> Result<Vec<UserRow>, ApiError> {
        Ok(rows(self.call(Request::new(format!("{USERS}/print"))).await?, UserRow::from_attributes))
    }

    /// Creates the user; returns its `.id`.
    pub async fn add_user(&self, spec: &UserSpec) -> Result<String, ApiError> {
        let response = self.call(user_args(Request::new(format!("{USERS}/add")), spec)).await?;
        Ok(response.ret().unwrap_or_default().to_string())
    }

    /// Brings the user with this `.id` to `spec`.
    pub async fn set_user(&self, id: &str, spec: &UserSpec) -> Result<(), ApiError> {
        self.call(user_args(Request::new(format!("{USERS}/set")).attr(".id", id), spec)).await.map(drop)
    }

    /// Removes the user with this `.id`.
    pub async fn remove_user(&self, id: &str) -> Result<(), ApiError> {
        self.call(Request::new(format!("{USERS}/remove")).attr(".id", id)).await.map(drop)
    }

    /// Active sessions of a user or of a device.
    pub async fn active_sessions(&self, user: Option<&str>, mac: Option<MacAddress>) -> Result<Vec<ActiveSession>, ApiError> {
        let mut request = Request::new(format!("{ACTIVE}/print"));
        if let Some(user) = user {
            request = request.query(format!("user={user}"));
        }
        if let Some(mac) = mac {
            request = request.query(format!("mac-address={mac}"));
        }
        let response = self.call(request).await?;
        Ok(rows(response, |r| {
            let get = |name: &str| r.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
            ActiveSession {
                id: get(".id").unwrap_or_default(),
                user: get("user").unwrap_or_default(),
                mac: get("mac-address").and_then(|m| m.parse().ok()),
            }
        }))
    }

    /// The sessions of devices on the free trial (`login-by=trial`, users `T-<MAC>`).
    pub async fn trial_sessions(&self) -> Result<Vec<ActiveSession>, ApiError> {
        let response = self.call(Request::new(format!("{ACTIVE}/print")).query("login-by=trial")).await?;
        Ok(rows(response, |r| {
            let get = |name: &str| r.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
            ActiveSession {
                id: get(".id").unwrap_or_default(),
                user: get("user").unwrap_or_default(),
                mac: get("mac-address").and_then(|m| m.parse().ok()),
            }
        })
        .into_iter()
        .filter(|s| s.user.starts_with(jasiyo_shared::TRIAL_USER_PREFIX))
        .collect())
    }

    /// How many devices are logged in.
    pub async fn active_count(&self) -> Result<u32, ApiError> {
        let response = self.call(Request::new(format!("{ACTIVE}/print")).attr("count-only", "")).await?;
        Ok(response.ret().and_then(|n| n.parse().ok()).unwrap_or(0))
    }

    /// Ends one session.
    pub async fn remove_active(&self, id: &str) -> Result<(), ApiError> {
        self.call(Request::new(format!("{ACTIVE}/remove")).attr(".id", id)).await.map(drop)
    }

    /// Logs a device in as `user` without a browser (the device must be seen by the hotspot).
    pub async fn login_device(&self, user: &str, password: &str, mac: MacAddress, ip: Ipv4Addr) -> Result<(), ApiError> {
        let request = Request::new(format!("{ACTIVE}/login"))
            .attr("user", user)
            .attr("password", password)
            .attr("mac-address", mac.to_string())
            .attr("ip", ip.to_string());
        self.call(request).await.map(drop)
    }

    /// Where the hotspot sees a device now (`/ip/hotspot/host`): `Some(address)`, or `None`
    /// when it does not see it (the device left, or has not come back since a reboot, which
    /// empties the host table).
    pub async fn host_address(&self, mac: MacAddress) -> Result<Option<Ipv4Addr>, ApiError> {
        let request = Request::new(format!("{HOSTS}/print")).attr(".proplist", "mac-address,address").query(format!("mac-address={mac}"));
        let response = self.call(request).await?;
        let address = |r: &[(String, String)]| r.iter().find(|(n, _)| n == "address").and_then(|(_, v)| v.parse().ok());
        Ok(rows(response, address).into_iter().flatten().next())
    }

    /// Removes the hotspot's remembered cookies of a user or device (so it is not logged
    /// straight back in).
    pub async fn remove_cookies(&self, user: Option<&str>, mac: Option<MacAddress>) -> Result<usize, ApiError> {
        let mut request = Request::new(format!("{COOKIES}/print"));
        if let Some(user) = user {
            request = request.query(format!("user={user}"));
        }
        if let Some(mac) = mac {
            request = request.query(format!("mac-address={mac}"));
        }
        let ids: Vec<String> =
            rows(self.call(request).await?, |r| r.iter().find(|(n, _)| n == ".id").map(|(_, v)| v.clone()).unwrap_or_default());
        for id in &ids {
            match self.call(Request::new(format!("{COOKIES}/remove")).attr(".id", id.clone())).await {
                Ok(_) => {}
                Err(e) if e.is_trap_containing("no such item") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ids.len())
    }

    /// Ends every session of `user` (or of `mac`) and forgets their cookies.
    pub async fn end_sessions(&self, user: Option<&str>, mac: Option<MacAddress>) -> Result<usize, ApiError> {
        let sessions = self.active_sessions(user, mac).await?;
        for session in &sessions {
            match self.remove_active(&session.id).await {
                Ok(()) => {}
                // It logged out by itself meanwhile.
                Err(e) if e.is_trap_containing("no such item") => {}
                Err(e) => return Err(e),
            }
        }
        self.remove_cookies(user, mac).await?;
        Ok(sessions.len())
    }

    /// Identity and resources, for status reports.
    pub async fn info(&self) -> Result<RouterInfo, ApiError> {
        let identity = self.call(Request::new("/system/identity/print")).await?;
        let resource =
            self.call(Request::new("/system/resource/print").attr(".proplist", "uptime,version,board-name,cpu-load,free-memory")).await?;
        let row = resource.rows.first().cloned().unwrap_or_default();
        let get = |name: &str| row.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        Ok(RouterInfo {
            identity: identity.rows.first().and_then(|r| r.iter().find(|(n, _)| n == "name")).map(|(_, v)| v.clone()),
            version: get("version"),
            board: get("board-name"),
            uptime_secs: get("uptime").and_then(|u| parse_interval(&u)),
            cpu_load: get("cpu-load").and_then(|c| c.parse().ok()),
            free_memory: get("free-memory").and_then(|m| m.parse().ok()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::UserRow;

    fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_users_counters_are_read_from_print() {
        let row =
            UserRow::from_attributes(&attrs(&[(".id", "*1"), ("name", "KX7Q2M"), ("bytes-in", "1100000"), ("bytes-out", "12400000")]));
        assert_eq!((row.bytes_in, row.bytes_out), (Some(1_100_000), Some(12_400_000)));
        let row = UserRow::from_attributes(&attrs(&[(".id", "*2"), ("name", "X"), ("bytes-in", "lots")]));
        assert_eq!((row.bytes_in, row.bytes_out), (None, None), "unreadable or missing: unknown, not zero");
    }
}
