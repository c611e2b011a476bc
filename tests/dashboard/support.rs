//! A person at the dashboard without a browser: a client that keeps its cookies and does not follow redirects, so
//! tests see every 303.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use booking_core::app::accounts;
use booking_core::contract::mail::first_link;
use booking_core::ports::{Account, Email, Job, ProviderKind, SignInEmail};
use integration_tests::TestApp;
use integration_tests::emulators::google::{self, GoogleEmulator};
use reqwest::{Client, Response, StatusCode};
use secrecy::ExposeSecret;

pub const PASSWORD: &str = "a long enough password";

pub struct Visitor<'a> {
    pub app: &'a TestApp,
    client: Client,
    cookies: Mutex<BTreeMap<String, String>>,
    /// Sent as `Origin` with every POST, as a browser does; `None` sends none.
    pub origin: Option<String>,
}

/// The value of the hidden `csrf` field of a page.
pub fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a form with a csrf field") + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

impl<'a> Visitor<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Mutex::default(),
            origin: Some(format!("http://{}", app.address)),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&self, response: &Response) {
        for header in response.headers().get_all("set-cookie") {
            let text = header.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let mut cookies = self.cookies.lock().unwrap();
            if value.is_empty() || text.contains("Max-Age=0") {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub fn session_cookie(&self) -> Option<String> {
        self.cookies.lock().unwrap().get("__Host-session").cloned()
    }

    pub fn set_session_cookie(&self, value: &str) {
        self.cookies
            .lock()
            .unwrap()
            .insert("__Host-session".to_owned(), value.to_owned());
    }

    pub async fn get(&self, path: &str) -> Response {
        let response = self
            .client
            .get(self.app.url(path))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        response
    }

    pub async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let mut request = self
            .client
            .post(self.app.url(path))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).unwrap());
        if let Some(origin) = &self.origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.unwrap();
        self.keep_cookies(&response);
        response
    }

    /// Sends `body` as it is, with `content_type` (or none) and the visitor's cookies and origin: what a browser's
    /// form would never send.
    pub async fn send_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.app.url(path))
            .header("cookie", self.cookie_header())
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(origin) = &self.origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.unwrap();
        self.keep_cookies(&response);
        response
    }

    /// Posts a form of the page at `page_path` with that page's CSRF token, as the browser would.
    pub async fn submit(&self, page_path: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let token = csrf_of(&self.page(page_path).await);
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    /// Chooses `password` (typed twice) on the password page at `page` (set or reset) opened from a link with
    /// `token`.
    pub async fn choose_password(&self, page: &str, token: &str, password: &str) -> Response {
        let fields = [
            ("token", token),
            ("password", password),
            ("confirm", password),
        ];
        self.submit(&format!("{page}?token={token}"), page, &fields)
            .await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Response {
        self.submit(
            "/dashboard/sign-in",
            "/dashboard/sign-in",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Asks for a password-reset link for `email` through the forgot-password page.
    pub async fn forgot_password(&self, email: &str) -> Response {
        self.submit(
            "/dashboard/forgot-password",
            "/dashboard/forgot-password",
            &[("email", email)],
        )
        .await
    }

    /// Asserts that `email` no longer signs in with `refused` and does with `password`, tried in that order.
    pub async fn assert_password_is(&self, email: &str, password: &str, refused: &str) {
        assert_eq!(
            self.sign_in(email, refused).await.status(),
            StatusCode::UNAUTHORIZED,
            "{email} signs in with a password it should not"
        );
        assert_eq!(
            self.sign_in(email, password).await.status(),
            StatusCode::SEE_OTHER,
            "{email} does not sign in with its password"
        );
    }
}

/// Makes `email` the business's owner, sets the password from the link through the page, and signs in.
pub async fn signed_in<'a>(app: &'a TestApp, business_id: &str, email: &str) -> Visitor<'a> {
    let link = accounts::invite_owner(&app.app, business_id.parse().unwrap(), email)
        .await
        .unwrap();
    with_password_from(app, &link, email).await
}

/// Invites `email` to the business as staff, sets the password from the link through the page, and signs in.
pub async fn signed_in_staff<'a>(app: &'a TestApp, business_id: &str, email: &str) -> Visitor<'a> {
    let link = accounts::invite_staff(&app.app, business_id.parse().unwrap(), email)
        .await
        .unwrap();
    with_password_from(app, &link, email).await
}

/// A visitor who set `email`'s password to [`PASSWORD`] from `link` and signed in with it.
async fn with_password_from<'a>(
    app: &'a TestApp,
    link: &accounts::NewPasswordLink,
    email: &str,
) -> Visitor<'a> {
    let visitor = Visitor::new(app);
    let set = visitor
        .choose_password(
            "/dashboard/set-password",
            link.token.expose_secret(),
            PASSWORD,
        )
        .await;
    assert_eq!(set.status(), StatusCode::SEE_OTHER);
    let signed = visitor.sign_in(email, PASSWORD).await;
    assert_eq!(
        signed.status(),
        StatusCode::SEE_OTHER,
        "{}",
        signed.text().await.unwrap()
    );
    assert!(visitor.session_cookie().is_some());
    visitor
}

pub fn location(response: &Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// A server whose only calendar provider is Google, served by `emulator`.
pub async fn spawn_app_with_google(emulator: &GoogleEmulator) -> TestApp {
    integration_tests::spawn_app_with_provider(
        ProviderKind::GOOGLE,
        integration_tests::google_endpoints(emulator),
        google::CLIENT_ID,
        google::CLIENT_SECRET,
    )
    .await
}

/// The test business's API keys, as the dashboard lists them.
pub async fn api_keys(app: &TestApp) -> Vec<booking_core::ports::ApiKeyRecord> {
    let business = app
        .store
        .get_business(app.business_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    booking_core::app::accounts::list_api_keys(&app.app, &business)
        .await
        .unwrap()
}

/// The business the API key `key` belongs to.
pub async fn business_with_key(app: &TestApp, key: &str) -> booking_core::domain::Business {
    app.store
        .business_by_api_key(&booking_core::domain::ApiKeyHash::of(key))
        .await
        .unwrap()
        .unwrap()
}

/// The sign-in account stored under `address`, if any.
pub async fn account(app: &TestApp, address: &str) -> Option<Account> {
    let email = SignInEmail::try_from(address.to_owned()).unwrap();
    app.store.get_account(&email).await.unwrap()
}

/// Every message queued since the last call, oldest first; their jobs are taken off the queue.
pub async fn sent(app: &TestApp) -> Vec<Email> {
    let mut emails = Vec::new();
    loop {
        let received = app.queue.receive(10, Duration::ZERO).await.unwrap();
        if received.is_empty() {
            return emails;
        }
        for job in received {
            app.queue.ack(&job.receipt).await.unwrap();
            if let Job::SendEmail { email } = job.job {
                emails.push(email);
            }
        }
    }
}

/// The token of the link to `path` in the message's plain text.
pub fn token_in(email: &Email, path: &str) -> String {
    let link =
        first_link(&email.text, "http://").unwrap_or_else(|| panic!("no link in {:?}", email.text));
    assert!(link.contains(path), "{link} is not for {path}");
    link.split("token=").nth(1).unwrap().to_owned()
}

/// What [`capture_logs`] captured.
#[derive(Clone, Default)]
pub struct Captured(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line, at every level, of this thread (the test's runtime runs the server's tasks too) until the guard
/// is dropped.
pub fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}
