//! A "connect your calendar" link: the owner emails it to a staff member, who follows it and connects a calendar
//! account of their own for that member (OAuth needs the account holder's own consent), without a dashboard
//! account. It is a single-use link like a password's ([`LinkPurpose::ConnectCalendar`], only the token's SHA-256
//! stored) that lives [`CONNECT_LINK_LIFETIME`] and is used up once a connection has been made with it: opening its
//! page or starting at the provider leaves it usable, so a declined consent or a closed tab can be tried again.
//! Sending a member a new link leaves older ones usable until they expire or are used (the store finds links by
//! token only); sends are throttled per member.

use jiff::SignedDuration;
use secrecy::ExposeSecret;

use super::accounts::{count_request, issue_password_link, token_hash};
use super::context::App;
use super::emails::{self, Links};
use super::error::AppError;
use super::integrations;
use super::mail::queue_email;
use super::staff::get_staff_member;
use crate::domain::{Business, StaffId, StaffMember};
use crate::ports::{
    CalendarConnection, CatalogStore, ConnectionStore, LinkPurpose, PasswordLink, ProviderKind,
    SignInEmail, SignInStore,
};

/// A week: a stylist may read the message days after the owner sent it.
pub const CONNECT_LINK_LIFETIME: SignedDuration = SignedDuration::from_hours(7 * 24);
pub const CONNECT_LINK_WINDOW: SignedDuration = SignedDuration::from_hours(24);
/// Links sent for one member within [`CONNECT_LINK_WINDOW`]: a mistyped address or a lost message or two, never
/// a mailbox flooded from the dashboard.
pub const MAX_CONNECT_LINKS_PER_MEMBER: usize = 5;
/// The page the emailed link opens.
pub const CONNECT_LINK_PATH: &str = "/dashboard/connect-calendar";

/// Emails `email_address` a link that connects a calendar for the business's member `staff_id`, who must be active.
/// The address is read as an invitation's is; it is never logged, nor is the token. Answers the address as read.
#[tracing::instrument(skip_all, fields(business_id = %business.id, %staff_id))]
pub async fn send_connect_link<S: CatalogStore + SignInStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    staff_id: StaffId,
    email_address: &str,
    links: &Links,
) -> Result<SignInEmail, AppError> {
    let email = SignInEmail::try_from(email_address.to_owned())?;
    let member = get_staff_member(app, business, staff_id).await?;
    if !member.active {
        return Err(AppError::StaffInactive);
    }
    count_request(
        app,
        &[(
            &format!("connect-link:{}:{staff_id}", business.id),
            MAX_CONNECT_LINKS_PER_MEMBER,
        )],
        CONNECT_LINK_WINDOW,
    )
    .await?;
    let purpose = LinkPurpose::ConnectCalendar { staff_id };
    let link =
        issue_password_link(app, &email, business.id, purpose, CONNECT_LINK_LIFETIME).await?;
    let url = links.with_token(CONNECT_LINK_PATH, link.token.expose_secret());
    let message = emails::connect_calendar(
        &email,
        business.name.as_ref(),
        member.settings.name.as_ref(),
        &url,
        CONNECT_LINK_LIFETIME.as_hours() / 24,
    );
    queue_email(app, message).await?;
    tracing::info!("connect-your-calendar link sent");
    Ok(email)
}

/// A usable link's business and member.
#[derive(Clone, Debug)]
pub struct OpenedLink {
    pub business: Business,
    pub member: StaffMember,
}

/// The business and member of the unexpired, unused connect link of `token`, leaving it usable. A link of another
/// purpose, of a disabled business, or of a member no longer active is `PasswordLinkInvalid`, as is any token that
/// names no link: the answer says nothing of why.
pub async fn open_connect_link<S: CatalogStore + SignInStore + ?Sized>(
    app: &App<S>,
    token: &str,
) -> Result<OpenedLink, AppError> {
    let (link, opened) = take_connect_link(app, token).await?;
    // The store can only take a link; looking at one puts it back as it was.
    app.store.put_password_link(&link).await?;
    Ok(opened)
}

/// Takes the link of `token` off the store if it is a usable connect link, with its business and member. A link of
/// another purpose stays taken, as at every link page.
async fn take_connect_link<S: CatalogStore + SignInStore + ?Sized>(
    app: &App<S>,
    token: &str,
) -> Result<(PasswordLink, OpenedLink), AppError> {
    let link = app
        .store
        .take_password_link(&token_hash(token), app.clock.now())
        .await?
        .ok_or(AppError::PasswordLinkInvalid)?;
    let LinkPurpose::ConnectCalendar { staff_id } = link.purpose else {
        return Err(AppError::PasswordLinkInvalid);
    };
    let opened = async {
        let business = app
            .store
            .get_business(link.business_id)
            .await?
            .filter(|business| !business.is_disabled())
            .ok_or(AppError::PasswordLinkInvalid)?;
        let member = match get_staff_member(app, &business, staff_id).await {
            Ok(member) if member.active => member,
            Ok(_) | Err(AppError::NotFound(_)) => return Err(AppError::PasswordLinkInvalid),
            Err(other) => return Err(other),
        };
        Ok::<_, AppError>(OpenedLink { business, member })
    }
    .await;
    match opened {
        Ok(opened) => Ok((link, opened)),
        Err(error) => {
            // Kept for when the member is made active again, or the store answers again.
            app.store.put_password_link(&link).await?;
            Err(error)
        }
    }
}

/// Starts connecting the link's member's account at `provider`: the URL to send the browser to. The provider's
/// answer comes back to the dashboard, as when the owner connects.
#[tracing::instrument(skip_all, fields(%provider))]
pub async fn start_connect_from_link<S: CatalogStore + SignInStore + ConnectionStore + ?Sized>(
    app: &App<S>,
    token: &str,
    provider: ProviderKind,
) -> Result<String, AppError> {
    let OpenedLink { business, member } = open_connect_link(app, token).await?;
    integrations::start_connect(app, &business, member.id, provider, true).await
}

/// A connection made with a link, which is now used up.
#[derive(Clone, Debug)]
pub struct ConnectedWithLink {
    pub business: Business,
    pub member: StaffMember,
    pub connection: CalendarConnection,
}

/// Uses the link of `token` up if its member has connected an account since it was sent, answering that
/// connection; otherwise the link stays usable and the answer is `CalendarNotConnected`.
#[tracing::instrument(skip_all)]
pub async fn finish_connect_with_link<S: CatalogStore + SignInStore + ConnectionStore + ?Sized>(
    app: &App<S>,
    token: &str,
) -> Result<ConnectedWithLink, AppError> {
    let (link, OpenedLink { business, member }) = take_connect_link(app, token).await?;
    let connection = match app.store.calendar_connections(business.id).await {
        Ok(connections) => connections
            .into_iter()
            .filter(|c| c.staff_id == member.id && c.connected_at >= link.issued_at)
            .max_by_key(|c| c.connected_at),
        Err(error) => {
            app.store.put_password_link(&link).await?;
            return Err(error.into());
        }
    };
    let Some(connection) = connection else {
        app.store.put_password_link(&link).await?;
        return Err(AppError::CalendarNotConnected);
    };
    tracing::info!(business_id = %business.id, staff_id = %member.id, provider = %connection.provider,
        "calendar connected with an emailed link; the link is used up");
    Ok(ConnectedWithLink {
        business,
        member,
        connection,
    })
}
