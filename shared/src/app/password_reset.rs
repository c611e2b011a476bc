//! A forgotten password: a single-use link by email ([`RESET_LINK_LIFETIME`]), the same answer whether or not the
//! address has an account, throttled per client address and per account. The link's page sets the password as an
//! invitation's does (`accounts::set_password_from_link`), which ends every session signed in before it.

use jiff::SignedDuration;
use secrecy::ExposeSecret;

use super::accounts::{self, count_request};
use super::context::App;
use super::emails::{self, Links};
use super::error::AppError;
use super::mail::queue_email;
use crate::ports::{CatalogStore, LinkPurpose, SignInEmail, SignInStore};

/// An hour: a reset is done at once, and a link lying in a mailbox longer is a risk.
pub const RESET_LINK_LIFETIME: SignedDuration = SignedDuration::from_hours(1);
pub const RESET_WINDOW: SignedDuration = SignedDuration::from_hours(1);
/// Links asked for one account within [`RESET_WINDOW`]: enough for a lost message or two.
pub const MAX_RESETS_PER_ACCOUNT: usize = 3;
/// Links asked for from one client address within [`RESET_WINDOW`]: higher, since an office shares one address.
pub const MAX_RESETS_PER_ADDRESS: usize = 10;

/// Emails a reset link to `email` if it has an account; the same `Ok` for any address, so the page tells nobody
/// who has one. Counted against the address typed (existing or not) and the client's `address`.
#[tracing::instrument(skip_all)]
pub async fn forgot_password<S: CatalogStore + SignInStore + ?Sized>(
    app: &App<S>,
    email: &str,
    address: &str,
    links: &Links,
) -> Result<(), AppError> {
    let typed = SignInEmail::try_from(email.to_owned());
    let account = format!(
        "reset:{}",
        typed.as_ref().map_or(email, |email| email.as_ref())
    );
    count_request(
        app,
        &[
            (&account, MAX_RESETS_PER_ACCOUNT),
            (&format!("reset-from:{address}"), MAX_RESETS_PER_ADDRESS),
        ],
        RESET_WINDOW,
    )
    .await?;
    let Ok(email) = typed else {
        return Ok(());
    };
    let Some(member) = app.store.get_account(&email).await? else {
        tracing::info!("password reset asked for an unknown address: nothing sent");
        return Ok(());
    };
    let Some(business) = app.store.get_business(member.business_id).await? else {
        return Ok(());
    };
    let link = accounts::issue_password_link(
        app,
        &member.email,
        member.business_id,
        LinkPurpose::ResetPassword,
        RESET_LINK_LIFETIME,
    )
    .await?;
    let url = links.with_token("/dashboard/reset-password", link.token.expose_secret());
    let message = emails::reset_password(
        &member.email,
        business.name.as_ref(),
        &url,
        RESET_LINK_LIFETIME.as_mins(),
    );
    tracing::info!(business_id = %member.business_id, "password reset link sent");
    queue_email(app, message).await
}
