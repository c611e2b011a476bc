//! The dashboard function as a browser uses it: signing in and out with secure cookies, API keys made and revoked,
//! and a sign-up confirmed through the mail SES sent.

use booking_core::ports::ApiKeyStore;
use serde_json::json;

use crate::support::dashboard::{
    DASHBOARD_ORIGIN, Page, browse, cookie_pair, csrf_in, input_value,
};
use crate::support::queue::delivered_job;
use crate::support::seed::{OWNER_PASSWORD, owner_with_password};
use crate::support::{Function, deploy};
use crate::{DASHBOARD, SYNC_WORKER};

/// The dashboard function's environment on a deployed stack; `sign_up` is the template's `SIGNUP` parameter, when set.
fn dashboard_environment(sign_up: Option<&str>) -> Vec<(String, String)> {
    let mut environment = vec![
        ("PUBLIC_BASE_URL".to_owned(), DASHBOARD_ORIGIN.to_owned()),
        ("OAUTH_STATE_KEY".to_owned(), "k".repeat(32)),
    ];
    environment.extend(sign_up.map(|policy| ("SIGNUP".to_owned(), policy.to_owned())));
    environment
}

/// `text` as a urlencoded form value (what the forms here are given: addresses, passwords with spaces, paths).
fn form_value(text: &str) -> String {
    text.replace('@', "%40")
        .replace(' ', "+")
        .replace('/', "%2F")
}

/// Opens `page` and submits its form to `action` as a browser would, with the page's form cookie and CSRF token ahead
/// of `fields` (urlencoded); the answer to the form.
async fn submit(dashboard: &Function, page: &str, action: &str, fields: &str) -> Page {
    let opened = browse(dashboard, "GET", page, "", None).await;
    assert_eq!(opened.status, 200, "{page}");
    let form = format!("csrf={}&{fields}", csrf_in(&opened.html));
    let form_cookie = cookie_pair(&opened.cookies, "__Host-form");
    browse(dashboard, "POST", action, &form_cookie, Some(&form)).await
}

async fn sign_in(dashboard: &Function, email: &str, password: &str, next: &str) -> Page {
    let fields = format!(
        "email={}&password={}&next={}",
        form_value(email),
        form_value(password),
        form_value(next)
    );
    submit(
        dashboard,
        "/dashboard/sign-in",
        "/dashboard/sign-in",
        &fields,
    )
    .await
}

#[tokio::test]
async fn dashboard_function_signs_in_with_secure_cookies_and_serves_pages_from_dynamodb() {
    let Some(deployment) = deploy().await else {
        return;
    };
    let business_id = owner_with_password(&deployment).await;
    let password = OWNER_PASSWORD;
    let dashboard =
        Function::start_with(DASHBOARD, &deployment, &dashboard_environment(None)).await;

    let page = browse(&dashboard, "GET", "/dashboard/appointments", "", None).await;
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/dashboard/sign-in?next=%2Fdashboard%2Fappointments")
    );

    let page = sign_in(
        &dashboard,
        "owner@harbour.test",
        password,
        "/dashboard/api-keys",
    )
    .await;
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/dashboard/api-keys")
    );
    let session = cookie_pair(&page.cookies, "__Host-session");
    // The browser, from here on, sends the session cookie with every request.
    let with_session = async |method: &str, path: &str, form: Option<&str>| {
        browse(&dashboard, method, path, &session, form).await
    };

    let page = with_session("GET", "/dashboard/api-keys", None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.html.contains("Harbour Physio") && page.html.contains("First key"),
        "{}",
        page.html
    );
    let csrf = csrf_in(&page.html);

    // A key made on the page authenticates; a form without the session's token changes nothing.
    let forged = Some("csrf=forged&name=Agent");
    let page = with_session("POST", "/dashboard/api-keys", forged).await;
    assert_eq!(page.status, 403);
    let form = format!("csrf={csrf}&name=Agent");
    let page = with_session("POST", "/dashboard/api-keys", Some(&form)).await;
    assert_eq!(page.status, 200);
    let key = input_value(&page.html, "id=\"new-key\" type=\"text\" readonly value=\"");
    let hash = booking_core::domain::ApiKeyHash::of(&key);
    let authenticates = async || {
        deployment
            .store
            .business_by_api_key(&hash)
            .await
            .unwrap()
            .is_some()
    };
    assert!(authenticates().await);
    let records = ApiKeyStore::list_api_keys(&deployment.store, business_id)
        .await
        .unwrap();
    assert_eq!(records.len(), 2);
    let agent = records
        .iter()
        .find(|record| record.name == "Agent")
        .unwrap();
    let revoke = format!("/dashboard/api-keys/{}/revoke", agent.id);
    let csrf_only = format!("csrf={csrf}");
    let page = with_session("POST", &revoke, Some(&csrf_only)).await;
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/dashboard/api-keys?notice=revoked")
    );
    assert!(!authenticates().await);

    // Signing out ends the session in DynamoDB.
    let page = with_session("POST", "/dashboard/sign-out", Some(&csrf_only)).await;
    assert_eq!(page.status, 303);
    let page = with_session("GET", "/dashboard/api-keys", None).await;
    assert_eq!(page.status, 303);
    assert!(page.location.starts_with("/dashboard/sign-in"));
    let logs = dashboard.output().await.join("\n");
    assert!(
        !logs.contains(password) && !logs.contains(&key),
        "no secret in the logs"
    );
}

#[tokio::test]
async fn a_business_signs_up_on_aws_and_confirms_through_the_link_ses_sent() {
    use booking_aws::emulators::moto::ses_messages;
    use booking_core::contract::mail::{link_in, messages_to};

    let Some(deployment) = deploy().await else {
        return;
    };
    // A deployed stack takes no sign-ups unless its template parameter opens them.
    let closed = Function::start_with(DASHBOARD, &deployment, &dashboard_environment(None)).await;
    assert_eq!(
        browse(&closed, "GET", "/dashboard/sign-up", "", None)
            .await
            .status,
        404
    );

    let dashboard =
        Function::start_with(DASHBOARD, &deployment, &dashboard_environment(Some("open"))).await;
    let owner = format!("owner-{}@salon.example.test", uuid::Uuid::new_v4().simple());
    let password = "harbour salon password";
    let fields = format!(
        "business_name=Harbour+Salon&time_zone=Europe%2FLisbon&email={}&password={}",
        form_value(&owner),
        form_value(password)
    );
    let page = submit(
        &dashboard,
        "/dashboard/sign-up",
        "/dashboard/sign-up",
        &fields,
    )
    .await;
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/dashboard/check-email?notice=signed_up")
    );

    // The confirmation went onto the real queue; the sync worker, given it as the SQS event source would, sends it.
    let job = delivered_job(&deployment).await;
    assert!(
        job["Records"][0]["body"]
            .as_str()
            .unwrap()
            .contains("send_email"),
        "{job}"
    );
    let worker = Function::start(SYNC_WORKER, &deployment).await;
    let response = worker.invoke(job).await.unwrap();
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");

    let sent = ses_messages(&deployment.moto_endpoint).await.unwrap();
    let sent = messages_to(&sent, &owner);
    assert_eq!(sent.len(), 1, "one confirmation through SES");
    assert!(sent[0].contains("no-reply@bookings.example.test"));
    let link = link_in(
        &sent[0],
        &format!("{DASHBOARD_ORIGIN}/dashboard/verify-email?token="),
    )
    .unwrap_or_else(|| panic!("no confirmation link in {}", sent[0]));
    let path = link.trim_start_matches(DASHBOARD_ORIGIN);
    let token = link.split("token=").nth(1).unwrap();

    // Following the link opens the confirmation page; its button confirms, and the owner signs in.
    let page = submit(
        &dashboard,
        path,
        "/dashboard/verify-email",
        &format!("token={token}"),
    )
    .await;
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/dashboard/sign-in?notice=email_verified")
    );
    let page = sign_in(&dashboard, &owner, password, "/dashboard/services").await;
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/dashboard/services")
    );
    let logs = [dashboard.output().await, worker.output().await]
        .concat()
        .join("\n");
    assert!(!logs.contains(token), "the link's token is not logged");
}
