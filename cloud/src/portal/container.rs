//! The RouterOS script that installs the agent as a container on the router itself, in the
//! order that works on a real MikroTik (RouterOS 7.21 or later; `docs/routeros-notes.md`
//! has the sources):
//!
//! 1. Checks: the router's architecture has an image (arm64, arm, x86; MIPS and others get
//!    no containers: a sidecar instead), device-mode allows containers, and the image is on
//!    the disk.
//! 2. NTP on, so the router's clock (which the agent uses for expiries) is right.
//! 3. An API user `jasiyo` whose group has only `api,read,write,sensitive`, allowed only from
//!    the container's subnet, with a random password the script carries; the API service on.
//! 4. The container's network: a veth `172.17.0.2/24` on a `containers` bridge at
//!    `172.17.0.1`, a masquerade for its way out to the cloud, and an input rule letting it
//!    reach the API, placed above the first static input rule (or alone when there is none:
//!    `place-before` would fail on an empty filter table).
//! 5. The agent's settings in a file on the disk (`agent.env`, read through `JASIYO_ENV_FILE`),
//!    not in the container's own settings, which `/export` prints; the container from the
//!    uploaded image with its journal on the disk (`mount=`), run as `0:0` (RouterOS makes
//!    the mount owned by root),
//!    started on boot and restarted if it stops, logging to the router's log; started only
//!    once the image is unpacked.
//!
//! Everything it adds carries the comment `jasiyo agent`; running it again changes nothing
//! that is already in place, and refuses (with what to run) when the container exists.

use jasiyo_shared::RouterId;
use rand::Rng;

use super::hotspot::ros_string;

/// The comment on everything the script adds.
const MARK: &str = "jasiyo agent";

/// What a router's container script is made from.
pub struct ContainerInstall<'a> {
    /// How the agent reaches the cloud (`https://cloud.example`).
    pub cloud_url: &'a str,
    /// The router.
    pub router: RouterId,
    /// Its name, for the script's heading.
    pub router_name: &'a str,
    /// Its agent token.
    pub token: &'a str,
    /// The password the script gives the router's API user (see [`api_password`]).
    pub api_password: &'a str,
}

/// A new password for the router's API user: 24 letters and digits.
pub fn api_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..24).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// The script (see the module's documentation). It holds the agent token and the API
/// password: show it once, and it says to remove it from the router once run.
pub fn container_script(install: &ContainerInstall<'_>) -> String {
    let name = printable(install.router_name);
    format!(
        "# Jasiyo agent for router {name} ({router}), as a RouterOS container (RouterOS 7.21 or later).\n\
         # Before running it:\n\
         #  - device-mode allows containers: /system/device-mode/print shows container: yes. If not, run\n\
         #    /system/device-mode/update container=yes fetch=yes hotspot=yes and press the reset button\n\
         #    (or cut the power) within 5 minutes.\n\
         #  - the container package is installed (/system/package/print).\n\
         #  - the image for this router's architecture (/system/resource/print: architecture-name) is\n\
         #    uploaded to the disk named below (an ext4 USB or NVMe disk where the router has one):\n\
         #    arm64 -> jasiyo-agent-arm64.tar, arm -> jasiyo-agent-arm.tar, x86 -> jasiyo-agent-amd64.tar.\n\
         # This script holds the agent token and the API password: delete it from the router once it\n\
         # has run. The container's settings (the token too) show in /export: keep exports private.\n\
         {{\n\
         :local disk \"usb1\"\n\
         :local arch [/system/resource/get architecture-name]\n\
         :local image \"\"\n\
         :if ($arch = \"arm64\") do={{ :set image \"jasiyo-agent-arm64.tar\" }}\n\
         :if ($arch = \"arm\") do={{ :set image \"jasiyo-agent-arm.tar\" }}\n\
         :if ($arch = \"x86\") do={{ :set image \"jasiyo-agent-amd64.tar\" }}\n\
         :if ($image = \"\") do={{ :error (\"This router (\" . $arch . \") cannot run containers: run the agent on a sidecar.\") }}\n\
         :local mode [:tostr [/system/device-mode/get container]]\n\
         :if ($mode != \"true\" && $mode != \"yes\") do={{ :error {device_mode} }}\n\
         :if ([:len [/file find where name=($disk . \"/\" . $image)]] = 0) do={{ :error (\"Upload \" . $image . \" to \" . $disk . \" first (or set disk at the top of this script).\") }}\n\
         :if ([:len [/container find where comment=\"{MARK}\"]] > 0) do={{ :error {exists} }}\n\
         \n\
         :if ([:len [/system ntp client get servers]] = 0) do={{ /system ntp client set servers=0.pool.ntp.org,1.pool.ntp.org }}\n\
         /system ntp client set enabled=yes\n\
         \n\
         :local password {password}\n\
         :if ([:len [/user group find where name=\"jasiyo\"]] = 0) do={{ /user group add name=jasiyo policy=api,read,write,sensitive comment=\"{MARK}\" }}\n\
         /user group set [find where name=\"jasiyo\"] policy=api,read,write,sensitive\n\
         :if ([:len [/user find where name=\"jasiyo\"]] = 0) do={{\n\
         \x20 /user add name=jasiyo group=jasiyo password=$password address=172.17.0.0/24 comment=\"{MARK}\"\n\
         }} else={{\n\
         \x20 /user set [find where name=\"jasiyo\"] group=jasiyo password=$password address=172.17.0.0/24\n\
         }}\n\
         /ip service set [find where name=\"api\"] disabled=no\n\
         \n\
         :if ([:len [/interface veth find where name=\"veth-jasiyo\"]] = 0) do={{\n\
         \x20 /interface veth add name=veth-jasiyo address=172.17.0.2/24 gateway=172.17.0.1 comment=\"{MARK}\"\n\
         }}\n\
         :if ([:len [/interface bridge find where name=\"containers\"]] = 0) do={{ /interface bridge add name=containers comment=\"{MARK}\" }}\n\
         :if ([:len [/interface bridge port find where interface=\"veth-jasiyo\"]] = 0) do={{ /interface bridge port add bridge=containers interface=veth-jasiyo }}\n\
         :if ([:len [/ip address find where address=\"172.17.0.1/24\"]] = 0) do={{ /ip address add address=172.17.0.1/24 interface=containers comment=\"{MARK}\" }}\n\
         /ip firewall nat remove [find where comment=\"{MARK}\"]\n\
         /ip firewall nat add chain=srcnat action=masquerade src-address=172.17.0.0/24 comment=\"{MARK}\"\n\
         /ip firewall filter remove [find where comment=\"{MARK}\"]\n\
         :local first [/ip firewall filter find where chain=\"input\" dynamic=no]\n\
         :if ([:len $first] > 0) do={{\n\
         \x20 /ip firewall filter add chain=input src-address=172.17.0.0/24 protocol=tcp dst-port=8728 action=accept comment=\"{MARK}\" place-before=[:pick $first 0]\n\
         }} else={{\n\
         \x20 /ip firewall filter add chain=input src-address=172.17.0.0/24 protocol=tcp dst-port=8728 action=accept comment=\"{MARK}\"\n\
         }}\n\
         \n\
         # The agent's settings (the token among them) go in a file on the disk, not in the\n\
         # container's settings, which /export prints.\n\
         :if ([:len [/file find where name=($disk . \"/jasiyo-data\")]] = 0) do={{ /file add name=($disk . \"/jasiyo-data\") type=directory }}\n\
         /file remove [find where name=($disk . \"/jasiyo-data/agent.env\")]\n\
         /file add name=($disk . \"/jasiyo-data/agent.env\") contents={settings}\n\
         /container add file=($disk . \"/\" . $image) interface=veth-jasiyo root-dir=($disk . \"/jasiyo-agent\") \\\n\
         \x20   env=\"JASIYO_ENV_FILE=/data/agent.env\" mount=(\"src=\" . $disk . \"/jasiyo-data,dst=/data\") \\\n\
         \x20   user=0:0 logging=yes start-on-boot=yes memory-high=64M comment=\"{MARK}\"\n\
         :local id [/container find where comment=\"{MARK}\"]\n\
         # Restart the agent should it ever stop; the setting was renamed in 7.23, so each name is\n\
         # tried through :parse (an unknown name is then an error to catch, not a syntax error).\n\
         :do {{\n\
         \x20 :local restart [:parse \"/container set [find where comment=\\\"{MARK}\\\"] restart-policy=always restart-interval=10s\"]\n\
         \x20 $restart\n\
         }} on-error={{\n\
         \x20 :do {{\n\
         \x20   :local restart [:parse \"/container set [find where comment=\\\"{MARK}\\\"] auto-restart-interval=10s\"]\n\
         \x20   $restart\n\
         \x20 }} on-error={{ :put \"Automatic restarts could not be turned on: set them in /container if this RouterOS has them.\" }}\n\
         }}\n\
         :local waited 0\n\
         :while ([/container get $id status] != \"stopped\" && $waited < 300) do={{ :delay 1s; :set waited ($waited + 1) }}\n\
         :if ([/container get $id status] != \"stopped\") do={{ :error {unpack} }}\n\
         /container start $id\n\
         :put \"Jasiyo agent started: the router shows as online on the dashboard within a minute.\"\n\
         }}\n",
        router = install.router,
        device_mode = ros_string(
            "device-mode does not allow containers: run /system/device-mode/update container=yes fetch=yes hotspot=yes \
             and press the reset button (or cut the power) within 5 minutes, then run this again."
        ),
        exists = ros_string(
            "A Jasiyo agent container exists already. To install it again: /container stop [find where comment=\"jasiyo agent\"], \
             then /container remove [find where comment=\"jasiyo agent\"], then run this again."
        ),
        password = ros_string(install.api_password),
        settings = settings_file(install),
        unpack = ros_string("The image did not unpack in 5 minutes: see /log/print where topics~\"container\""),
    )
}

/// The script a router's owner runs after giving the router a new token: the settings file of
/// the container the install script made gets the new token (and its API user a new
/// password), and the container restarts.
pub fn token_update_script(install: &ContainerInstall<'_>) -> String {
    format!(
        "# New agent token for router {name} ({router}): rewrites the settings file of the agent container\n\
         # that the Jasiyo install script made, and restarts it. A sidecar: set JASIYO_TOKEN in its settings instead.\n\
         # This script holds the token: delete it from the router once it has run.\n\
         {{\n\
         :local id [/container find where comment=\"{MARK}\"]\n\
         :local settings [/file find where name~\"jasiyo-data/agent.env\\$\"]\n\
         :if ([:len $id] = 0 || [:len $settings] = 0) do={{ :error \"No Jasiyo agent container on this router: run the install script instead.\" }}\n\
         /user set [find where name=\"jasiyo\"] password={password}\n\
         /file set $settings contents={settings}\n\
         /container stop $id\n\
         :local waited 0\n\
         :while ([/container get $id status] != \"stopped\" && $waited < 60) do={{ :delay 1s; :set waited ($waited + 1) }}\n\
         /container start $id\n\
         :put \"Jasiyo agent restarted with its new token.\"\n\
         }}\n",
        name = printable(install.router_name),
        router = install.router,
        password = ros_string(install.api_password),
        settings = settings_file(install),
    )
}

/// The agent's settings file (`JASIYO_ENV_FILE`, see the agent's `env_file`), as a RouterOS
/// string literal: one `NAME=value` a line.
fn settings_file(install: &ContainerInstall<'_>) -> String {
    let lines = [
        format!("JASIYO_CLOUD_URL={}", install.cloud_url.trim_end_matches('/')),
        format!("JASIYO_ROUTER_ID={}", install.router),
        format!("JASIYO_TOKEN={}", install.token),
        "JASIYO_ROUTEROS_ADDR=172.17.0.1:8728".to_string(),
        "JASIYO_ROUTEROS_USER=jasiyo".to_string(),
        format!("JASIYO_ROUTEROS_PASSWORD={}", install.api_password),
        "JASIYO_DATA_DIR=/data".to_string(),
    ];
    // Each line's literal without its own quotes: exactly one off each end (a line ending in
    // an escaped `"` keeps its backslash's partner).
    let escaped: Vec<String> = lines
        .iter()
        .map(|line| {
            let literal = ros_string(line);
            literal.strip_prefix('"').and_then(|l| l.strip_suffix('"')).unwrap_or(&literal).to_string()
        })
        .collect();
    format!("\"{}\\n\"", escaped.join("\\n"))
}

/// A name without control characters (it goes in a comment line).
fn printable(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_and_plain() {
        let a = api_password();
        assert_eq!(a.len(), 24);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, api_password());
    }

    #[test]
    fn the_script_carries_the_settings_once_and_marks_what_it_adds() {
        let router = RouterId::new();
        let script = container_script(&ContainerInstall {
            cloud_url: "https://pay.example/",
            router,
            router_name: "shop\n/system reset",
            token: "tok123",
            api_password: "pw456",
        });
        assert!(
            script
                .contains(&format!("contents=\"JASIYO_CLOUD_URL=https://pay.example\\nJASIYO_ROUTER_ID={router}\\nJASIYO_TOKEN=tok123\\n"))
        );
        assert!(script.contains("JASIYO_ROUTEROS_PASSWORD=pw456\\n"));
        assert!(script.contains("env=\"JASIYO_ENV_FILE=/data/agent.env\""), "the token is not in the container's settings");
        assert_eq!(script.matches("tok123").count(), 1);
        assert!(!script.contains("\n/system reset"), "a name cannot add a line");
        assert!(script.contains("user=0:0"));
    }

    /// Found by the `script_escaping` fuzz target: a value ending in `"` lost its closing
    /// quote's escape partner, leaving a `\` that ate the line break after it, so the
    /// agent's settings file ran two settings together.
    #[test]
    fn a_value_ending_in_a_quote_keeps_its_line() {
        let router = RouterId::new();
        let script = token_update_script(&ContainerInstall {
            cloud_url: "https://pay.example/\"",
            router,
            router_name: "r",
            token: "tok\"",
            api_password: "pw\"",
        });
        let contents = format!(
            "contents=\"JASIYO_CLOUD_URL=https://pay.example/\\\"\\nJASIYO_ROUTER_ID={router}\\nJASIYO_TOKEN=tok\\\"\\n\
             JASIYO_ROUTEROS_ADDR=172.17.0.1:8728\\nJASIYO_ROUTEROS_USER=jasiyo\\nJASIYO_ROUTEROS_PASSWORD=pw\\\"\\n\
             JASIYO_DATA_DIR=/data\\n\"\n"
        );
        assert!(script.contains(&contents), "{script}");
        assert!(script.contains("password=\"pw\\\"\"\n"), "{script}");
    }
}
