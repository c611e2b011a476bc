//! The owner's own front doors, before any session: signing a business up, confirming the email from the emailed
//! link, asking for that link again, and choosing a new password when the old one is forgotten. Every answer that
//! could tell whether an address has an account is the same for all addresses; what differs goes by email to the
//! address itself. Links are followed by a button (a POST), not on opening, so a mail scanner that opens links does
//! not use them up.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use secrecy::SecretString;
use serde::Deserialize;

use super::assets::time_zone_script_url;
use super::auth::{
    LinkQuery, OpenForm, PasswordLinkFields, PasswordLinkPage, choose_password, form_token,
    notice_box, password_link_page, problem_box, with_cookie,
};
use super::layout::{bare, csrf_field, error_summary, field_error};
use super::{Dashboard, PageResult, SignUpPolicy, see_other};
use crate::app::AppError;
use crate::app::accounts::MIN_PASSWORD_CHARS;
use crate::app::password_reset::{self, RESET_LINK_LIFETIME};
use crate::app::sign_up::{self, SignUp, VERIFICATION_LINK_LIFETIME};
use crate::ports::LinkPurpose;

/// Preselected without script, and where the browser's zone is not one we know.
const DEFAULT_TIME_ZONE: &str = "UTC";

pub fn routes() -> Router<Dashboard> {
    Router::new()
        .route("/sign-up", get(sign_up_page).post(sign_up))
        .route("/check-email", get(check_email).post(resend))
        .route("/verify-email", get(verify_page).post(verify))
        .route("/forgot-password", get(forgot_page).post(forgot))
        .route("/reset-password", get(reset_page).post(reset))
}

pub(super) type Errors = Vec<(&'static str, String)>;

/// The IANA zones a business may be in, for the searchable list: regions' cities, without the database's aliases
/// for old systems (`Etc/…`, `SystemV/…`, `posixrules`), UTC first.
static TIME_ZONES: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut zones: Vec<String> = jiff::tz::db()
        .available()
        .map(|name| name.as_str().to_owned())
        .filter(|name| {
            name.contains('/')
                && name.starts_with(|first: char| first.is_ascii_uppercase())
                && !["Etc/", "SystemV/", "US/", "posix", "right/"]
                    .iter()
                    .any(|old| name.starts_with(old))
        })
        .collect();
    zones.sort();
    zones.insert(0, DEFAULT_TIME_ZONE.to_owned());
    zones
});

/// A page before signing in, with its form's double-submit cookie set when the browser has none yet.
fn open_page(
    dashboard: &Dashboard,
    headers: &HeaderMap,
    page: impl FnOnce(&str) -> Markup,
) -> Response {
    let (token, cookie) = form_token(dashboard, headers);
    with_cookie(page(&token).into_response(), cookie)
}

/// 429 with the minutes to wait, rounded up so the page never promises a time that is still refused.
fn too_many(dashboard: &Dashboard, retry_at: jiff::Timestamp, page: Markup) -> Response {
    let seconds = (retry_at - dashboard.app.clock.now()).as_secs().max(1);
    let mut response = (StatusCode::TOO_MANY_REQUESTS, page).into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn wait_message(dashboard: &Dashboard, retry_at: jiff::Timestamp) -> String {
    let minutes = ((retry_at - dashboard.app.clock.now()).as_secs().max(1) + 59) / 60;
    format!("Too many requests. For your security, try again in {minutes} minutes.")
}

fn closed_page() -> Response {
    (
        StatusCode::NOT_FOUND,
        super::layout::bare_page(
            "Sign-up is closed",
            "This service does not take new businesses by itself. Ask whoever runs it to create yours.",
        ),
    )
        .into_response()
}

#[derive(Deserialize, Default)]
struct Typed {
    #[serde(default)]
    business_name: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    email: String,
}

fn sign_up_form(csrf: &str, typed: &Typed, errors: &Errors) -> Markup {
    let zone = if typed.time_zone.is_empty() {
        DEFAULT_TIME_ZONE
    } else {
        typed.time_zone.as_str()
    };
    bare(
        "Sign up your business",
        html! {
            (error_summary(errors))
            p { "Your business gets its own bookings dashboard. We email you a link to confirm your address; after that you sign in with the password you choose here." }
            form method="post" action="/dashboard/sign-up" class="stack" novalidate {
                (csrf_field(csrf))
                div class="field" {
                    label for="business_name" { "Business name" }
                    (field_error(errors, "business_name"))
                    input id="business_name" name="business_name" required autocomplete="organization" value=(typed.business_name);
                }
                (time_zone_field(errors, zone, Some(DEFAULT_TIME_ZONE)))
                div class="field" {
                    label for="email" { "Your email" }
                    (field_error(errors, "email"))
                    input id="email" name="email" type="email" required autocomplete="email" value=(typed.email);
                }
                div class="field" {
                    label for="password" { "Choose a password" }
                    p class="hint" id="password-hint" { "At least " (MIN_PASSWORD_CHARS) " characters. A few unrelated words are easy to remember and hard to guess." }
                    (field_error(errors, "password"))
                    input id="password" name="password" type="password" required autocomplete="new-password"
                        minlength=(MIN_PASSWORD_CHARS) aria-describedby="password-hint";
                }
                button type="submit" class="primary" { "Sign up" }
            }
            p { "Already have an account? " a href="/dashboard/sign-in" { "Sign in" } }
            script src=(time_zone_script_url()) defer {}
        },
    )
}

/// The searchable list of IANA zones, holding `zone`. With a `guessable` default, the time zone script replaces it
/// by the browser's own zone while it still holds that default (signing up); without, the zone shown stays.
pub(super) fn time_zone_field(errors: &Errors, zone: &str, guessable: Option<&str>) -> Markup {
    html! {
        div class="field" {
            label for="time_zone" { "Time zone" }
            p class="hint" id="time_zone-hint" { "Where the business is: type a city to search, such as Europe/Berlin." }
            (field_error(errors, "time_zone"))
            input id="time_zone" name="time_zone" required list="time-zones" autocomplete="off"
                aria-describedby="time_zone-hint" value=(zone) data-default=[guessable];
            datalist id="time-zones" {
                @for zone in TIME_ZONES.iter() { option value=(zone) {} }
            }
        }
    }
}

async fn sign_up_page(State(dashboard): State<Dashboard>, headers: HeaderMap) -> Response {
    if dashboard.settings.sign_up == SignUpPolicy::Closed {
        return closed_page();
    }
    open_page(&dashboard, &headers, |csrf| {
        sign_up_form(csrf, &Typed::default(), &Vec::new())
    })
}

#[derive(Deserialize)]
struct SignUpFields {
    csrf: String,
    #[serde(flatten)]
    typed: Typed,
    #[serde(default)]
    password: String,
}

async fn sign_up(
    State(dashboard): State<Dashboard>,
    OpenForm { form, address }: OpenForm<SignUpFields>,
) -> PageResult {
    if dashboard.settings.sign_up == SignUpPolicy::Closed {
        return Ok(closed_page());
    }
    let parsed = SignUp::parse(
        &form.typed.business_name,
        &form.typed.time_zone,
        &form.typed.email,
        SecretString::from(form.password),
    );
    let command = match parsed {
        Ok(command) => command,
        Err(errors) => {
            let errors: Errors = errors
                .into_iter()
                .map(|error| {
                    (
                        error.field,
                        format!("The {}.", field_sentence(error.field, &error.message)),
                    )
                })
                .collect();
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                sign_up_form(&form.csrf, &form.typed, &errors),
            )
                .into_response());
        }
    };
    match sign_up::sign_up(&dashboard.app, command, &address, &dashboard.settings.links).await {
        Ok(()) => Ok(see_other("/dashboard/check-email?notice=signed_up")),
        Err(AppError::TooManyRequests { retry_at }) => {
            let errors = vec![("business_name", wait_message(&dashboard, retry_at))];
            Ok(too_many(
                &dashboard,
                retry_at,
                sign_up_form(&form.csrf, &form.typed, &errors),
            ))
        }
        Err(other) => Err(other.into()),
    }
}

/// "business name must be …" from a field and its message.
fn field_sentence(field: &str, message: &str) -> String {
    let label = match field {
        "business_name" => "business name",
        "time_zone" => "time zone",
        "password" => "password",
        _ => "email",
    };
    format!("{label} {message}")
}

#[derive(Deserialize, Default)]
struct NoticeQuery {
    notice: Option<String>,
}

/// Where a person who signed up (or signed in before confirming) is told to look for the link, and may have it sent
/// again. The same page whatever the address.
pub(super) fn check_email_page(csrf: &str, email: &str, notice: Option<&str>) -> Markup {
    bare(
        "Check your email",
        html! {
            (notice_box(notice))
            p { "We sent a link to confirm your email address. Open it to finish signing up; it works once, for " (VERIFICATION_LINK_LIFETIME.as_hours()) " hours." }
            p { "Nothing arrived after a few minutes? Check your spam folder, or have the link sent again." }
            form method="post" action="/dashboard/check-email" class="stack" {
                (csrf_field(csrf))
                div class="field" {
                    label for="email" { "Your email" }
                    input id="email" name="email" type="email" required autocomplete="email" value=(email);
                }
                button type="submit" { "Send the link again" }
            }
            p { a href="/dashboard/sign-in" { "Back to sign in" } }
        },
    )
}

fn check_email_notice(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "signed_up" => Some("Your business is signed up. One step left: confirm your email."),
        "resent" => Some("If that address is waiting for confirmation, a new link is on its way."),
        _ => None,
    }
}

async fn check_email(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Query(query): Query<NoticeQuery>,
) -> Response {
    open_page(&dashboard, &headers, |csrf| {
        check_email_page(csrf, "", check_email_notice(query.notice.as_deref()))
    })
}

#[derive(Deserialize)]
struct EmailFields {
    csrf: String,
    #[serde(default)]
    email: String,
}

async fn resend(
    State(dashboard): State<Dashboard>,
    OpenForm { form, .. }: OpenForm<EmailFields>,
) -> PageResult {
    match sign_up::resend_verification(&dashboard.app, &form.email, &dashboard.settings.links).await
    {
        Ok(()) => Ok(see_other("/dashboard/check-email?notice=resent")),
        Err(AppError::TooManyRequests { retry_at }) => {
            let message = wait_message(&dashboard, retry_at);
            Ok(too_many(
                &dashboard,
                retry_at,
                check_email_page(&form.csrf, &form.email, Some(&message)),
            ))
        }
        Err(other) => Err(other.into()),
    }
}

fn verify_form(csrf: &str, link_token: &str, error: Option<&str>) -> Markup {
    bare(
        "Confirm your email",
        html! {
            (problem_box(error.map(|error| html! {
                p { (error) }
                p { a href="/dashboard/check-email" { "Have a new link sent" } }
            })))
            form method="post" action="/dashboard/verify-email" class="stack" {
                (csrf_field(csrf))
                input type="hidden" name="token" value=(link_token);
                p { "Confirm that this email address is yours. Then sign in with the password you chose." }
                button type="submit" class="primary" { "Confirm my email" }
            }
        },
    )
}

async fn verify_page(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Query(query): Query<LinkQuery>,
) -> Response {
    open_page(&dashboard, &headers, |csrf| {
        verify_form(csrf, &query.token, None)
    })
}

#[derive(Deserialize)]
struct TokenFields {
    csrf: String,
    #[serde(default)]
    token: String,
}

async fn verify(
    State(dashboard): State<Dashboard>,
    OpenForm { form, .. }: OpenForm<TokenFields>,
) -> PageResult {
    match sign_up::verify_email(&dashboard.app, &form.token).await {
        Ok(_) => Ok(see_other("/dashboard/sign-in?notice=email_verified")),
        Err(AppError::PasswordLinkInvalid) => Ok((
            StatusCode::BAD_REQUEST,
            verify_form(
                &form.csrf,
                &form.token,
                Some("This link is invalid, expired or already used."),
            ),
        )
            .into_response()),
        Err(other) => Err(other.into()),
    }
}

fn forgot_form(csrf: &str, email: &str, notice: Option<&str>, error: Option<&str>) -> Markup {
    bare(
        "Forgot your password?",
        html! {
            (notice_box(notice))
            (problem_box(error.map(|error| html! { p { a href="#email" { (error) } } })))
            p { "Type the email you sign in with. We send a link to choose a new password; it works once, for " (RESET_LINK_LIFETIME.as_mins()) " minutes." }
            form method="post" action="/dashboard/forgot-password" class="stack" {
                (csrf_field(csrf))
                div class="field" {
                    label for="email" { "Your email" }
                    input id="email" name="email" type="email" required autocomplete="username" value=(email);
                }
                button type="submit" class="primary" { "Send me a link" }
            }
            p { a href="/dashboard/sign-in" { "Back to sign in" } }
        },
    )
}

async fn forgot_page(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let notice = (query.notice.as_deref() == Some("sent")).then_some(
        "If an account uses that address, a link to choose a new password is on its way. Check your email.",
    );
    open_page(&dashboard, &headers, |csrf| {
        forgot_form(csrf, "", notice, None)
    })
}

async fn forgot(
    State(dashboard): State<Dashboard>,
    OpenForm { form, address }: OpenForm<EmailFields>,
) -> PageResult {
    match password_reset::forgot_password(
        &dashboard.app,
        &form.email,
        &address,
        &dashboard.settings.links,
    )
    .await
    {
        Ok(()) => Ok(see_other("/dashboard/forgot-password?notice=sent")),
        Err(AppError::TooManyRequests { retry_at }) => {
            let message = wait_message(&dashboard, retry_at);
            Ok(too_many(
                &dashboard,
                retry_at,
                forgot_form(&form.csrf, &form.email, None, Some(&message)),
            ))
        }
        Err(other) => Err(other.into()),
    }
}

const RESET_PASSWORD: PasswordLinkPage = PasswordLinkPage {
    title: "Choose a new password",
    action: "/dashboard/reset-password",
    advice: "Choosing it signs you out everywhere else.",
    button: "Set new password",
    invalid_link: "This link is invalid, expired or already used. Ask for a new one from the sign-in page.",
    done: "/dashboard/sign-in?notice=password_reset",
    purpose: LinkPurpose::ResetPassword,
};

async fn reset_page(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Query(query): Query<LinkQuery>,
) -> Response {
    password_link_page(&dashboard, &headers, &RESET_PASSWORD, &query.token)
}

async fn reset(
    State(dashboard): State<Dashboard>,
    OpenForm { form, .. }: OpenForm<PasswordLinkFields>,
) -> PageResult {
    choose_password(&dashboard, form, &RESET_PASSWORD).await
}
