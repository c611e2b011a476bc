//! A business signs itself up: its name and time zone, the owner's email and password. It gets the business and an
//! owner whose password works once they follow the link emailed to them (single-use, [`VERIFICATION_LINK_LIFETIME`]).
//! The answer is the same whether or not the email already has an account; that address gets an "you already have
//! an account" message instead, so nobody learns from the page who has one.

use jiff::SignedDuration;
use secrecy::{ExposeSecret, SecretString};

use super::accounts::{self, check_new_password, count_request, hash_password, take_link};
use super::businesses::create_business;
use super::context::App;
use super::emails::{self, Links};
use super::error::AppError;
use super::mail::queue_email;
use crate::domain::{BusinessName, BusinessTimeZone, ValidationError};
use crate::ports::{Account, CatalogStore, LinkPurpose, SignInEmail, SignInStore, StaffRole};

/// A day: long enough to find the message the next morning.
pub const VERIFICATION_LINK_LIFETIME: SignedDuration = SignedDuration::from_hours(24);
/// Asking again for the confirmation link: per address, within [`RESEND_WINDOW`].
pub const MAX_RESENDS_PER_ACCOUNT: usize = 3;
pub const MAX_SIGN_UPS_PER_ADDRESS: usize = 10;
pub const RESEND_WINDOW: SignedDuration = SignedDuration::from_hours(1);

/// The sign-up form once every field was read: what the use case acts on.
pub struct SignUp {
    pub business_name: BusinessName,
    pub time_zone: BusinessTimeZone,
    pub email: SignInEmail,
    pub password: SecretString,
}

impl SignUp {
    /// Every field checked at once, so the page can show every problem together.
    pub fn parse(
        business_name: &str,
        time_zone: &str,
        email: &str,
        password: SecretString,
    ) -> Result<Self, Vec<ValidationError>> {
        let name = BusinessName::try_from(business_name.to_owned());
        let zone = BusinessTimeZone::try_from(time_zone.to_owned());
        let email = SignInEmail::try_from(email.to_owned());
        let checked = check_new_password(password.expose_secret());
        match (name, zone, email, checked) {
            (Ok(business_name), Ok(time_zone), Ok(email), Ok(())) => Ok(Self {
                business_name,
                time_zone,
                email,
                password,
            }),
            // Named as the form names its fields, so each message stands beside its own.
            (name, zone, email, checked) => Err([
                name.err()
                    .map(|error| ValidationError::new("business_name", error.message)),
                zone.err()
                    .map(|error| ValidationError::new("time_zone", error.message)),
                email
                    .err()
                    .map(|error| ValidationError::new("email", error.message)),
                checked.err(),
            ]
            .into_iter()
            .flatten()
            .collect()),
        }
    }
}

/// Signs the business up (see the module's documentation); `address` is the client's, throttled like sign-in.
#[tracing::instrument(skip_all)]
pub async fn sign_up<S: CatalogStore + SignInStore + ?Sized>(
    app: &App<S>,
    form: SignUp,
    address: &str,
    links: &Links,
) -> Result<(), AppError> {
    count_request(
        app,
        &[(&format!("sign-up:{address}"), MAX_SIGN_UPS_PER_ADDRESS)],
        RESEND_WINDOW,
    )
    .await?;
    // Hashed before anything else, so an existing address answers after the same work as a new one.
    let hash = hash_password(form.password).await?;
    if app.store.get_account(&form.email).await?.is_some() {
        return tell_about_existing_account(app, &form.email, links).await;
    }
    let created = create_business(
        app.store.as_ref(),
        app.clock.as_ref(),
        form.business_name.into(),
        form.time_zone.name().to_owned(),
    )
    .await?;
    let owner = Account {
        email: form.email.clone(),
        business_id: created.business.id,
        role: StaffRole::Owner,
        password_hash: Some(hash),
        invited_at: app.clock.now(),
        password_set_at: None,
    };
    match app.store.create_account(&owner).await {
        Ok(()) => {}
        // Signed up twice at the same moment: the business of the second stays without an owner, unreachable.
        Err(crate::ports::StoreError::AlreadyExists) => {
            tracing::warn!(business_id = %created.business.id, "sign-up raced with another for the same email");
            return tell_about_existing_account(app, &form.email, links).await;
        }
        Err(other) => return Err(other.into()),
    }
    tracing::info!(business_id = %created.business.id, "business signed up");
    send_verification(app, &owner, created.business.name.as_ref(), links).await
}

async fn tell_about_existing_account<S: SignInStore + ?Sized>(
    app: &App<S>,
    email: &SignInEmail,
    links: &Links,
) -> Result<(), AppError> {
    tracing::info!("sign-up with an email that has an account: told by email");
    let message = emails::already_have_an_account(
        email,
        &links.page("/dashboard/sign-in"),
        &links.page("/dashboard/forgot-password"),
    );
    queue_email(app, message).await
}

async fn send_verification<S: SignInStore + ?Sized>(
    app: &App<S>,
    owner: &Account,
    business_name: &str,
    links: &Links,
) -> Result<(), AppError> {
    let link = accounts::issue_password_link(
        app,
        &owner.email,
        owner.business_id,
        LinkPurpose::VerifyEmail,
        VERIFICATION_LINK_LIFETIME,
    )
    .await?;
    let url = links.with_token("/dashboard/verify-email", link.token.expose_secret());
    let message = emails::verify_email(
        &owner.email,
        business_name,
        &url,
        VERIFICATION_LINK_LIFETIME.as_hours(),
    );
    queue_email(app, message).await
}

/// Emails a fresh confirmation link to `email` if it belongs to an owner still awaiting it; the answer is the same
/// for any other address. At most [`MAX_RESENDS_PER_ACCOUNT`] an hour per address typed.
#[tracing::instrument(skip_all)]
pub async fn resend_verification<S: CatalogStore + SignInStore + ?Sized>(
    app: &App<S>,
    email: &str,
    links: &Links,
) -> Result<(), AppError> {
    let Ok(email) = SignInEmail::try_from(email.to_owned()) else {
        return Ok(());
    };
    count_request(
        app,
        &[(
            &format!("verify:{}", email.as_ref()),
            MAX_RESENDS_PER_ACCOUNT,
        )],
        RESEND_WINDOW,
    )
    .await?;
    let Some(owner) = app
        .store
        .get_account(&email)
        .await?
        .filter(Account::awaiting_verification)
    else {
        return Ok(());
    };
    let Some(business) = app.store.get_business(owner.business_id).await? else {
        return Ok(());
    };
    send_verification(app, &owner, business.name.as_ref(), links).await
}

/// Confirms the email of the link's owner, which makes the password they chose at sign-up work.
#[tracing::instrument(skip_all)]
pub async fn verify_email<S: SignInStore + ?Sized>(
    app: &App<S>,
    token: &str,
) -> Result<Account, AppError> {
    let link = take_link(app, token, LinkPurpose::VerifyEmail).await?;
    let member = app
        .store
        .get_account(&link.email)
        .await?
        .filter(|member| member.business_id == link.business_id)
        .ok_or(AppError::PasswordLinkInvalid)?;
    let Some(hash) = member.password_hash.as_deref() else {
        return Err(AppError::PasswordLinkInvalid);
    };
    // Confirmed already (a second link, or a reset since): nothing left to do, and the password stays.
    if !member.awaiting_verification() {
        return Ok(member);
    }
    app.store
        .set_staff_password(&member.email, hash, app.clock.now())
        .await?;
    tracing::info!(business_id = %member.business_id, "email confirmed");
    Ok(member)
}
