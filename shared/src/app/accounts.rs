//! Who may use a business's dashboard: its owner, staff the owner invites by email, passwords set from a single-use
//! link and kept as argon2id hashes, sessions, throttled sign-in, and the business's named API keys. Signing up and
//! resetting a forgotten password build on these (`sign_up`, `password_reset`).
//!
//! Every secret that reaches a browser (a link token, a session id, an API key) is random and at least 256 bits; the
//! store keeps only its SHA-256, so a leaked table opens no account.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::context::App;
use super::emails::{self, Links};
use super::error::{AppError, Missing};
use super::mail::queue_email;
use crate::domain::{ApiKey, Business, BusinessId, ValidationError};
use crate::ports::{
    Account, ApiKeyRecord, LinkPurpose, PasswordLink, Session, SignInEmail, StaffRole, StoreError,
};
use crate::ports::{ApiKeyStore, CatalogStore, SignInStore};

/// A session lasts a working day, then the person signs in again.
pub const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(12);
/// Long enough for an invitation to be read after a weekend.
pub const PASSWORD_LINK_LIFETIME: SignedDuration = SignedDuration::from_hours(72);
/// A failed sign-in counts against its account and address for this long after it happened (a sliding window, so a
/// burst across a quarter hour counts whole).
pub const THROTTLE_WINDOW: SignedDuration = SignedDuration::from_mins(15);
/// Failures per account within the window before that account's sign-in is refused.
pub const MAX_FAILURES_PER_ACCOUNT: usize = 5;
/// Failures per address within the window: higher, since an office shares one address.
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;
pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 256;
const MAX_KEY_NAME_CHARS: usize = 100;

/// 32 random bytes, URL-safe: link tokens, session ids, CSRF tokens.
pub fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How a presented token is looked up: its SHA-256, hex encoded.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn internal(error: impl std::fmt::Display) -> AppError {
    AppError::Internal(error.to_string().into())
}

/// An argon2id hash (the crate's defaults: 19 MiB, 2 passes, OWASP's minimum) in PHC form, computed off the
/// async runtime.
pub(super) async fn hash_password(password: SecretString) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0_u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(internal)?;
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(internal)
    })
    .await
    .map_err(internal)?
}

/// Verified against when the account does not exist, so an unknown email costs as long as a wrong password.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let salt = SaltString::encode_b64(&[7_u8; 16]).ok()?;
    Argon2::default()
        .hash_password(b"not anybody's password", &salt)
        .ok()
        .map(|hash| hash.to_string())
});

pub(super) async fn password_matches(
    hash: Option<String>,
    password: SecretString,
) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let (hash, real) = match hash {
            Some(hash) => (hash, true),
            None => (DUMMY_HASH.clone().unwrap_or_default(), false),
        };
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        let verified = Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok();
        real && verified
    })
    .await
    .map_err(internal)
}

/// Passwords of at least [`MIN_PASSWORD_CHARS`] that breach lists show people choose most, lowercase.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// A new password, checked the way NIST SP 800-63B asks: long enough, not one that attackers try first (a list of
/// the most common, one character repeated), anything else allowed.
pub(super) fn check_new_password(password: &str) -> Result<(), ValidationError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_CHARS {
        return Err(ValidationError::new(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if length > MAX_PASSWORD_CHARS {
        return Err(ValidationError::new(
            "password",
            format!("must be at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    let lowercase = password.to_lowercase();
    let one_character_repeated = lowercase
        .chars()
        .next()
        .is_some_and(|first| lowercase.chars().all(|c| c == first));
    if one_character_repeated || COMMON_PASSWORDS.lines().any(|common| common == lowercase) {
        return Err(ValidationError::new(
            "password",
            "is one of the passwords people choose most, so it is guessed first; choose another",
        ));
    }
    Ok(())
}

/// A link that sets a person's password; the token is shown once and never stored.
#[derive(Debug)]
pub struct NewPasswordLink {
    pub email: SignInEmail,
    pub token: SecretString,
    pub expires_at: Timestamp,
    /// `false` for the stand-in an invitation of an existing account answers with: it is stored nowhere, sets
    /// nothing, and is never emailed.
    pub usable: bool,
}

impl NewPasswordLink {
    /// The page that sets the password, under the dashboard at `public_base_url`.
    pub fn url(&self, public_base_url: &str) -> String {
        format!(
            "{}/dashboard/set-password?token={}",
            public_base_url.trim_end_matches('/'),
            self.token.expose_secret()
        )
    }
}

/// Invites `email` to the business as staff and returns the link that sets their password. Inviting again someone
/// who has not set a password yet renews their invitation. An email that already has an account (here, with a
/// password, or at another business) gets no link: the answer looks the same, its token is stored nowhere and sets
/// no password, so an invitation can neither take over an account nor tell the inviter that it exists. An existing
/// account changes its password only through its own session or a link its owner asked for.
#[tracing::instrument(skip_all, fields(%business_id))]
pub async fn invite_staff<S: SignInStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    email: &str,
) -> Result<NewPasswordLink, AppError> {
    let email = SignInEmail::try_from(email.to_owned())?;
    match create_member(app, &email, business_id, StaffRole::Staff).await? {
        Some(pending) if pending.role == StaffRole::Staff => {
            issue_invitation_link(app, &email, business_id).await
        }
        Some(_) | None => {
            tracing::info!("invitation of an existing account: no link issued");
            let expires_at = app
                .clock
                .now()
                .checked_add(PASSWORD_LINK_LIFETIME)
                .map_err(internal)?;
            Ok(NewPasswordLink {
                email,
                token: SecretString::from(random_token()),
                expires_at,
                usable: false,
            })
        }
    }
}

/// Invites `email` as [`invite_staff`] does and emails them the link (the page still shows it once, to copy). The
/// stand-in answered for an existing account is emailed to nobody.
#[tracing::instrument(skip_all, fields(business_id = %business.id))]
pub async fn invite_staff_by_email<S: SignInStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    email: &str,
    links: &Links,
) -> Result<NewPasswordLink, AppError> {
    let link = invite_staff(app, business.id, email).await?;
    if link.usable {
        let url = links.with_token("/dashboard/set-password", link.token.expose_secret());
        let message = emails::invitation(
            &link.email,
            business.name.as_ref(),
            &url,
            PASSWORD_LINK_LIFETIME.as_hours(),
        );
        queue_email(app, message).await?;
    }
    Ok(link)
}

/// Makes `email` the owner of the business and returns the link that sets their password; for whoever creates a
/// business (the local server's command line and demo, tests), never offered on a page. Asked again while that owner
/// has not set a password, it issues a fresh link; an email that has an account in any other way is refused.
#[tracing::instrument(skip_all, fields(%business_id))]
pub async fn invite_owner<S: SignInStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    email: &str,
) -> Result<NewPasswordLink, AppError> {
    let email = SignInEmail::try_from(email.to_owned())?;
    match create_member(app, &email, business_id, StaffRole::Owner).await? {
        Some(pending) if pending.role == StaffRole::Owner => {
            issue_invitation_link(app, &email, business_id).await
        }
        Some(_) | None => Err(ValidationError::new("email", "already has an account").into()),
    }
}

/// Creates the member, or finds them still waiting to set a password at this business (`Some` either way); `None`
/// when the email is an account already: with a password, or at another business.
async fn create_member<S: SignInStore + ?Sized>(
    app: &App<S>,
    email: &SignInEmail,
    business_id: BusinessId,
    role: StaffRole,
) -> Result<Option<Account>, AppError> {
    let member = Account {
        email: email.clone(),
        business_id,
        role,
        password_hash: None,
        invited_at: app.clock.now(),
        password_set_at: None,
    };
    match app.store.create_account(&member).await {
        Ok(()) => Ok(Some(member)),
        Err(StoreError::AlreadyExists) => {
            Ok(app.store.get_account(email).await?.filter(|existing| {
                existing.business_id == business_id && existing.password_hash.is_none()
            }))
        }
        Err(other) => Err(other.into()),
    }
}

/// The link an invitation sends: it sets a first password, for [`PASSWORD_LINK_LIFETIME`].
async fn issue_invitation_link<S: SignInStore + ?Sized>(
    app: &App<S>,
    email: &SignInEmail,
    business_id: BusinessId,
) -> Result<NewPasswordLink, AppError> {
    let purpose = LinkPurpose::SetPassword;
    issue_password_link(app, email, business_id, purpose, PASSWORD_LINK_LIFETIME).await
}

/// A fresh single-use link for `email`. Invitations ask for one only for an account without a password (a link for
/// one that has a password would let whoever holds it take the account over); signing up and a forgotten password
/// ask for one that is emailed to the account's own address, never shown on a page; the operator's owner link
/// ([`super::operator::owner_link`]) is the one other caller, an operator's deliberate decision.
pub(super) async fn issue_password_link<S: SignInStore + ?Sized>(
    app: &App<S>,
    email: &SignInEmail,
    business_id: BusinessId,
    purpose: LinkPurpose,
    lifetime: SignedDuration,
) -> Result<NewPasswordLink, AppError> {
    let token = random_token();
    let issued_at = app.clock.now();
    let expires_at = issued_at.checked_add(lifetime).map_err(internal)?;
    app.store
        .put_password_link(&PasswordLink {
            token_hash: token_hash(&token),
            email: email.clone(),
            business_id,
            purpose,
            issued_at,
            expires_at,
            new_email: None,
        })
        .await?;
    Ok(NewPasswordLink {
        email: email.clone(),
        token: SecretString::from(token),
        expires_at,
        usable: true,
    })
}

/// Sets the password of an invitation's owner and uses the link up; every session of that account signed in before
/// now is over (see [`current_session`]). A refused password leaves the link usable.
#[tracing::instrument(skip_all)]
pub async fn set_password<S: SignInStore + ?Sized>(
    app: &App<S>,
    token: &str,
    password: SecretString,
) -> Result<Account, AppError> {
    set_password_from_link(app, token, password, LinkPurpose::SetPassword).await
}

/// Takes the unexpired link of `token` if it is for `purpose`; a link of another purpose is used up all the same,
/// so a token tried at the wrong page is worth nothing after.
pub(super) async fn take_link<S: SignInStore + ?Sized>(
    app: &App<S>,
    token: &str,
    purpose: LinkPurpose,
) -> Result<PasswordLink, AppError> {
    app.store
        .take_password_link(&token_hash(token), app.clock.now())
        .await?
        .filter(|link| link.purpose == purpose)
        .ok_or(AppError::PasswordLinkInvalid)
}

/// Sets the password of the link's owner from a link of `purpose` (an invitation's or a reset's); every session of
/// that account signed in before now is over.
#[tracing::instrument(skip_all, fields(?purpose))]
pub async fn set_password_from_link<S: SignInStore + ?Sized>(
    app: &App<S>,
    token: &str,
    password: SecretString,
    purpose: LinkPurpose,
) -> Result<Account, AppError> {
    check_new_password(password.expose_secret())?;
    let hash = hash_password(password).await?;
    let link = take_link(app, token, purpose).await?;
    let now = app.clock.now();
    let member = app
        .store
        .get_account(&link.email)
        .await?
        .ok_or(AppError::PasswordLinkInvalid)?;
    // An invitation renewed while the person had not chosen a password yet must not reset the one they then chose.
    if member.business_id != link.business_id
        || member
            .password_set_at
            .is_some_and(|set_at| set_at >= link.issued_at)
    {
        tracing::warn!("password link refused: the account's password was set after it was issued");
        return Err(AppError::PasswordLinkInvalid);
    }
    app.store
        .set_staff_password(&link.email, &hash, now)
        .await?;
    app.store
        .get_account(&link.email)
        .await?
        .ok_or(AppError::NotFound(Missing::Account))
}

/// A session just created; `cookie_value` goes to the browser and nowhere else.
pub struct NewSession {
    pub cookie_value: SecretString,
    pub session: Session,
}

/// Until when `failures` (the newest first, at most `max`) refuse sign-in: until the oldest of the `max` newest ages
/// out, if there are `max` within the window.
fn throttled_until(failures: &[Timestamp], max: usize) -> Option<Timestamp> {
    throttled_until_within(failures, max, THROTTLE_WINDOW)
}

fn throttled_until_within(
    failures: &[Timestamp],
    max: usize,
    window: SignedDuration,
) -> Option<Timestamp> {
    let oldest_that_counts = failures.get(max.checked_sub(1)?)?;
    oldest_that_counts.checked_add(window).ok()
}

/// Counts one request against each `(subject, max)` (an address, an account) within `window`, refusing it with the
/// time to come back when any subject already had `max`. The records are the sign-in failures' own, under
/// subjects of their own, so links asked for by email are throttled the same way as guesses.
pub(super) async fn count_request<S: SignInStore + ?Sized>(
    app: &App<S>,
    subjects: &[(&str, usize)],
    window: SignedDuration,
) -> Result<(), AppError> {
    let now = app.clock.now();
    let since = now.checked_sub(window).map_err(internal)?;
    let mut retry_at = None;
    for (subject, max) in subjects {
        let recent = app
            .store
            .recent_sign_in_failures(subject, since, *max)
            .await?;
        retry_at = retry_at.max(throttled_until_within(&recent, *max, window));
    }
    if let Some(retry_at) = retry_at {
        return Err(AppError::TooManyRequests { retry_at });
    }
    let forget_after = now.checked_add(window).map_err(internal)?;
    for (subject, _) in subjects {
        app.store
            .record_sign_in_failure(subject, now, forget_after)
            .await?;
    }
    Ok(())
}

/// Signs in with email and password from `address`. While the account or the address has too many failures in the
/// last [`THROTTLE_WINDOW`], every attempt is refused, right passwords included, so guessing gains nothing. The
/// people of a business the operator disabled are refused too.
#[tracing::instrument(skip_all)]
pub async fn sign_in<S: CatalogStore + SignInStore + ?Sized>(
    app: &App<S>,
    email: &str,
    password: SecretString,
    address: &str,
) -> Result<NewSession, AppError> {
    let now = app.clock.now();
    let since = now.checked_sub(THROTTLE_WINDOW).map_err(internal)?;
    let email = SignInEmail::try_from(email.to_owned()).map_err(|_| AppError::SignInFailed)?;
    let account = format!("account:{}", email.as_ref());
    let from = format!("address:{address}");
    let (account_failures, address_failures) = tokio::try_join!(
        app.store
            .recent_sign_in_failures(&account, since, MAX_FAILURES_PER_ACCOUNT),
        app.store
            .recent_sign_in_failures(&from, since, MAX_FAILURES_PER_ADDRESS),
    )?;
    let throttled = [
        throttled_until(&account_failures, MAX_FAILURES_PER_ACCOUNT),
        throttled_until(&address_failures, MAX_FAILURES_PER_ADDRESS),
    ]
    .into_iter()
    .flatten()
    .max();
    if let Some(retry_at) = throttled {
        return Err(AppError::SignInThrottled { retry_at });
    }
    let member = app.store.get_account(&email).await?;
    let hash = member
        .as_ref()
        .and_then(|member| member.password_hash.clone());
    let matches = password_matches(hash, password).await?;
    let Some(member) = member.filter(|_| matches) else {
        let forget_after = now.checked_add(THROTTLE_WINDOW).map_err(internal)?;
        tokio::try_join!(
            app.store
                .record_sign_in_failure(&account, now, forget_after),
            app.store.record_sign_in_failure(&from, now, forget_after),
        )?;
        tracing::info!("sign-in refused");
        return Err(AppError::SignInFailed);
    };
    let disabled = app
        .store
        .get_business(member.business_id)
        .await?
        .is_none_or(|business| business.is_disabled());
    if disabled {
        // Not a failed guess (the password was right), so nothing counts towards throttling.
        tracing::info!(business_id = %member.business_id, "sign-in refused: the business is disabled");
        return Err(AppError::SignInFailed);
    }
    // The right password: only now may the answer say the address still has to be confirmed.
    if member.awaiting_verification() {
        return Err(AppError::EmailNotVerified);
    }
    let created = start_session(app, member, now).await?;
    tracing::info!(business_id = %created.session.business_id, "signed in");
    Ok(created)
}

/// A new session of `member`, signed in `now`.
pub(super) async fn start_session<S: SignInStore + ?Sized>(
    app: &App<S>,
    member: Account,
    now: Timestamp,
) -> Result<NewSession, AppError> {
    let cookie_value = random_token();
    let session = Session {
        id_hash: token_hash(&cookie_value),
        business_id: member.business_id,
        email: member.email,
        csrf_token: random_token(),
        created_at: now,
        expires_at: now.checked_add(SESSION_LIFETIME).map_err(internal)?,
    };
    app.store.put_session(&session).await?;
    Ok(NewSession {
        cookie_value: SecretString::from(cookie_value),
        session,
    })
}

/// A live session, with its business and the member as stored now (their role is read here on every request, so a
/// change of role or a removal takes effect at once).
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub session: Session,
    pub business: Business,
    pub member: Account,
}

/// The live session a cookie names; `None` when it expired, ended, never existed, or was signed in before its
/// member's password was last set from a link (setting a password ends every session of the account), when the
/// member no longer belongs to the session's business, or when the operator disabled the business.
pub async fn current_session<S: CatalogStore + SignInStore + ?Sized>(
    app: &App<S>,
    cookie_value: &str,
) -> Result<Option<SignedIn>, AppError> {
    let Some(session) = app
        .store
        .get_session(&token_hash(cookie_value), app.clock.now())
        .await?
    else {
        return Ok(None);
    };
    let (business, member) = tokio::try_join!(
        app.store.get_business(session.business_id),
        app.store.get_account(&session.email),
    )?;
    // A session signed in at the very instant the password was set used that password: only older ones are over.
    let member = member.filter(|member| {
        member.business_id == session.business_id
            && member
                .password_set_at
                .is_some_and(|set_at| session.created_at >= set_at)
    });
    let business = business.filter(|business| !business.is_disabled());
    Ok(business.zip(member).map(|(business, member)| SignedIn {
        session,
        business,
        member,
    }))
}

/// Ends the session on the server, so the cookie is worthless even if kept.
pub async fn sign_out<S: SignInStore + ?Sized>(
    app: &App<S>,
    session: &Session,
) -> Result<(), AppError> {
    Ok(app.store.delete_session(&session.id_hash).await?)
}

pub async fn list_accounts<S: SignInStore + ?Sized>(
    app: &App<S>,
    business: &Business,
) -> Result<Vec<Account>, AppError> {
    Ok(app.store.list_accounts(business.id).await?)
}

/// Creates a named key for the business; the key in clear is returned once and never stored.
#[tracing::instrument(skip_all, fields(business_id = %business.id))]
pub async fn create_api_key<S: ApiKeyStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    name: &str,
) -> Result<(ApiKeyRecord, ApiKey), AppError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_KEY_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ValidationError::new(
            "name",
            format!("must be 1 to {MAX_KEY_NAME_CHARS} printable characters"),
        )
        .into());
    }
    let key = ApiKey::generate();
    let hash = key.hash();
    let record = ApiKeyRecord {
        id: ApiKeyRecord::id_of(&hash),
        business_id: business.id,
        name: name.to_owned(),
        hash,
        hint: key.expose().chars().take(7).collect(),
        created_at: app.clock.now(),
        revoked_at: None,
    };
    app.store.create_api_key(&record).await?;
    Ok((record, key))
}

pub async fn list_api_keys<S: ApiKeyStore + ?Sized>(
    app: &App<S>,
    business: &Business,
) -> Result<Vec<ApiKeyRecord>, AppError> {
    Ok(app.store.list_api_keys(business.id).await?)
}

/// Revokes a key of the business: the next request with it is refused.
#[tracing::instrument(skip_all, fields(business_id = %business.id, key_id))]
pub async fn revoke_api_key<S: ApiKeyStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    key_id: &str,
) -> Result<ApiKeyRecord, AppError> {
    match app
        .store
        .revoke_api_key(business.id, key_id, app.clock.now())
        .await
    {
        Ok(record) => Ok(record),
        Err(StoreError::NotFound) => Err(AppError::NotFound(Missing::ApiKey)),
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify_only_themselves() {
        let hash = hash_password(SecretString::from("correct horse battery".to_owned()))
            .await
            .ok();
        assert!(
            hash.as_deref()
                .is_some_and(|hash| hash.starts_with("$argon2id$"))
        );
        let right = password_matches(
            hash.clone(),
            SecretString::from("correct horse battery".to_owned()),
        );
        assert!(matches!(right.await, Ok(true)));
        let wrong = password_matches(
            hash,
            SecretString::from("correct horse battery!".to_owned()),
        );
        assert!(matches!(wrong.await, Ok(false)));
        let nobody = password_matches(
            None,
            SecretString::from("not anybody's password".to_owned()),
        );
        assert!(matches!(nobody.await, Ok(false)));
    }

    #[test]
    fn short_and_common_passwords_are_refused() {
        assert!(check_new_password("12345678901").is_err());
        assert!(check_new_password("an owner's phrase").is_ok());
        for common in [
            "123456789012",
            "Password1234",
            "aaaaaaaaaaaaaaaa",
            "QwertyuiopASDF",
        ] {
            assert!(check_new_password(common).is_err(), "{common}");
        }
    }

    #[test]
    fn sign_in_is_refused_until_the_oldest_failure_that_counts_ages_out() {
        let at = |text: &str| text.parse::<Timestamp>().ok();
        let newest_first: Vec<Timestamp> = [
            "2027-03-01T09:20:00Z",
            "2027-03-01T09:16:00Z",
            "2027-03-01T09:14:59Z",
        ]
        .iter()
        .filter_map(|text| at(text))
        .collect();
        assert_eq!(
            throttled_until(&newest_first, 3),
            at("2027-03-01T09:29:59Z")
        );
        assert_eq!(
            throttled_until(&newest_first, 2),
            at("2027-03-01T09:31:00Z")
        );
        assert_eq!(throttled_until(&newest_first, 4), None);
        assert_eq!(throttled_until(&newest_first, 0), None);
    }
}
