//! Signing in and out, setting a password from a link, and the extractors every page uses: [`Signed`] (the session
//! the permission gate found) and [`SignedForm`] (a POST of that session whose `Origin` and CSRF token are right,
//! else 403 with nothing changed). Every form, before or after signing in, is read strictly here ([`read_form`]);
//! forms shown before signing in (here and in `onboarding`) are read by [`OpenForm`].

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::layout::{self, Banner, Nav, Viewer, bare, csrf_field};
use super::{Dashboard, PageError, PageResult};
use crate::app::accounts::{self, MIN_PASSWORD_CHARS, SESSION_LIFETIME, SignedIn};
use crate::app::{App, AppError};
use crate::domain::Business;
use crate::ports::{
    AppointmentStore, CatalogStore, ConnectionStore, LinkPurpose, Session, StaffRole,
};

const SESSION: &str = "session";
/// Forms shown before there is a session (sign-in, set password) carry this cookie's value back: a double-submit
/// token, so another site cannot post them in the owner's browser.
const FORM_TOKEN: &str = "form";

pub fn routes() -> Router<Dashboard> {
    Router::new()
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", axum::routing::post(sign_out))
        .route("/set-password", get(set_password_page).post(set_password))
}

pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

pub(super) fn set_cookie(
    dashboard: &Dashboard,
    name: &str,
    value: &str,
    max_age_seconds: i64,
) -> HeaderValue {
    let secure = if dashboard.settings.secure() {
        "; Secure"
    } else {
        ""
    };
    let text = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}",
        dashboard.settings.cookie_name(name)
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The cookie that carries a new session of this browser, for as long as sessions last.
pub(super) fn session_cookie(dashboard: &Dashboard, value: &str) -> HeaderValue {
    set_cookie(dashboard, SESSION, value, SESSION_LIFETIME.as_secs())
}

fn equal(left: &str, right: &str) -> bool {
    bool::from(left.as_bytes().ct_eq(right.as_bytes()))
}

/// A state-changing request must come from our own pages: a browser names the page's origin, and one that says
/// another site (or another origin) is refused.
fn origin_allowed(dashboard: &Dashboard, headers: &HeaderMap) -> bool {
    let origin_ok = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
        .is_none_or(|origin| origin == dashboard.settings.public_origin);
    let fetch_site_ok = headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
        .is_none_or(|site| site != "cross-site");
    origin_ok && fetch_site_ok
}

/// The client's address, for throttling: the socket's peer locally; behind API Gateway the address it appended to
/// `X-Forwarded-For` (the last entry, the only one a client cannot forge).
fn client_address(parts: &Parts) -> String {
    if let Some(ConnectInfo(address)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        return address.ip().to_string();
    }
    parts
        .headers
        .get("x-forwarded-for")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .map(|address| address.trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// A signed-in person of a business, with what every page shows.
pub struct Signed {
    pub session: Session,
    pub business: Business,
    /// As stored now: it decides the navigation.
    pub role: StaffRole,
    pub banner: Banner,
}

impl Signed {
    /// The signed-in session with what needs the owner's attention on every page, for a page shown after a form.
    pub async fn load<S: AppointmentStore + ConnectionStore + CatalogStore + ?Sized>(
        app: &App<S>,
        signed_in: SignedIn,
    ) -> Result<Self, AppError> {
        let banner = Banner::load(app, &signed_in.business).await?;
        Ok(Self {
            session: signed_in.session,
            business: signed_in.business,
            role: signed_in.member.role,
            banner,
        })
    }

    /// A page of the dashboard's shell for this session, answered with 200.
    pub fn page(
        &self,
        current: Nav,
        title: &str,
        notice: Option<&str>,
        body: Markup,
    ) -> PageResult {
        Ok(layout::page(&self.viewer(), current, title, notice, body).into_response())
    }

    /// A page of the dashboard's shell answered with `status`: a form shown again with what it refused (422, or
    /// 409 when the store refused it), so every refusal is shaped one way.
    pub fn page_with_status(
        &self,
        status: StatusCode,
        current: Nav,
        title: &str,
        body: Markup,
    ) -> PageResult {
        Ok((
            status,
            layout::page(&self.viewer(), current, title, None, body),
        )
            .into_response())
    }

    /// A page that shows something this once (a new key, a link, a tool's answer) in answer to a form: answered
    /// directly with `status` rather than redirected, and never stored by the browser's cache.
    pub fn page_shown_once(
        &self,
        status: StatusCode,
        current: Nav,
        title: &str,
        body: Markup,
    ) -> PageResult {
        let mut response = self.page_with_status(status, current, title, body)?;
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(response)
    }

    pub fn viewer(&self) -> Viewer<'_> {
        Viewer {
            business: &self.business,
            email: self.session.email.as_ref(),
            role: self.role,
            csrf: &self.session.csrf_token,
            banner: &self.banner,
        }
    }
}

/// Why a page could not be shown to this request.
pub enum Refusal {
    SignIn(String),
    Page(PageError),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn(next) => {
                let target = format!(
                    "/dashboard/sign-in?next={}",
                    form_urlencoded_component(&next)
                );
                Redirect::to(&target).into_response()
            }
            Self::Page(error) => error.into_response(),
        }
    }
}

fn form_urlencoded_component(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .map(|encoded| encoded.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// The live session of the request's cookie, with its business and member as stored now; else where to go instead.
pub(super) async fn signed_in(parts: &Parts, dashboard: &Dashboard) -> Result<SignedIn, Refusal> {
    // The router is nested under /dashboard; the original URI still has the prefix.
    let uri = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(&parts.uri, |original| &original.0);
    let next = uri
        .path_and_query()
        .map(|path| path.as_str().to_owned())
        .filter(|_| parts.method == axum::http::Method::GET)
        .unwrap_or_else(|| "/dashboard".to_owned());
    let Some(value) = cookie(&parts.headers, &dashboard.settings.cookie_name(SESSION)) else {
        return Err(Refusal::SignIn(next));
    };
    match accounts::current_session(&dashboard.app, value).await {
        Ok(Some(found)) => {
            tracing::Span::current()
                .record("business_id", tracing::field::display(found.business.id));
            Ok(found)
        }
        Ok(None) => Err(Refusal::SignIn(next)),
        Err(error) => Err(Refusal::Page(error.into())),
    }
}

/// The session the gate found for this request; a handler that asks for one on a public route is a bug.
fn gated(parts: &Parts) -> Result<SignedIn, Refusal> {
    parts.extensions.get::<SignedIn>().cloned().ok_or_else(|| {
        Refusal::Page(PageError::App(AppError::Internal(
            "a signed-in page on a route the gate does not check".into(),
        )))
    })
}

impl FromRequestParts<Dashboard> for Signed {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, dashboard: &Dashboard) -> Result<Self, Refusal> {
        Self::load(&dashboard.app, gated(parts)?)
            .await
            .map_err(|error| Refusal::Page(error.into()))
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// The fields of a form that is only a button: it posts nothing but its CSRF token.
#[derive(Deserialize)]
pub struct NoFields {}

/// The fields of a form posted by a signed-in session, after its origin and CSRF token were checked.
pub struct SignedForm<T> {
    /// Who the gate found, with the role it read for this request, so a page re-rendered after the form needs no
    /// second read.
    pub signed_in: SignedIn,
    pub form: T,
}

/// A form's body, read the one strict way every form is: sent as `application/x-www-form-urlencoded` (else 415),
/// no larger than forms are, and text all through, the body and every name and value it percent-encodes (else
/// 400). Nothing is read leniently into replacement characters, so a refused form changes nothing.
async fn read_form(request: Request) -> Result<(Parts, bytes::Bytes), Refusal> {
    let (parts, body) = request.into_parts();
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| {
            media_type
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(Refusal::Page(PageError::UnsupportedForm));
    }
    let bytes = axum::body::to_bytes(body, super::MAX_FORM_BYTES)
        .await
        .map_err(|_| {
            Refusal::Page(PageError::App(AppError::Validation(
                crate::domain::ValidationError::new("form", "is too large"),
            )))
        })?;
    if !is_text_form(&bytes) {
        return Err(Refusal::Page(PageError::MalformedForm));
    }
    Ok((parts, bytes))
}

/// Whether the body is UTF-8 and so is every name and value once percent-decoded (`%FF`, an overlong `%C0%AF` and
/// a lone continuation byte are not).
fn is_text_form(body: &[u8]) -> bool {
    std::str::from_utf8(body).is_ok()
        && body
            .split(|byte| *byte == b'&')
            .flat_map(|pair| pair.splitn(2, |byte| *byte == b'='))
            .all(|part| std::str::from_utf8(&percent_decoded(part)).is_ok())
}

/// The bytes a form's name or value stands for, as `application/x-www-form-urlencoded` reads them: `%XY` is a byte,
/// `+` a space, and a `%` without two hex digits after it is itself.
fn percent_decoded(encoded: &[u8]) -> Vec<u8> {
    let hex = |digit: u8| char::from(digit).to_digit(16);
    let mut decoded = Vec::with_capacity(encoded.len());
    let mut rest = encoded;
    while let Some((&byte, tail)) = rest.split_first() {
        let escaped = match (byte, tail) {
            (b'%', [high, low, after @ ..]) => hex(*high)
                .zip(hex(*low))
                .and_then(|(high, low)| u8::try_from(high * 16 + low).ok())
                .map(|decoded| (decoded, after)),
            _ => None,
        };
        let (decoded_byte, after) =
            escaped.unwrap_or((if byte == b'+' { b' ' } else { byte }, tail));
        decoded.push(decoded_byte);
        rest = after;
    }
    decoded
}

fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Refusal> {
    serde_urlencoded::from_bytes(bytes).map_err(|error| {
        Refusal::Page(PageError::App(AppError::Validation(
            crate::domain::ValidationError::new("form", error.to_string()),
        )))
    })
}

impl<T: DeserializeOwned> FromRequest<Dashboard> for SignedForm<T> {
    type Rejection = Refusal;

    async fn from_request(request: Request, dashboard: &Dashboard) -> Result<Self, Refusal> {
        let (parts, bytes) = read_form(request).await?;
        let signed_in = gated(&parts)?;
        let presented: CsrfField = parse_form(&bytes)?;
        if !origin_allowed(dashboard, &parts.headers)
            || !equal(&presented.csrf, &signed_in.session.csrf_token)
        {
            tracing::warn!("form refused: wrong origin or CSRF token");
            return Err(Refusal::Page(PageError::Forbidden));
        }
        Ok(Self {
            signed_in,
            form: parse_form(&bytes)?,
        })
    }
}

/// A form posted before signing in: origin and double-submit token checked, plus the client's address.
pub(super) struct OpenForm<T> {
    pub form: T,
    pub address: String,
}

impl<T: DeserializeOwned> FromRequest<Dashboard> for OpenForm<T> {
    type Rejection = Refusal;

    async fn from_request(request: Request, dashboard: &Dashboard) -> Result<Self, Refusal> {
        let (parts, bytes) = read_form(request).await?;
        let presented: CsrfField = parse_form(&bytes)?;
        let expected = cookie(&parts.headers, &dashboard.settings.cookie_name(FORM_TOKEN));
        let token_ok = expected
            .is_some_and(|expected| !expected.is_empty() && equal(expected, &presented.csrf));
        if !origin_allowed(dashboard, &parts.headers) || !token_ok {
            tracing::warn!(
                origin_ok = origin_allowed(dashboard, &parts.headers),
                token_ok,
                cookie_present = expected.is_some(),
                "form refused: wrong origin or form token"
            );
            return Err(Refusal::Page(PageError::Forbidden));
        }
        Ok(Self {
            form: parse_form(&bytes)?,
            address: client_address(&parts),
        })
    }
}

/// The page's double-submit token: the browser's, or a new one set with the page.
pub(super) fn form_token(
    dashboard: &Dashboard,
    headers: &HeaderMap,
) -> (String, Option<HeaderValue>) {
    match cookie(headers, &dashboard.settings.cookie_name(FORM_TOKEN)) {
        Some(existing) if existing.len() >= 32 => (existing.to_owned(), None),
        _ => {
            let token = accounts::random_token();
            let header = set_cookie(dashboard, FORM_TOKEN, &token, 24 * 3600);
            (token, Some(header))
        }
    }
}

pub(super) fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Deserialize, Default)]
struct SignInQuery {
    next: Option<String>,
    notice: Option<String>,
}

/// Where to go after signing in: `next` when it is a plain path of our own pages, else the home page. Plain means
/// printable ASCII only (no line break, NUL or DEL that would break the `Location` header), no `//` or backslash a
/// browser could read as another host, and no dot segment that would climb out of `/dashboard`.
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|next| is_dashboard_path(next))
        .unwrap_or("/dashboard/appointments")
}

fn is_dashboard_path(next: &str) -> bool {
    let under_dashboard =
        next == "/dashboard" || next.starts_with("/dashboard/") || next.starts_with("/dashboard?");
    let path = next.split(['?', '#']).next().unwrap_or_default();
    let dot_segment = path.split('/').any(|segment| {
        let segment = segment.to_ascii_lowercase().replace("%2e", ".");
        segment == "." || segment == ".."
    });
    under_dashboard
        && next.bytes().all(|byte| byte.is_ascii_graphic())
        && !next.contains("//")
        && !next.contains('\\')
        && !dot_segment
}

/// What just happened, above the form of a page outside the signed-in area.
pub(super) fn notice_box(notice: Option<&str>) -> Markup {
    html! {
        @if let Some(notice) = notice {
            div class="notice" role="status" { p { (notice) } }
        }
    }
}

/// What went wrong, above the form of a page outside the signed-in area: the GOV.UK error summary around `problem`
/// (the message, a link to the field at fault, what to do next).
pub(super) fn problem_box(problem: Option<Markup>) -> Markup {
    html! {
        @if let Some(problem) = problem {
            div class="error-summary" role="alert" {
                h2 { "There is a problem" }
                (problem)
            }
        }
    }
}

fn sign_in_form(
    token: &str,
    next: &str,
    email: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> maud::Markup {
    bare(
        "Sign in",
        html! {
            (notice_box(notice))
            (problem_box(error.map(|error| html! { p { (error) } })))
            form method="post" action="/dashboard/sign-in" class="stack" {
                (csrf_field(token))
                input type="hidden" name="next" value=(next);
                div class="field" {
                    label for="email" { "Email" }
                    input id="email" name="email" type="email" autocomplete="username" required value=(email);
                }
                div class="field" {
                    label for="password" { "Password" }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                }
                button type="submit" class="primary" { "Sign in" }
            }
            p { a href="/dashboard/forgot-password" { "Forgot your password?" } }
            p { "New here? " a href="/dashboard/sign-up" { "Sign up your business" } }
        },
    )
}

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "password_set" => Some("Your password is set. Sign in with it now."),
        "signed_out" => Some("You are signed out."),
        "email_verified" => Some("Your email is confirmed. Sign in with the password you chose."),
        "email_changed" => Some(
            "Your email is changed, and you are signed out everywhere. Sign in with your new email and the same password.",
        ),
        "password_reset" => Some(
            "Your new password is set, and you are signed out everywhere else. Sign in with it now.",
        ),
        _ => None,
    }
}

async fn sign_in_page(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Query(query): Query<SignInQuery>,
) -> Response {
    let (token, cookie) = form_token(&dashboard, &headers);
    let next = safe_next(query.next.as_deref());
    let page = sign_in_form(&token, next, "", None, notice_text(query.notice.as_deref()));
    with_cookie(page.into_response(), cookie)
}

#[derive(Deserialize)]
struct SignInFields {
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn sign_in(
    State(dashboard): State<Dashboard>,
    OpenForm { form, address }: OpenForm<SignInFields>,
) -> PageResult {
    let password = SecretString::from(form.password);
    let next = safe_next(form.next.as_deref()).to_owned();
    match accounts::sign_in(&dashboard.app, &form.email, password, &address).await {
        Ok(created) => {
            let mut response = super::see_other(&next);
            response.headers_mut().append(
                header::SET_COOKIE,
                session_cookie(&dashboard, created.cookie_value.expose_secret()),
            );
            Ok(response)
        }
        Err(AppError::SignInFailed) => Ok((
            StatusCode::UNAUTHORIZED,
            sign_in_form(
                &form.csrf,
                &next,
                &form.email,
                Some("The email or password is not right."),
                None,
            ),
        )
            .into_response()),
        Err(AppError::EmailNotVerified) => Ok((
            StatusCode::FORBIDDEN,
            super::onboarding::check_email_page(&form.csrf, &form.email, None),
        )
            .into_response()),
        Err(AppError::SignInThrottled { retry_at }) => {
            // Rounded up: the page never promises a time at which sign-in is still refused.
            let seconds = (retry_at - dashboard.app.clock.now()).as_secs().max(1);
            let minutes = (seconds + 59) / 60;
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                sign_in_form(
                    &form.csrf,
                    &next,
                    &form.email,
                    Some(&format!(
                        "Too many failed sign-ins. For your security, try again in {minutes} minutes."
                    )),
                    None,
                ),
            )
                .into_response();
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

async fn sign_out(
    State(dashboard): State<Dashboard>,
    SignedForm { signed_in, .. }: SignedForm<NoFields>,
) -> PageResult {
    accounts::sign_out(&dashboard.app, &signed_in.session).await?;
    let mut response = super::see_other("/dashboard/sign-in?notice=signed_out");
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(&dashboard, SESSION, "", 0));
    Ok(response)
}

#[derive(Deserialize)]
pub(super) struct LinkQuery {
    #[serde(default)]
    pub token: String,
}

/// A page that chooses a password from an emailed single-use link: an invitation's (here) or a reset's
/// (`onboarding`). The pages differ only in words, the link's purpose and where they lead.
pub(super) struct PasswordLinkPage {
    pub title: &'static str,
    pub action: &'static str,
    /// Said after the length rule.
    pub advice: &'static str,
    pub button: &'static str,
    /// What to do about a link that no longer works.
    pub invalid_link: &'static str,
    /// Where the browser goes once the password is set.
    pub done: &'static str,
    pub purpose: LinkPurpose,
}

const SET_PASSWORD: PasswordLinkPage = PasswordLinkPage {
    title: "Set your password",
    action: "/dashboard/set-password",
    advice: "A long phrase is easier to remember and harder to guess.",
    button: "Set password",
    invalid_link: "This link is invalid, expired or already used. Ask the owner for a new invitation.",
    done: "/dashboard/sign-in?notice=password_set",
    purpose: LinkPurpose::SetPassword,
};

fn password_link_form(
    page: &PasswordLinkPage,
    csrf: &str,
    link_token: &str,
    error: Option<&str>,
) -> maud::Markup {
    bare(
        page.title,
        html! {
            (problem_box(error.map(|error| html! { p { a href="#password" { (error) } } })))
            p { "Choose a password of at least " (MIN_PASSWORD_CHARS) " characters. " (page.advice) }
            form method="post" action=(page.action) class="stack" {
                (csrf_field(csrf))
                input type="hidden" name="token" value=(link_token);
                div class="field" {
                    label for="password" { "New password" }
                    input id="password" name="password" type="password" autocomplete="new-password" required minlength=(MIN_PASSWORD_CHARS);
                }
                div class="field" {
                    label for="confirm" { "New password again" }
                    input id="confirm" name="confirm" type="password" autocomplete="new-password" required minlength=(MIN_PASSWORD_CHARS);
                }
                button type="submit" class="primary" { (page.button) }
            }
        },
    )
}

/// The page of a link, with the form's double-submit cookie.
pub(super) fn password_link_page(
    dashboard: &Dashboard,
    headers: &HeaderMap,
    page: &PasswordLinkPage,
    link_token: &str,
) -> Response {
    let (token, cookie) = form_token(dashboard, headers);
    with_cookie(
        password_link_form(page, &token, link_token, None).into_response(),
        cookie,
    )
}

async fn set_password_page(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Query(query): Query<LinkQuery>,
) -> Response {
    password_link_page(&dashboard, &headers, &SET_PASSWORD, &query.token)
}

#[derive(Deserialize)]
pub(super) struct PasswordLinkFields {
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

async fn set_password(
    State(dashboard): State<Dashboard>,
    OpenForm { form, .. }: OpenForm<PasswordLinkFields>,
) -> PageResult {
    choose_password(&dashboard, form, &SET_PASSWORD).await
}

/// Sets the password the form chose from the link it carries; a refused password shows the form again, the link
/// still usable.
pub(super) async fn choose_password(
    dashboard: &Dashboard,
    form: PasswordLinkFields,
    page: &PasswordLinkPage,
) -> PageResult {
    let refuse = |status: StatusCode, message: &str| {
        Ok((
            status,
            password_link_form(page, &form.csrf, &form.token, Some(message)),
        )
            .into_response())
    };
    if form.password != form.confirm {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The two passwords are not the same.",
        );
    }
    match accounts::set_password_from_link(
        &dashboard.app,
        &form.token,
        SecretString::from(form.password.clone()),
        page.purpose,
    )
    .await
    {
        Ok(_) => Ok(super::see_other(page.done)),
        Err(AppError::Validation(error)) => refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("The password {}.", error.message),
        ),
        Err(AppError::PasswordLinkInvalid) => refuse(StatusCode::BAD_REQUEST, page.invalid_link),
        Err(other) => Err(other.into()),
    }
}
