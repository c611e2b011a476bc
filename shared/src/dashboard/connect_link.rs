//! The public pages of a "connect your calendar" link (`app::connect_links`): the page the emailed link opens, with
//! a button per configured provider that starts the provider's consent for the link's staff member, and the page
//! the person lands on when the provider is done. Nobody signs in: the link is the permission.
//!
//! Between starting and coming back the browser keeps the link's token in a cookie that lives as long as an
//! authorization may take; the provider's callback ([`link_holder_location`]) sees it and sends this browser here
//! rather than to the owner's calendar picker, and the page here uses the link up once the connection is made.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::{LinkQuery, OpenForm, cookie, form_token, set_cookie, with_cookie};
use super::layout::{bare, csrf_field};
use super::{Dashboard, PageError, PageResult, see_other};
use crate::app::connect_links::{
    CONNECT_LINK_PATH, ConnectedWithLink, OpenedLink, finish_connect_with_link, open_connect_link,
    start_connect_from_link,
};
use crate::app::{AppError, ConnectFailure, connect_not_finished};
use crate::ports::ProviderKind;

/// The cookie that carries the link's token from the start of an authorization to its end.
const LINK_COOKIE: &str = "connect-link";
/// As long as the provider's side may take (the OAuth attempt's own lifetime).
const LINK_COOKIE_SECONDS: i64 = 10 * 60;
const DONE_PATH: &str = "/dashboard/connect-calendar/done";

pub fn routes() -> Router<Dashboard> {
    Router::new()
        .route("/connect-calendar", get(link_page).post(start))
        .route("/connect-calendar/done", get(done_page))
}

/// Where the provider's callback sends a browser that started from a connect link (it carries the link's cookie,
/// under either of the names [`super::DashboardSettings::cookie_name`] gives it): the page that uses the link up,
/// or says why connecting did not finish. `None` for any other browser.
pub fn link_holder_location(
    headers: &HeaderMap,
    failure: Option<ConnectFailure>,
) -> Option<String> {
    let holds_link = [LINK_COOKIE.to_owned(), format!("__Host-{LINK_COOKIE}")]
        .iter()
        .any(|name| cookie(headers, name).is_some_and(|value| !value.is_empty()));
    holds_link.then(|| match failure {
        Some(why) => format!("{DONE_PATH}?why={why}"),
        None => DONE_PATH.to_owned(),
    })
}

/// The same answer for a link that never existed, expired, was used or was sent for a member no longer active.
fn link_gone() -> Response {
    (
        StatusCode::GONE,
        // No way on to the dashboard: whoever holds the link has no account there.
        bare(
            "This link no longer works",
            html! { p { "It may have expired, or a calendar has already been connected with it. Ask the business for a new link if you still need to connect your calendar." } },
        ),
    )
        .into_response()
}

/// A missing token is no link at all; any token that names no usable link is gone.
fn refused(error: AppError) -> PageResult {
    match error {
        AppError::PasswordLinkInvalid => Ok(link_gone()),
        other => Err(other.into()),
    }
}

fn link_form(dashboard: &Dashboard, opened: &OpenedLink, csrf: &str, token: &str) -> Markup {
    let member = opened.member.settings.name.as_ref();
    let business = opened.business.name.as_ref();
    let providers: Vec<(ProviderKind, &str)> = dashboard
        .app
        .registry
        .iter()
        .map(|profile| (profile.kind, profile.display_name))
        .filter(|(kind, _)| {
            dashboard
                .app
                .integrations
                .as_ref()
                .is_some_and(|integrations| integrations.provider(*kind).is_ok())
        })
        .collect();
    bare(
        &format!("Connect your calendar for {member} at {business}"),
        html! {
            p { "Times you are busy in your calendar will not be offered to " (business) "'s callers, and your appointments can be written to it." }
            p { "You sign in at the calendar's provider yourself and choose what to allow; " (business) " never sees your password." }
            @if providers.is_empty() {
                p class="reason" { "No calendar provider is set up here yet. Ask " (business) " about it." }
            }
            div class="actions" {
                @for (kind, name) in &providers {
                    form method="post" action=(CONNECT_LINK_PATH) class="inline" {
                        (csrf_field(csrf))
                        input type="hidden" name="token" value=(token);
                        input type="hidden" name="provider" value=(kind);
                        button type="submit" class="primary" { "Connect " (name) }
                    }
                }
            }
        },
    )
}

async fn link_page(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Query(query): Query<LinkQuery>,
) -> PageResult {
    if query.token.is_empty() {
        return Err(PageError::NotFound);
    }
    let opened = match open_connect_link(&dashboard.app, &query.token).await {
        Ok(opened) => opened,
        Err(error) => return refused(error),
    };
    let (csrf, form_cookie) = form_token(&dashboard, &headers);
    let page = link_form(&dashboard, &opened, &csrf, &query.token);
    Ok(with_cookie(page.into_response(), form_cookie))
}

#[derive(Deserialize)]
struct StartFields {
    #[serde(default)]
    token: String,
    provider: ProviderKind,
}

/// Sends the browser to the provider's consent for the link's member, keeping the link's token for the way back.
async fn start(
    State(dashboard): State<Dashboard>,
    OpenForm { form, .. }: OpenForm<StartFields>,
) -> PageResult {
    let url = match start_connect_from_link(&dashboard.app, &form.token, form.provider).await {
        Ok(url) => url,
        Err(error) => return refused(error),
    };
    let keep = set_cookie(&dashboard, LINK_COOKIE, &form.token, LINK_COOKIE_SECONDS);
    Ok(with_cookie(see_other(&url), Some(keep)))
}

#[derive(Deserialize)]
struct DoneQuery {
    why: Option<ConnectFailure>,
}

/// The end of the way back from the provider: the connection made (and the link used up), or why not.
async fn done_page(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Query(query): Query<DoneQuery>,
) -> PageResult {
    let name = dashboard.settings.cookie_name(LINK_COOKIE);
    let Some(token) = cookie(&headers, &name).filter(|token| !token.is_empty()) else {
        return Err(PageError::NotFound);
    };
    let try_again = format!("{CONNECT_LINK_PATH}?token={token}");
    if let Some(why) = query.why {
        let page = bare(
            "Your calendar is not connected",
            html! {
                p { (connect_not_finished("your calendar", why)) }
                p { a class="button" href=(try_again) { "Try again" } }
            },
        );
        return Ok(page.into_response());
    }
    let connected = match finish_connect_with_link(&dashboard.app, token).await {
        Ok(connected) => connected,
        Err(AppError::CalendarNotConnected) => {
            let page = bare(
                "Your calendar is not connected yet",
                html! {
                    p { "The provider has not confirmed a connection. Start again from the link." }
                    p { a class="button" href=(try_again) { "Try again" } }
                },
            );
            return Ok(page.into_response());
        }
        Err(error) => return refused(error),
    };
    let forget = set_cookie(&dashboard, LINK_COOKIE, "", 0);
    let mut page = connected_page(&connected).into_response();
    page.headers_mut().append(header::SET_COOKIE, forget);
    Ok(page)
}

fn connected_page(connected: &ConnectedWithLink) -> Markup {
    let ConnectedWithLink {
        business,
        member,
        connection,
    } = connected;
    let business = business.name.as_ref();
    bare(
        &format!("Connected: {}", connection.account),
        html! {
            p {
                "Your appointments at " (business) " will be checked against this calendar; the business chooses which calendar receives appointments."
            }
            p { "Connected for " (member.settings.name.as_ref()) ". You can close this page; the link you followed is now used up." }
        },
    )
}
