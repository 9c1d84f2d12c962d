//! The dashboard's mail through the real binary and a real SMTP conversation: an owner who
//! forgot their password asks for a link, the cloud (`serve --smtp-url`) mails it, and the
//! link, opened once, sets a new password that signs in.

use std::time::Duration;

use jasiyo_tests::processes::CloudProcess;
use jasiyo_tests::smtp_server::SmtpServer;
use reqwest::StatusCode;
use reqwest::redirect::Policy;

/// Posts a form; returns the status, the `Location` and the session cookie set, if any.
async fn post(client: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> (StatusCode, String, Option<String>) {
    let response = client.post(url).form(form).send().await.expect("the cloud answers");
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let cookie =
        response.headers().get("set-cookie").and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()).map(|v| v.to_string());
    (response.status(), location, cookie)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_password_is_reset_by_mail() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut smtp = SmtpServer::start().await;
    let database = format!("sqlite://{}", dir.path().join("cloud.db").display());
    let url = smtp.url();
    let envs = [("JASIYO_SMTP_URL", url.as_str()), ("JASIYO_MAIL_FROM", "Jasiyo <noreply@jasiyo.test>")];
    let cloud = CloudProcess::spawn_with(&database, dir.path(), "127.0.0.1:0", &envs).await;
    let base = format!("http://{}", cloud.addr);
    let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();

    let signup = [
        ("business", "Mail Test"),
        ("name", "Achieng"),
        ("email", "achieng@example.com"),
        ("phone", "0712345678"),
        ("password", "first-pass"),
    ];
    let (status, location, cookie) = post(&client, &format!("{base}/dashboard/signup"), &signup).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/dashboard"));
    assert!(cookie.is_some());

    let (status, _, _) = post(&client, &format!("{base}/dashboard/forgot"), &[("email", "achieng@example.com")]).await;
    assert_eq!(status, StatusCode::OK);
    let mail = smtp.next_mail(Duration::from_secs(20)).await.expect("the reset mail arrives");
    assert_eq!(mail.to, ["achieng@example.com"]);
    assert_eq!(mail.from, "noreply@jasiyo.test");
    let text = mail.text();
    assert!(text.contains("Subject: Reset your Jasiyo password"), "{text}");
    let start = text.find(&format!("{base}/dashboard/reset/")).expect("the link, addressed to this cloud");
    let link: String = text[start..].chars().take_while(|c| !c.is_whitespace()).collect();

    // An unknown address gets the same page and no mail.
    let (status, _, _) = post(&client, &format!("{base}/dashboard/forgot"), &[("email", "nobody@example.com")]).await;
    assert_eq!(status, StatusCode::OK);

    let (status, location, cookie) = post(&client, &link, &[("password", "second-pass")]).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/dashboard"), "the link signs in");
    assert!(cookie.is_some());
    let (status, _, _) = post(&client, &link, &[("password", "third-pass!")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a link works once");
    let signin = |password| [("email", "achieng@example.com"), ("password", password)];
    assert_eq!(post(&client, &format!("{base}/dashboard/login"), &signin("first-pass")).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(post(&client, &format!("{base}/dashboard/login"), &signin("second-pass")).await.1, "/dashboard");
    // Mail is handed to the server before the page answers: none for the unknown address.
    assert!(smtp.try_next_mail().is_none(), "nothing was mailed for the unknown address");
    cloud.kill().await;
}
