//! API keys (how the owner hands a key to the AI agent: create one, shown once; name it; revoke it) and the people
//! who sign in to the dashboard (invite someone by email: the single-use link that sets their password is emailed to
//! them and shown once to copy). The staff members customers are booked with are another page (`staff`).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::{NoFields, Signed, SignedForm};
use super::format::when;
use super::layout::{Nav, csrf_field, error_summary, field_error};
use super::{Dashboard, PageError, PageResult, see_other};
use crate::app::AppError;
use crate::app::accounts::{self, PASSWORD_LINK_LIFETIME};
use crate::ports::StaffRole;

pub fn routes() -> Router<Dashboard> {
    Router::new()
        .route("/api-keys", get(keys_page).post(create_key))
        .route("/api-keys/{id}/revoke", get(confirm_revoke).post(revoke))
        .route("/team/invite", post(invite))
}

#[derive(Deserialize, Default)]
struct Notice {
    notice: Option<String>,
}

/// What the page shows once, right after an action: a new key or an invitation link.
enum Shown {
    Nothing,
    Key { name: String, key: String },
    Invitation { email: String, url: String },
}

async fn render(
    dashboard: &Dashboard,
    signed: &Signed,
    shown: &Shown,
    errors: &[(&'static str, String)],
    typed_name: &str,
    typed_email: &str,
) -> Result<Markup, PageError> {
    let zone = signed.business.time_zone.zone();
    let keys = accounts::list_api_keys(&dashboard.app, &signed.business).await?;
    let team = accounts::list_accounts(&dashboard.app, &signed.business).await?;
    let csrf = &signed.session.csrf_token;
    Ok(html! {
        (error_summary(errors))
        @match shown {
            Shown::Key { name, key } => {
                div class="notice strong" role="status" {
                    p { "Your new key " strong { (name) } ". Copy it now: it is shown only this once." }
                    label for="new-key" { "API key" }
                    input id="new-key" type="text" readonly value=(key) class="secret";
                    p class="hint" { "Give it to your AI phone agent as a Bearer token. Revoke it here when it is no longer needed." }
                }
            }
            Shown::Invitation { email, url } => {
                div class="notice strong" role="status" {
                    p { "We emailed this link to " strong { (email) } ". You can also copy it and send it yourself. It sets their password, works once, and expires in " (PASSWORD_LINK_LIFETIME.as_hours()) " hours." }
                    label for="invite-link" { "Invitation link" }
                    input id="invite-link" type="text" readonly value=(url) class="secret";
                }
            }
            Shown::Nothing => {}
        }
        section class="card" aria-labelledby="keys-title" {
            h2 id="keys-title" { "API keys" }
            form method="post" action="/dashboard/api-keys" class="filters" {
                (csrf_field(csrf))
                div class="field grow" {
                    label for="name" { "Name of the new key" }
                    (field_error(errors, "name"))
                    input id="name" name="name" required value=(typed_name) placeholder="Phone agent";
                }
                button type="submit" class="primary" { "Create key" }
            }
            div class="table-wrap" {
                table {
                    caption class="visually-hidden" { "API keys" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Key" } th scope="col" { "Created" } th scope="col" { "State" } th scope="col" { span class="visually-hidden" { "Actions" } } } }
                    tbody {
                        @for key in &keys {
                            tr {
                                td { (key.name) }
                                td { code { @if key.hint.is_empty() { "bk_" } @else { (key.hint) } "…" } }
                                td { (when(key.created_at, zone)) }
                                td {
                                    @match key.revoked_at {
                                        Some(at) => span class="badge off" { "Revoked " (when(at, zone)) },
                                        None => span class="badge ok" { "Active" },
                                    }
                                }
                                td {
                                    @if key.revoked_at.is_none() {
                                        a class="button danger" href={ "/dashboard/api-keys/" (key.id) "/revoke" } { "Revoke" span class="visually-hidden" { " " (key.name) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section class="card" aria-labelledby="team-title" {
            h2 id="team-title" { "People who sign in" }
            form method="post" action="/dashboard/team/invite" class="filters" {
                (csrf_field(csrf))
                div class="field grow" {
                    label for="email" { "Email of the person to invite" }
                    (field_error(errors, "email"))
                    input id="email" name="email" type="email" required value=(typed_email);
                }
                button type="submit" { "Invite" }
            }
            ul {
                @for member in &team {
                    li {
                        (member.email.as_ref())
                        @if member.role == StaffRole::Owner { " (owner)" }
                        @match member.password_set_at {
                            Some(_) => span class="muted" { " — signs in" },
                            None => span class="muted" { " — invited, has not set a password yet" },
                        }
                    }
                }
            }
        }
    })
}

async fn keys_page(
    State(dashboard): State<Dashboard>,
    signed: Signed,
    Query(notice): Query<Notice>,
) -> PageResult {
    let body = render(&dashboard, &signed, &Shown::Nothing, &[], "", "").await?;
    let notice = match notice.notice.as_deref() {
        Some("revoked") => Some("Key revoked. Requests with it are refused from now on."),
        _ => None,
    };
    signed.page(Nav::Keys, "API keys & team", notice, body)
}

/// The page a form of this page answers: what the form made (a key, an invitation link), shown this once, answered
/// directly (not redirected) and never stored by the browser's cache; or, when what was typed is refused, the form
/// again with the reason beside `refused_field` (labelled `label`) and the typed `(name, email)` kept.
async fn shown_once<T>(
    dashboard: &Dashboard,
    signed: SignedForm<T>,
    made: Result<Shown, AppError>,
    (refused_field, label): (&'static str, &str),
    typed: (&str, &str),
) -> PageResult {
    let (shown, errors, typed) = match made {
        Ok(shown) => (shown, Vec::new(), ("", "")),
        Err(AppError::Validation(error)) => {
            let message = format!("{label}: {}", error.message);
            (Shown::Nothing, vec![(refused_field, message)], typed)
        }
        Err(other) => return Err(other.into()),
    };
    let signed = Signed::load(&dashboard.app, signed.signed_in).await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let body = render(dashboard, &signed, &shown, &errors, typed.0, typed.1).await?;
    signed.page_shown_once(status, Nav::Keys, "API keys & team", body)
}

#[derive(Deserialize)]
struct KeyFields {
    #[serde(default)]
    name: String,
}

async fn create_key(State(dashboard): State<Dashboard>, form: SignedForm<KeyFields>) -> PageResult {
    let name = form.form.name.clone();
    let created = accounts::create_api_key(&dashboard.app, &form.signed_in.business, &name)
        .await
        .map(|(record, key)| Shown::Key {
            name: record.name,
            key: key.expose().to_owned(),
        });
    shown_once(&dashboard, form, created, ("name", "Name"), (&name, "")).await
}

async fn confirm_revoke(
    State(dashboard): State<Dashboard>,
    Path(id): Path<String>,
    signed: Signed,
) -> PageResult {
    let key = accounts::list_api_keys(&dashboard.app, &signed.business)
        .await?
        .into_iter()
        .find(|key| key.id == id && key.revoked_at.is_none())
        .ok_or(PageError::NotFound)?;
    let body = html! {
        p { "Revoke " strong { (key.name) } "? Every request with it is refused from the moment you confirm, so whatever uses it (such as your phone agent) stops working until it gets a new key." }
        form method="post" action={ "/dashboard/api-keys/" (key.id) "/revoke" } class="inline" {
            (csrf_field(&signed.session.csrf_token))
            button type="submit" class="danger" { "Revoke the key" }
        }
        " "
        a class="button" href="/dashboard/api-keys" { "Keep it" }
    };
    signed.page(Nav::Keys, "Revoke the key?", None, body)
}

async fn revoke(
    State(dashboard): State<Dashboard>,
    Path(id): Path<String>,
    SignedForm { signed_in, .. }: SignedForm<NoFields>,
) -> PageResult {
    accounts::revoke_api_key(&dashboard.app, &signed_in.business, &id).await?;
    Ok(see_other("/dashboard/api-keys?notice=revoked"))
}

#[derive(Deserialize)]
struct InviteFields {
    #[serde(default)]
    email: String,
}

async fn invite(State(dashboard): State<Dashboard>, form: SignedForm<InviteFields>) -> PageResult {
    let email = form.form.email.clone();
    let links = &dashboard.settings.links;
    let invited =
        accounts::invite_staff_by_email(&dashboard.app, &form.signed_in.business, &email, links)
            .await
            .map(|link| Shown::Invitation {
                email: link.email.as_ref().to_owned(),
                url: link.url(&dashboard.settings.public_origin),
            });
    shown_once(&dashboard, form, invited, ("email", "Email"), ("", &email)).await
}
