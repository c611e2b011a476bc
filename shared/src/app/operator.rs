//! The operator's commands over whole businesses: what `booking-admin` runs against a deployed stack (or a local
//! data folder), and what the local server's `create-business` runs. Each command is one use case here, so the two
//! binaries only parse arguments and print.
//!
//! Disabling refuses the business's keys and sign-ins at once and stops following its calendar (the push channel
//! closed at the provider, the cached busy time forgotten), but keeps the connection and its tokens, so enabling
//! resumes where it was. Deleting is written to be run again after a crash: each step finds what is left and
//! removes it, and the business's own record goes last.

use jiff::Timestamp;
use secrecy::ExposeSecret;
use serde::Serialize;

use super::accounts::{self, NewPasswordLink};
use super::businesses::{NewBusinessCredentials, create_business};
use super::calendar_tokens;
use super::context::App;
use super::emails::{self, Links};
use super::error::{AppError, Missing};
use super::inbound_sync::{resume_watching, stop_watching};
use super::integrations::disconnect_connection;
use crate::domain::{Business, BusinessId, ConnectionId};
use crate::ports::ConnectionRef;
use crate::ports::{
    BusyTimeStore, CatalogStore, ConnectionStore, LeaseStore, LinkPurpose, OperatorStore,
    SignInEmail, SignInStore, StaffRole, StoredRecord,
};

/// A business just created, with the only copy of its API key and, when an owner was named, their link.
#[derive(Debug)]
pub struct CreatedBusiness {
    pub credentials: NewBusinessCredentials,
    pub owner_link: Option<NewPasswordLink>,
}

impl CreatedBusiness {
    /// What the commands print, one JSON object for scripts: the business, its key and the owner's link on the
    /// dashboard at `public_base_url`. This is the one place the key is shown.
    pub fn to_json(&self, public_base_url: &str) -> serde_json::Value {
        let business = &self.credentials.business;
        let mut printed = serde_json::json!({
            "business_id": business.id,
            "name": business.name.as_ref(),
            "time_zone": business.time_zone.name(),
            "api_key": self.credentials.api_key.expose(),
        });
        if let Some(link) = &self.owner_link {
            printed["owner_email"] = link.email.as_ref().into();
            printed["set_password_url"] = link.url(public_base_url).into();
        }
        printed
    }
}

/// Creates a business and, when `owner_email` is given, makes that person its owner with a link to set a password.
/// The email is checked before anything is written, so a refused owner leaves no business behind.
#[tracing::instrument(skip_all)]
pub async fn create_business_with_owner<S: CatalogStore + SignInStore + ?Sized>(
    app: &App<S>,
    name: String,
    time_zone: String,
    owner_email: Option<&str>,
) -> Result<CreatedBusiness, AppError> {
    if let Some(email) = owner_email {
        let email = SignInEmail::try_from(email.to_owned())?;
        if app.store.get_account(&email).await?.is_some() {
            return Err(
                crate::domain::ValidationError::new("email", "already has an account").into(),
            );
        }
    }
    let credentials =
        create_business(app.store.as_ref(), app.clock.as_ref(), name, time_zone).await?;
    let owner_link = match owner_email {
        Some(email) => Some(accounts::invite_owner(app, credentials.business.id, email).await?),
        None => None,
    };
    tracing::info!(business_id = %credentials.business.id, "business created");
    Ok(CreatedBusiness {
        credentials,
        owner_link,
    })
}

/// Emails the owner their link to set a password, through the mailer itself rather than the queue: the operator's
/// command waits for the answer, so a link that could not be sent is reported at once rather than lost with the
/// process. `links` is the dashboard on `PUBLIC_BASE_URL`.
#[tracing::instrument(skip_all, fields(business_id = %business.id))]
pub async fn email_owner_link<S: ?Sized>(
    app: &App<S>,
    business: &Business,
    link: &NewPasswordLink,
    links: &Links,
) -> Result<(), AppError> {
    let mailer = app
        .mailer
        .as_ref()
        .ok_or_else(|| AppError::Internal("no mailer is configured (MAIL_FROM)".into()))?;
    let url = links.with_token("/dashboard/set-password", link.token.expose_secret());
    let message = emails::owner_welcome(
        &link.email,
        business.name.as_ref(),
        &url,
        accounts::PASSWORD_LINK_LIFETIME.as_hours(),
    );
    mailer
        .send(&message)
        .await
        .map_err(|error| AppError::Internal(Box::new(error)))?;
    tracing::info!("owner link emailed by the operator");
    Ok(())
}

/// Every business, disabled ones included, ordered by id.
pub async fn list_businesses<S: OperatorStore + ?Sized>(
    app: &App<S>,
) -> Result<Vec<Business>, AppError> {
    Ok(app.store.list_businesses().await?)
}

async fn existing<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
) -> Result<Business, AppError> {
    app.store
        .get_business(business_id)
        .await?
        .ok_or(AppError::NotFound(Missing::Business))
}

/// A new single-use link that sets the password of the business's owner: for an owner who is locked out (a
/// forgotten password, a lost invitation). Unlike an invitation it also replaces a password already set, which is
/// why only the operator can ask for it; the sessions signed in with the old password end when the new one is set.
#[tracing::instrument(skip_all, fields(%business_id))]
pub async fn owner_link<S: CatalogStore + SignInStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
) -> Result<NewPasswordLink, AppError> {
    existing(app, business_id).await?;
    let owner = app
        .store
        .list_accounts(business_id)
        .await?
        .into_iter()
        .find(|member| member.role == StaffRole::Owner)
        .ok_or(AppError::NotFound(Missing::Account))?;
    tracing::info!("owner link issued by the operator");
    accounts::issue_password_link(
        app,
        &owner.email,
        business_id,
        LinkPurpose::SetPassword,
        accounts::PASSWORD_LINK_LIFETIME,
    )
    .await
}

/// Disables the business: its keys answer 401 and its people cannot sign in from now on (their sessions end), and
/// its calendar is no longer followed (the push channel is stopped at the provider). Disabling twice keeps the
/// first time.
#[tracing::instrument(skip_all, fields(%business_id))]
pub async fn disable_business<S>(
    app: &App<S>,
    business_id: BusinessId,
) -> Result<Business, AppError>
where
    S: CatalogStore + OperatorStore + ConnectionStore + BusyTimeStore + LeaseStore + ?Sized,
{
    let business = existing(app, business_id).await?;
    let disabled_at = business.disabled_at.unwrap_or_else(|| app.clock.now());
    // Refused first: the calendar can be stopped only with the provider reachable, the business at any time.
    app.store
        .set_business_disabled(business_id, Some(disabled_at))
        .await?;
    stop_following_calendar(app, business_id).await?;
    tracing::info!("business disabled");
    existing(app, business_id).await
}

/// Closes the push channels of the business's calendars at their providers and forgets the watches and their busy
/// time; the connections and their tokens stay. A provider this process is not configured for is an error rather
/// than a channel left open.
async fn stop_following_calendar<S>(app: &App<S>, business_id: BusinessId) -> Result<(), AppError>
where
    S: ConnectionStore + BusyTimeStore + LeaseStore + ?Sized,
{
    let watches = app.store.calendar_watches(business_id).await?;
    let Some(first) = watches.first() else {
        return Ok(());
    };
    let integrations = app
        .integrations
        .as_deref()
        .ok_or(AppError::ProviderNotConfigured(first.provider))?;
    for watch in &watches {
        integrations.provider(watch.provider)?;
    }
    stop_watching(app, integrations, business_id, |_| true).await
}

/// Enables the business again: its keys and sign-ins work, and its selected calendar is followed again (a full
/// sync is queued, which reopens the push channel and reads the busy time afresh).
#[tracing::instrument(skip_all, fields(%business_id))]
pub async fn enable_business<S>(app: &App<S>, business_id: BusinessId) -> Result<Business, AppError>
where
    S: CatalogStore + OperatorStore + ConnectionStore + BusyTimeStore + LeaseStore + ?Sized,
{
    existing(app, business_id).await?;
    let connections = app.store.calendar_connections(business_id).await?;
    // Checked before anything changes: a process that cannot follow the calendars leaves the business disabled.
    let integrations = match connections.first() {
        Some(connection) => Some(
            app.integrations
                .as_deref()
                .ok_or(AppError::ProviderNotConfigured(connection.provider))?,
        ),
        None => None,
    };
    app.store.set_business_disabled(business_id, None).await?;
    if let Some(integrations) = integrations {
        for connection in &connections {
            resume_watching(app, integrations, connection).await?;
        }
    }
    tracing::info!("business enabled");
    existing(app, business_id).await
}

/// Every record of a business, as one JSON document.
#[derive(Debug, Serialize)]
pub struct BusinessExport {
    pub business: Business,
    pub exported_at: Timestamp,
    /// Each record with where it is stored; index entries, which only repeat what a record holds, are left out.
    pub records: Vec<StoredRecord>,
}

#[tracing::instrument(skip_all, fields(%business_id))]
pub async fn export_business<S: CatalogStore + OperatorStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
) -> Result<BusinessExport, AppError> {
    let business = existing(app, business_id).await?;
    let records = app
        .store
        .business_records(business_id)
        .await?
        .into_iter()
        .filter(|record| record.content.is_some())
        .collect();
    Ok(BusinessExport {
        business,
        exported_at: app.clock.now(),
        records,
    })
}

/// What a deletion removed in this run (a run that finishes an earlier one counts only what was left).
#[derive(Debug, Serialize)]
pub struct DeletionReport {
    pub business_id: BusinessId,
    pub records_deleted: usize,
}

/// Deletes the business and every record of it: first it is disabled (so it stops being served), its calendar
/// disconnected (the push channel stopped at the provider, the grant revoked, its tokens deleted from the secret
/// store), then each stored record, the business's own last. Deleting a business that is already gone succeeds, and
/// a run stopped half-way is finished by running it again.
#[tracing::instrument(skip_all, fields(%business_id))]
pub async fn delete_business<S>(
    app: &App<S>,
    business_id: BusinessId,
) -> Result<DeletionReport, AppError>
where
    S: CatalogStore + OperatorStore + ConnectionStore + BusyTimeStore + LeaseStore + ?Sized,
{
    if let Some(business) = app.store.get_business(business_id).await? {
        if !business.is_disabled() {
            app.store
                .set_business_disabled(business_id, Some(app.clock.now()))
                .await?;
        }
        for connection in app.store.calendar_connections(business_id).await? {
            disconnect_connection(app, &connection).await?;
        }
        // A watch or tokens left by a disconnect that failed half-way, or by a connection already removed.
        stop_following_calendar(app, business_id).await?;
        delete_tokens(app, business_id).await?;
    }
    let records_deleted = delete_records(app.store.as_ref(), business_id).await?;
    tracing::info!(records_deleted, "business deleted");
    Ok(DeletionReport {
        business_id,
        records_deleted,
    })
}

async fn delete_tokens<S: ?Sized>(app: &App<S>, business_id: BusinessId) -> Result<(), AppError> {
    let Some(integrations) = app.integrations.as_deref() else {
        return Ok(());
    };
    // The first connection's tokens are filed by provider; every other connection's went with its disconnect.
    for profile in app.registry.iter() {
        let first_connection = ConnectionRef {
            business_id,
            id: ConnectionId::of_first_connection(business_id),
            provider: profile.kind,
        };
        integrations
            .secrets
            .delete(&calendar_tokens::secret_name(first_connection)?)
            .await
            .map_err(|error| AppError::Internal(Box::new(error)))?;
    }
    Ok(())
}

/// Removes every stored record of the business in the store's order (its own record last); what an earlier run
/// removed is simply not listed again.
async fn delete_records<S: OperatorStore + ?Sized>(
    store: &S,
    business_id: BusinessId,
) -> Result<usize, AppError> {
    let records = store.business_records(business_id).await?;
    for record in &records {
        store.delete_business_record(&record.location).await?;
    }
    Ok(records.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use secrecy::{ExposeSecret, SecretString};

    use super::*;
    use crate::adapters::{EmbeddedStore, InProcessQueue};
    use crate::ports::{QueueSettings, RecordLocation, StoreError, SystemClock};

    fn app() -> (App, tempfile::TempDir) {
        let directory = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&directory.path().join("store.redb")).unwrap();
        let app = App::new(
            Arc::new(store),
            Arc::new(InProcessQueue::new(QueueSettings::default())),
            Arc::new(SystemClock),
        );
        (app, directory)
    }

    fn token(link: &NewPasswordLink) -> String {
        link.token.expose_secret().to_owned()
    }

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    async fn with_owner(app: &App, email: &str) -> CreatedBusiness {
        create_business_with_owner(
            app,
            "Harbour Dental".into(),
            "Europe/Berlin".into(),
            Some(email),
        )
        .await
        .unwrap()
    }

    /// The store as a crash would leave it: the first `allowed` deletes go through, then the process "dies".
    struct CrashingAfter {
        store: Arc<dyn crate::ports::Store>,
        allowed: AtomicUsize,
    }

    #[async_trait]
    impl OperatorStore for CrashingAfter {
        async fn list_businesses(&self) -> Result<Vec<Business>, StoreError> {
            self.store.list_businesses().await
        }

        async fn set_business_disabled(
            &self,
            id: BusinessId,
            disabled_at: Option<Timestamp>,
        ) -> Result<(), StoreError> {
            self.store.set_business_disabled(id, disabled_at).await
        }

        async fn business_records(&self, id: BusinessId) -> Result<Vec<StoredRecord>, StoreError> {
            self.store.business_records(id).await
        }

        async fn delete_business_record(
            &self,
            location: &RecordLocation,
        ) -> Result<(), StoreError> {
            if self.allowed.fetch_sub(1, Ordering::SeqCst) == 0 {
                return Err(StoreError::Backend("the process died".into()));
            }
            self.store.delete_business_record(location).await
        }
    }

    #[tokio::test]
    async fn a_deletion_stopped_half_way_is_finished_by_running_it_again() {
        let (app, _directory) = app();
        let created = with_owner(&app, "owner@harbour.test").await;
        let other = with_owner(&app, "owner@other.test").await;
        let id = created.credentials.business.id;
        let records = app.store.business_records(id).await.unwrap().len();
        assert!(
            records >= 5,
            "a business, its key, its owner and the owner's link: {records}"
        );

        let crashing = CrashingAfter {
            store: app.store.clone(),
            allowed: AtomicUsize::new(3),
        };
        assert!(delete_records(&crashing, id).await.is_err());
        assert_eq!(
            app.store.business_records(id).await.unwrap().len(),
            records - 3
        );
        assert!(
            app.store.get_business(id).await.unwrap().is_some(),
            "still there to finish"
        );

        let report = delete_business(&app, id).await.unwrap();
        assert_eq!(report.records_deleted, records - 3);
        assert!(app.store.business_records(id).await.unwrap().is_empty());
        assert!(app.store.get_business(id).await.unwrap().is_none());
        let again = delete_business(&app, id).await.unwrap();
        assert_eq!(again.records_deleted, 0, "deleting what is gone succeeds");
        let remaining = list_businesses(&app).await.unwrap();
        assert_eq!(remaining, vec![other.credentials.business]);
    }

    #[tokio::test]
    async fn an_owner_link_replaces_a_forgotten_password_and_only_the_operator_issues_one() {
        let (app, _directory) = app();
        let created = with_owner(&app, "owner@harbour.test").await;
        let id = created.credentials.business.id;
        let invitation = token(created.owner_link.as_ref().unwrap());
        accounts::set_password(&app, &invitation, secret("forgotten password"))
            .await
            .unwrap();
        // The way an invitation is renewed gives a locked-out owner nothing.
        assert!(
            accounts::invite_owner(&app, id, "owner@harbour.test")
                .await
                .is_err()
        );

        let link = owner_link(&app, id).await.unwrap();
        assert_eq!(link.email.as_ref(), "owner@harbour.test");
        accounts::set_password(&app, &token(&link), secret("a brand new password"))
            .await
            .unwrap();
        assert!(
            accounts::sign_in(
                &app,
                "owner@harbour.test",
                secret("forgotten password"),
                "a"
            )
            .await
            .is_err()
        );
        assert!(
            accounts::sign_in(
                &app,
                "owner@harbour.test",
                secret("a brand new password"),
                "a"
            )
            .await
            .is_ok()
        );
        assert!(
            accounts::set_password(&app, &token(&link), secret("used twice, refused"))
                .await
                .is_err(),
            "single use"
        );
        assert!(matches!(
            owner_link(&app, BusinessId::generate()).await,
            Err(AppError::NotFound(Missing::Business))
        ));
    }

    #[tokio::test]
    async fn a_refused_owner_leaves_no_business_behind() {
        let (app, _directory) = app();
        with_owner(&app, "owner@harbour.test").await;
        let refused = create_business_with_owner(
            &app,
            "Second".into(),
            "Europe/Berlin".into(),
            Some("owner@harbour.test"),
        )
        .await;
        assert!(matches!(refused, Err(AppError::Validation(_))));
        assert_eq!(list_businesses(&app).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_disabled_business_cannot_sign_in_until_enabled() {
        let (app, _directory) = app();
        let created = with_owner(&app, "owner@harbour.test").await;
        let id = created.credentials.business.id;
        let invitation = token(created.owner_link.as_ref().unwrap());
        accounts::set_password(&app, &invitation, secret("the owner's password"))
            .await
            .unwrap();
        let session = accounts::sign_in(
            &app,
            "owner@harbour.test",
            secret("the owner's password"),
            "a",
        )
        .await
        .unwrap();
        let cookie = session.cookie_value.expose_secret().to_owned();

        let disabled = disable_business(&app, id).await.unwrap();
        assert!(disabled.is_disabled());
        assert!(
            accounts::current_session(&app, &cookie)
                .await
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            accounts::sign_in(
                &app,
                "owner@harbour.test",
                secret("the owner's password"),
                "a"
            )
            .await,
            Err(AppError::SignInFailed)
        ));
        let again = disable_business(&app, id).await.unwrap();
        assert_eq!(
            again.disabled_at, disabled.disabled_at,
            "the first time is kept"
        );

        assert!(!enable_business(&app, id).await.unwrap().is_disabled());
        assert!(
            accounts::sign_in(
                &app,
                "owner@harbour.test",
                secret("the owner's password"),
                "a"
            )
            .await
            .is_ok()
        );
    }
}
