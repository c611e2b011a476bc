//! Settings: the business's own (its name, time zone, the country of callers' national numbers, how long a hold
//! keeps its time, and whether owners are emailed when calendar sync breaks), which only an owner changes; and the
//! signed-in person's own account, which everyone changes: a new email (it takes effect when the link sent to the
//! new address is followed, `/dashboard/confirm-email`) and a new password (the current one required; every other
//! device is signed out). Each form is read into the same commands the REST API and sign-up use.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::auth::{
    LinkQuery, OpenForm, Signed, SignedForm, form_token, session_cookie, with_cookie,
};
use super::layout::{Nav, bare, csrf_field, error_summary, field_error, has_error};
use super::onboarding::{Errors, time_zone_field};
use super::permissions::{Permission, permits};
use super::{Dashboard, PageResult, see_other};
use crate::app::account_settings::{
    self, EMAIL_CHANGE_LINK_LIFETIME, change_password, request_email_change,
};
use crate::app::accounts::{MIN_PASSWORD_CHARS, SignedIn};
use crate::app::{self, AppError, SettingsChanges};
use crate::domain::{
    BusinessName, BusinessSettings, BusinessTimeZone, CountryCode, HoldMinutes, ValidationError,
};

pub fn routes() -> Router<Dashboard> {
    Router::new()
        .route("/settings", get(settings_page))
        .route("/settings/business", post(save_business))
        .route("/settings/email", post(change_email))
        .route("/settings/password", post(new_password))
        .route("/confirm-email", get(confirm_page).post(confirm))
}

/// The business form's fields as typed, kept to show again beside a problem.
#[derive(Deserialize, Default)]
struct BusinessFields {
    #[serde(default)]
    business_name: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    hold_minutes: String,
    /// A checkbox: sent only when ticked.
    owner_alerts: Option<String>,
}

impl BusinessFields {
    /// The form as the business has it now: what the page starts from.
    fn current(signed: &Signed, settings: &BusinessSettings) -> Self {
        Self {
            business_name: signed.business.name.as_ref().to_owned(),
            time_zone: signed.business.time_zone.name().to_owned(),
            country: settings.country.map(String::from).unwrap_or_default(),
            hold_minutes: settings
                .hold_minutes
                .map(|minutes| minutes.get().to_string())
                .unwrap_or_default(),
            owner_alerts: settings.owner_alerts().then(|| "on".to_owned()),
        }
    }
}

/// Every field read at once into the settings command, so the page shows every problem together. An empty country
/// or hold length returns it to its default.
impl TryFrom<&BusinessFields> for SettingsChanges {
    type Error = Vec<ValidationError>;

    fn try_from(fields: &BusinessFields) -> Result<Self, Self::Error> {
        fn optional(text: &str) -> Option<&str> {
            Some(text.trim()).filter(|text| !text.is_empty())
        }
        let name = BusinessName::try_from(fields.business_name.clone())
            .map_err(|error| ValidationError::new("business_name", error.message));
        let zone = BusinessTimeZone::try_from(fields.time_zone.trim().to_owned())
            .map_err(|error| ValidationError::new("time_zone", error.message));
        let country = optional(&fields.country)
            .map(|code| CountryCode::try_from(code.to_owned()))
            .transpose();
        let hold_minutes = optional(&fields.hold_minutes)
            .map(|text| {
                let invalid = || ValidationError::new("hold_minutes", "must be 1 to 15 minutes");
                let minutes: u32 = text.parse().map_err(|_| invalid())?;
                HoldMinutes::try_from(minutes)
                    .map_err(|error| ValidationError::new("hold_minutes", error.message))
            })
            .transpose();
        match (name, zone, country, hold_minutes) {
            (Ok(name), Ok(time_zone), Ok(country), Ok(hold_minutes)) => Ok(Self {
                name: Some(name),
                time_zone: Some(time_zone),
                country: Some(country),
                hold_minutes: Some(hold_minutes),
                owner_alerts: Some(fields.owner_alerts.is_some()),
                // Chosen on the Staff page.
                assignment: None,
            }),
            (name, zone, country, hold_minutes) => {
                Err([name.err(), zone.err(), country.err(), hold_minutes.err()]
                    .into_iter()
                    .flatten()
                    .collect())
            }
        }
    }
}

/// What one of the page's forms holds after a refusal: its problems, and what was typed into the business form.
#[derive(Default)]
struct Refused {
    business: Option<BusinessFields>,
    errors: Errors,
    typed_new_email: String,
}

/// `The business name must be …`: a problem as a sentence naming its field as the form labels it.
fn sentence(error: &ValidationError) -> (&'static str, String) {
    let (field, label) = match error.field {
        "business_name" => ("business_name", "business name"),
        "time_zone" => ("time_zone", "time zone"),
        "country" => ("country", "country"),
        "hold_minutes" => ("hold_minutes", "hold length"),
        "new_email" => ("new_email", "new email"),
        "new_password" => ("new_password", "new password"),
        _ => ("current_password", "current password"),
    };
    (field, format!("The {label} {}.", error.message))
}

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "saved" => Some("Settings saved."),
        "password_changed" => Some(
            "Your new password is set. Every other device is signed out; this one stays signed in.",
        ),
        _ => None,
    }
}

#[derive(Deserialize, Default)]
struct NoticeQuery {
    notice: Option<String>,
    /// After asking for an email change: the address the link went to, to say so.
    sent_to: Option<String>,
}

/// The page, with the business form for those who may change it.
async fn render(
    dashboard: &Dashboard,
    signed: &Signed,
    refused: Refused,
    notice: Option<String>,
) -> PageResult {
    let owner = permits(signed.role, Permission::ManageBusiness);
    let business = match refused.business {
        Some(typed) => typed,
        None if owner => {
            let settings = app::get_business_settings(&dashboard.app, &signed.business).await?;
            BusinessFields::current(signed, &settings)
        }
        None => BusinessFields::default(),
    };
    let errors = &refused.errors;
    let csrf = &signed.session.csrf_token;
    let zone_country = CountryCode::of_zone(&signed.business.time_zone);
    let body = html! {
        (error_summary(errors))
        @if owner {
            section class="card" aria-labelledby="business-title" {
                h2 id="business-title" { "Your business" }
                form method="post" action="/dashboard/settings/business" class="stack" novalidate {
                    (csrf_field(csrf))
                    div class="field" {
                        label for="business_name" { "Business name" }
                        p class="hint" id="business_name-hint" { "Shown on every page and in the emails we send." }
                        (field_error(errors, "business_name"))
                        input id="business_name" name="business_name" required autocomplete="organization"
                            aria-describedby="business_name-hint" value=(business.business_name)
                            aria-invalid=[has_error(errors, "business_name").then_some("true")];
                    }
                    (time_zone_field(errors, &business.time_zone, None))
                    p class="hint" { "Opening hours stay the same local times in the new zone; appointments already booked keep their moment." }
                    div class="field" {
                        label for="country" { "Country of callers' phone numbers" }
                        p class="hint" id="country-hint" {
                            "Two letters, such as US or DE: numbers callers give without +country code are read in this country. "
                            @match zone_country {
                                Some(code) => { "Leave it empty to use the time zone's country (" (code) ")." }
                                None => { "Leave it empty to accept only international numbers." }
                            }
                        }
                        (field_error(errors, "country"))
                        input id="country" name="country" autocomplete="country" maxlength="2" size="4"
                            aria-describedby="country-hint" value=(business.country)
                            aria-invalid=[has_error(errors, "country").then_some("true")];
                    }
                    div class="field" {
                        label for="hold_minutes" { "How long a held time is kept, in minutes" }
                        p class="hint" id="hold_minutes-hint" { "1 to 15. While a caller decides, nobody else can book that time. Empty means " (HoldMinutes::DEFAULT.get()) "." }
                        (field_error(errors, "hold_minutes"))
                        input id="hold_minutes" name="hold_minutes" type="number" min="1" max="15" inputmode="numeric"
                            aria-describedby="hold_minutes-hint" value=(business.hold_minutes)
                            aria-invalid=[has_error(errors, "hold_minutes").then_some("true")];
                    }
                    div class="field checkbox" {
                        label for="owner_alerts" {
                            input id="owner_alerts" name="owner_alerts" type="checkbox" value="on" checked[business.owner_alerts.is_some()] aria-describedby="owner_alerts-hint";
                            "Email the owners when calendar sync needs them"
                        }
                        p class="hint" id="owner_alerts-hint" { "When the calendar must be connected again, or an appointment could not be written to it. At most one email a day about your calendar." }
                    }
                    button type="submit" class="primary" { "Save settings" }
                }
            }
        }
        section class="card" aria-labelledby="email-title" {
            h2 id="email-title" { "Your email" }
            p { "You sign in with " strong { (signed.session.email.as_ref()) } "." }
            form method="post" action="/dashboard/settings/email" class="stack" novalidate {
                (csrf_field(csrf))
                div class="field" {
                    label for="new_email" { "New email" }
                    p class="hint" id="new_email-hint" { "We send a link to it; your email changes when you open the link, within " (EMAIL_CHANGE_LINK_LIFETIME.as_hours()) " hours." }
                    (field_error(errors, "new_email"))
                    input id="new_email" name="new_email" type="email" required autocomplete="email"
                        aria-describedby="new_email-hint" value=(refused.typed_new_email)
                        aria-invalid=[has_error(errors, "new_email").then_some("true")];
                }
                div class="field" {
                    label for="email_current_password" { "Your current password" }
                    (field_error(errors, "email_current_password"))
                    input id="email_current_password" name="current_password" type="password" required autocomplete="current-password"
                        aria-invalid=[has_error(errors, "email_current_password").then_some("true")];
                }
                button type="submit" { "Send the link" }
            }
        }
        section class="card" aria-labelledby="password-title" {
            h2 id="password-title" { "Your password" }
            form method="post" action="/dashboard/settings/password" class="stack" novalidate {
                (csrf_field(csrf))
                div class="field" {
                    label for="current_password" { "Current password" }
                    (field_error(errors, "current_password"))
                    input id="current_password" name="current_password" type="password" required autocomplete="current-password"
                        aria-invalid=[has_error(errors, "current_password").then_some("true")];
                }
                div class="field" {
                    label for="new_password" { "New password" }
                    p class="hint" id="new_password-hint" { "At least " (MIN_PASSWORD_CHARS) " characters. Changing it signs you out on every other device." }
                    (field_error(errors, "new_password"))
                    input id="new_password" name="new_password" type="password" required autocomplete="new-password"
                        minlength=(MIN_PASSWORD_CHARS) aria-describedby="new_password-hint"
                        aria-invalid=[has_error(errors, "new_password").then_some("true")];
                }
                div class="field" {
                    label for="confirm" { "New password again" }
                    (field_error(errors, "confirm"))
                    input id="confirm" name="confirm" type="password" required autocomplete="new-password"
                        minlength=(MIN_PASSWORD_CHARS)
                        aria-invalid=[has_error(errors, "confirm").then_some("true")];
                }
                button type="submit" { "Change password" }
            }
        }
    };
    let status = if refused.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = signed.page(Nav::Settings, "Settings", notice.as_deref(), body)?;
    Ok((status, page).into_response())
}

async fn settings_page(
    State(dashboard): State<Dashboard>,
    signed: Signed,
    Query(query): Query<NoticeQuery>,
) -> PageResult {
    let notice = match (query.notice.as_deref(), query.sent_to) {
        (Some("email_sent"), Some(address)) => Some(format!(
            "We sent a link to {address}. Your email changes when you open it; until then, sign in as before."
        )),
        (code, _) => notice_text(code).map(str::to_owned),
    };
    render(&dashboard, &signed, Refused::default(), notice).await
}

/// The page again after a refused form, for the person the gate found.
async fn refused(dashboard: &Dashboard, signed_in: SignedIn, refused: Refused) -> PageResult {
    let signed = Signed::load(&dashboard.app, signed_in).await?;
    render(dashboard, &signed, refused, None).await
}

async fn save_business(
    State(dashboard): State<Dashboard>,
    SignedForm { signed_in, form }: SignedForm<BusinessFields>,
) -> PageResult {
    let changes = match SettingsChanges::try_from(&form) {
        Ok(changes) => changes,
        Err(errors) => {
            let errors = errors.iter().map(sentence).collect();
            let typed = Refused {
                business: Some(form),
                errors,
                ..Refused::default()
            };
            return refused(&dashboard, signed_in, typed).await;
        }
    };
    app::update_business_settings(&dashboard.app, &signed_in.business, &changes).await?;
    Ok(see_other("/dashboard/settings?notice=saved"))
}

#[derive(Deserialize)]
struct EmailFields {
    #[serde(default)]
    new_email: String,
    #[serde(default)]
    current_password: String,
}

/// The page's answer to a too-frequent change: the problem beside the form's first field.
fn wait_error(dashboard: &Dashboard, field: &'static str, retry_at: jiff::Timestamp) -> Errors {
    let minutes = ((retry_at - dashboard.app.clock.now()).as_secs().max(1) + 59) / 60;
    vec![(
        field,
        format!("Too many attempts. For your security, try again in {minutes} minutes."),
    )]
}

async fn change_email(
    State(dashboard): State<Dashboard>,
    SignedForm { signed_in, form }: SignedForm<EmailFields>,
) -> PageResult {
    let password = SecretString::from(form.current_password);
    let asked = request_email_change(
        &dashboard.app,
        &signed_in,
        &form.new_email,
        password,
        &dashboard.settings.links,
    )
    .await;
    let errors = match asked {
        Ok(address) => {
            let query = serde_urlencoded::to_string([
                ("notice", "email_sent"),
                ("sent_to", address.as_ref()),
            ])
            .map_err(|error| AppError::Internal(error.to_string().into()))?;
            return Ok(see_other(&format!("/dashboard/settings?{query}")));
        }
        Err(AppError::Validation(error)) => {
            let (field, message) = sentence(&error);
            // Two forms ask for the current password; the problem goes beside this one's.
            let field = if field == "current_password" {
                "email_current_password"
            } else {
                field
            };
            vec![(field, message)]
        }
        Err(AppError::TooManyRequests { retry_at }) => {
            wait_error(&dashboard, "new_email", retry_at)
        }
        Err(other) => return Err(other.into()),
    };
    let typed = Refused {
        errors,
        typed_new_email: form.new_email,
        ..Refused::default()
    };
    refused(&dashboard, signed_in, typed).await
}

#[derive(Deserialize)]
struct PasswordFields {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm: String,
}

async fn new_password(
    State(dashboard): State<Dashboard>,
    SignedForm { signed_in, form }: SignedForm<PasswordFields>,
) -> PageResult {
    let errors = if form.new_password != form.confirm {
        vec![(
            "confirm",
            "The two new passwords are not the same.".to_owned(),
        )]
    } else {
        let changed = change_password(
            &dashboard.app,
            &signed_in,
            SecretString::from(form.current_password),
            SecretString::from(form.new_password),
        )
        .await;
        match changed {
            Ok(created) => {
                let mut response = see_other("/dashboard/settings?notice=password_changed");
                response.headers_mut().append(
                    header::SET_COOKIE,
                    session_cookie(&dashboard, created.cookie_value.expose_secret()),
                );
                return Ok(response);
            }
            Err(AppError::Validation(error)) => vec![sentence(&error)],
            Err(AppError::TooManyRequests { retry_at }) => {
                wait_error(&dashboard, "current_password", retry_at)
            }
            Err(other) => return Err(other.into()),
        }
    };
    let typed = Refused {
        errors,
        ..Refused::default()
    };
    refused(&dashboard, signed_in, typed).await
}

fn confirm_form(csrf: &str, link_token: &str, error: Option<&str>) -> Markup {
    bare(
        "Confirm your new email",
        html! {
            @if let Some(error) = error {
                div class="error-summary" role="alert" {
                    h2 { "There is a problem" }
                    p { (error) }
                    p { "Sign in as before, and ask for a new link on the settings page." }
                }
            }
            form method="post" action="/dashboard/confirm-email" class="stack" {
                (csrf_field(csrf))
                input type="hidden" name="token" value=(link_token);
                p { "Confirm that this email address is yours. After that you sign in with it, with the same password, and every device signed in before is signed out." }
                button type="submit" class="primary" { "Confirm my new email" }
            }
            p { a href="/dashboard/sign-in" { "Back to sign in" } }
        },
    )
}

/// The link's page: a button, so a mail scanner that opens the link does not use it up.
async fn confirm_page(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Query(query): Query<LinkQuery>,
) -> Response {
    let (csrf, cookie) = form_token(&dashboard, &headers);
    with_cookie(
        confirm_form(&csrf, &query.token, None).into_response(),
        cookie,
    )
}

#[derive(Deserialize)]
struct TokenFields {
    csrf: String,
    #[serde(default)]
    token: String,
}

async fn confirm(
    State(dashboard): State<Dashboard>,
    OpenForm { form, .. }: OpenForm<TokenFields>,
) -> PageResult {
    match account_settings::confirm_email_change(&dashboard.app, &form.token).await {
        Ok(_) => Ok(see_other("/dashboard/sign-in?notice=email_changed")),
        Err(AppError::PasswordLinkInvalid) => Ok((
            StatusCode::BAD_REQUEST,
            confirm_form(
                &form.csrf,
                &form.token,
                Some("This link is invalid, expired or already used."),
            ),
        )
            .into_response()),
        Err(other) => Err(other.into()),
    }
}
