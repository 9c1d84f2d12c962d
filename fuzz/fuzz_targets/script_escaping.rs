//! The install scripts' string escaping: no router name, agent token, API password, cloud
//! URL or download credential changes what a script does. `ros_string` reads back as its
//! input (line breaks as spaces), and each whole script (container install, token update,
//! hotspot pages install, the one-line install command) has the lines and commands of the
//! same script made from plain markers, with only the literals' values differing.
#![no_main]

use jasiyo_cloud::portal::container::{ContainerInstall, container_script, token_update_script};
use jasiyo_cloud::portal::hotspot::{PortalHost, install_command, install_script, ros_string};
use jasiyo_fuzz::{assert_same_meaning, fields, one_line, read_literal};
use jasiyo_shared::RouterId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let f = fields(data, 5);
    let (url, name, token, password, download) = (&f[0], &f[1], &f[2], &f[3], &f[4]);

    for text in &f {
        let literal = ros_string(text);
        let (value, rest) = read_literal(&literal).unwrap_or_else(|e| panic!("{e:?} reading {literal:?}"));
        assert_eq!(value, one_line(text));
        assert_eq!(rest, "");
    }

    let router = RouterId::new();
    let cloud_url = one_line(url.trim_end_matches('/'));
    let (name_v, token_v, password_v, download_v) = (one_line(name), one_line(token), one_line(password), one_line(download));
    let markers = [
        ("https://CLOUD0", cloud_url.as_str()),
        ("NAME0", name_v.as_str()),
        ("TOKEN0", token_v.as_str()),
        ("PASSWORD0", password_v.as_str()),
        ("DOWNLOAD0", download_v.as_str()),
    ];
    let install = |cloud_url, router_name, token, api_password| ContainerInstall { cloud_url, router, router_name, token, api_password };
    let fuzzed = install(url.as_str(), name.as_str(), token.as_str(), password.as_str());
    let reference = install("https://CLOUD0", "NAME0", "TOKEN0", "PASSWORD0");
    assert_same_meaning(&container_script(&fuzzed), &container_script(&reference), &markers);
    assert_same_meaning(&token_update_script(&fuzzed), &token_update_script(&reference), &markers);

    let portal = PortalHost::parse("https://pay.example").expect("a plain URL");
    assert_same_meaning(&install_script(&portal, router, name, download), &install_script(&portal, router, "NAME0", "DOWNLOAD0"), &markers);
    assert_same_meaning(&install_command(&portal, router, download), &install_command(&portal, router, "DOWNLOAD0"), &markers);
});
