//! What a signed-in person changes about their own account: a new password (the current one required; every other
//! session of the account ends) and a new email, which takes effect only when the single-use link sent to the new
//! address is followed. Whether the new address already has an account shows nowhere: the page says the same, and
//! the other address is sent nothing.

use jiff::SignedDuration;
use secrecy::{ExposeSecret, SecretString};

use super::accounts::{
    self, NewSession, SignedIn, THROTTLE_WINDOW, check_new_password, count_request, hash_password,
    password_matches, random_token, take_link, token_hash,
};
use super::context::App;
use super::emails::{self, Links};
use super::error::AppError;
use super::mail::queue_email;
use crate::domain::ValidationError;
use crate::ports::{LinkPurpose, PasswordLink, SignInEmail, SignInStore, StoreError};

/// A day, as for confirming the email at sign-up: long enough to find the message the next morning.
pub const EMAIL_CHANGE_LINK_LIFETIME: SignedDuration = SignedDuration::from_hours(24);
/// Attempts per account within [`THROTTLE_WINDOW`], right or wrong: a stolen session cannot guess the password.
pub const MAX_PASSWORD_CHANGES: usize = 5;
/// Links asked for per account within [`EMAIL_CHANGE_WINDOW`]: enough for a typo or a lost message.
pub const MAX_EMAIL_CHANGES: usize = 3;
pub const EMAIL_CHANGE_WINDOW: SignedDuration = SignedDuration::from_hours(1);

/// The current password, checked against the stored hash; wrong, it is a problem of the form's field.
async fn check_current_password<S: SignInStore + ?Sized>(
    app: &App<S>,
    email: &SignInEmail,
    current: SecretString,
) -> Result<(), AppError> {
    let hash = app
        .store
        .get_account(email)
        .await?
        .and_then(|account| account.password_hash);
    if password_matches(hash, current).await? {
        Ok(())
    } else {
        tracing::info!("account change refused: the current password is not right");
        Err(ValidationError::new("current_password", "is not right").into())
    }
}

/// Replaces the password of the signed-in person. Every session of the account signed in before now ends, this one
/// included; the session returned replaces this browser's, so only the other devices are signed out.
#[tracing::instrument(skip_all, fields(business_id = %signed.business.id))]
pub async fn change_password<S: SignInStore + ?Sized>(
    app: &App<S>,
    signed: &SignedIn,
    current: SecretString,
    new: SecretString,
) -> Result<NewSession, AppError> {
    check_new_password(new.expose_secret())
        .map_err(|error| ValidationError::new("new_password", error.message))?;
    let email = &signed.member.email;
    count_request(
        app,
        &[(
            &format!("change-password:{}", email.as_ref()),
            MAX_PASSWORD_CHANGES,
        )],
        THROTTLE_WINDOW,
    )
    .await?;
    check_current_password(app, email, current).await?;
    let hash = hash_password(new).await?;
    let now = app.clock.now();
    app.store.set_staff_password(email, &hash, now).await?;
    app.store.delete_session(&signed.session.id_hash).await?;
    let created = accounts::start_session(app, signed.member.clone(), now).await?;
    tracing::info!("password changed; other sessions ended");
    Ok(created)
}

/// Sends a link to `new_email` that moves the signed-in person's account there. The current password is asked too,
/// so a session left open on a shared computer cannot hand the account to another address. An address that already
/// has an account is answered the same and sent nothing.
#[tracing::instrument(skip_all, fields(business_id = %signed.business.id))]
pub async fn request_email_change<S: SignInStore + ?Sized>(
    app: &App<S>,
    signed: &SignedIn,
    new_email: &str,
    current_password: SecretString,
    links: &Links,
) -> Result<SignInEmail, AppError> {
    let new_email = SignInEmail::try_from(new_email.to_owned())
        .map_err(|error| ValidationError::new("new_email", error.message))?;
    let email = &signed.member.email;
    if new_email == *email {
        return Err(
            ValidationError::new("new_email", "is the email you sign in with already").into(),
        );
    }
    count_request(
        app,
        &[(
            &format!("change-email:{}", email.as_ref()),
            MAX_EMAIL_CHANGES,
        )],
        EMAIL_CHANGE_WINDOW,
    )
    .await?;
    check_current_password(app, email, current_password).await?;
    if app.store.get_account(&new_email).await?.is_some() {
        tracing::info!("email change to an address that has an account: nothing sent");
        return Ok(new_email);
    }
    let token = random_token();
    let issued_at = app.clock.now();
    let expires_at = issued_at
        .checked_add(EMAIL_CHANGE_LINK_LIFETIME)
        .map_err(|error| AppError::Internal(error.to_string().into()))?;
    app.store
        .put_password_link(&PasswordLink {
            token_hash: token_hash(&token),
            email: email.clone(),
            business_id: signed.business.id,
            purpose: LinkPurpose::ChangeEmail,
            issued_at,
            expires_at,
            new_email: Some(new_email.clone()),
        })
        .await?;
    let url = links.with_token("/dashboard/confirm-email", &token);
    let message = emails::confirm_new_email(
        &new_email,
        signed.business.name.as_ref(),
        &url,
        EMAIL_CHANGE_LINK_LIFETIME.as_hours(),
    );
    tracing::info!("email change link sent to the new address");
    queue_email(app, message).await?;
    Ok(new_email)
}

/// Moves the link's account to the address the link was sent to; every session of the account ends, and it signs
/// in with the new address from now on. A link used, expired, of another purpose, or whose new address got an
/// account meanwhile, is invalid.
#[tracing::instrument(skip_all)]
pub async fn confirm_email_change<S: SignInStore + ?Sized>(
    app: &App<S>,
    token: &str,
) -> Result<SignInEmail, AppError> {
    let link = take_link(app, token, LinkPurpose::ChangeEmail).await?;
    let Some(new_email) = link.new_email else {
        return Err(AppError::PasswordLinkInvalid);
    };
    let belongs = app
        .store
        .get_account(&link.email)
        .await?
        .is_some_and(|account| account.business_id == link.business_id);
    if !belongs {
        return Err(AppError::PasswordLinkInvalid);
    }
    match app
        .store
        .change_account_email(&link.email, &new_email)
        .await
    {
        Ok(()) => {
            tracing::info!(business_id = %link.business_id, "email changed");
            Ok(new_email)
        }
        Err(StoreError::AlreadyExists | StoreError::NotFound) => {
            tracing::info!("email change refused: the address was taken meanwhile");
            Err(AppError::PasswordLinkInvalid)
        }
        Err(other) => Err(other.into()),
    }
}
