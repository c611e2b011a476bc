//! Callers: phone numbers normalized the way the business's callers write them, and a caller's appointments found
//! by the number they call from.

use jiff::Timestamp;

use crate::domain::Appointment;
use crate::domain::{
    AppointmentStatus, Business, CallerNumber, CountryCode, Customer, CustomerName, EmailAddress,
    Interval, PhoneNumber, SyncStatus, normalize_phone, read_caller_number,
};
use crate::ports::{AppointmentStore, CatalogStore};
use crate::ports::{CallerQuery, ListOrder, PageCursor};

use super::context::App;
use super::error::AppError;

/// The country national numbers are read in, when `text` is one: an international number (`+…`) needs none, so
/// reading the settings is skipped for it.
pub async fn phone_country_for<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    text: Option<&str>,
) -> Result<Option<CountryCode>, AppError> {
    match text {
        Some(text) if !text.trim_start().starts_with('+') => Ok(app
            .store
            .get_business_settings(business.id)
            .await?
            .phone_country(&business.time_zone)),
        _ => Ok(None),
    }
}

/// `text` as the E.164 number it means for this business (national numbers in its country), or a validation
/// error naming `field`. The agent interface and the REST API normalize through here or [`phone_country_for`].
pub async fn normalize_customer_phone<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    field: &'static str,
    text: &str,
) -> Result<PhoneNumber, AppError> {
    let country = phone_country_for(app, business, Some(text)).await?;
    Ok(normalize_phone(field, text, country)?)
}

/// A customer as a person typed them, read for this business: the name, the phone number through
/// [`normalize_customer_phone`] (a refusal names `phone_field`), the email; the first field at fault is the error.
pub async fn read_customer<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    phone_field: &'static str,
    name: String,
    phone: Option<&str>,
    email: Option<String>,
) -> Result<Customer, AppError> {
    let name = CustomerName::try_from(name)?;
    let phone = match phone {
        Some(text) => Some(normalize_customer_phone(app, business, phone_field, text).await?),
        None => None,
    };
    let email = email.map(EmailAddress::try_from).transpose()?;
    Ok(Customer { name, phone, email })
}

/// The caller id a voice platform reported, read for this business (a national number in its country); never an
/// error about the number itself, since a withheld or unknown caller id must not stop a booking.
pub async fn read_platform_caller<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    text: &str,
) -> Result<CallerNumber, AppError> {
    let country = phone_country_for(app, business, Some(text)).await?;
    Ok(read_caller_number(text, country))
}

/// The two parts of a caller's list: upcoming appointments soonest first, then past ones latest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallerPhase {
    Upcoming,
    Past,
}

/// Where a caller's list resumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallerCursor {
    pub phase: CallerPhase,
    /// Strictly after this in the phase's order; `None` starts the phase.
    pub after: Option<PageCursor>,
}

#[derive(Clone, Debug)]
pub struct CallerListing {
    pub phone: PhoneNumber,
    pub starts_within: Option<Interval>,
    pub status: Option<AppointmentStatus>,
    pub sync_status: Option<SyncStatus>,
    pub cursor: Option<CallerCursor>,
    /// 1 to 500.
    pub limit: u32,
}

#[derive(Clone, Debug)]
pub struct CallerPage {
    pub items: Vec<Appointment>,
    pub next: Option<CallerCursor>,
}

fn intersect(range: Option<Interval>, from: Timestamp, until: Timestamp) -> Option<Interval> {
    let (start, end) = match range {
        Some(range) => (range.start().max(from), range.end().min(until)),
        None => (from, until),
    };
    Interval::new(start, end).ok()
}

/// A caller's appointments of every status (cancelled ones too, with their status), through the phone index:
/// those starting from now on first, soonest first, then earlier ones, latest first; the other filters apply to
/// both parts.
#[tracing::instrument(skip_all, fields(business_id = %business.id))]
pub async fn caller_appointments<S: AppointmentStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    listing: &CallerListing,
) -> Result<CallerPage, AppError> {
    let now = app.clock.now();
    let limit = listing.limit.clamp(1, 500);
    let cursor = listing.cursor.unwrap_or(CallerCursor {
        phase: CallerPhase::Upcoming,
        after: None,
    });
    let query = |starts_within, order, after, limit| CallerQuery {
        business_id: business.id,
        phone: listing.phone.clone(),
        starts_within,
        status: listing.status,
        sync_status: listing.sync_status,
        order,
        after,
        limit,
    };
    let mut items = Vec::new();
    if cursor.phase == CallerPhase::Upcoming {
        if let Some(upcoming) = intersect(listing.starts_within, now, Timestamp::MAX) {
            let page = app
                .store
                .appointments_by_phone(&query(
                    Some(upcoming),
                    ListOrder::Ascending,
                    cursor.after,
                    limit,
                ))
                .await?;
            if let Some(next) = page.next {
                return Ok(CallerPage {
                    items: page.items,
                    next: Some(CallerCursor {
                        phase: CallerPhase::Upcoming,
                        after: Some(next),
                    }),
                });
            }
            items = page.items;
        }
    }
    let after = match cursor.phase {
        CallerPhase::Upcoming => None,
        CallerPhase::Past => cursor.after,
    };
    let remaining = limit.saturating_sub(u32::try_from(items.len()).unwrap_or(limit));
    let Some(past) = intersect(listing.starts_within, Timestamp::MIN, now) else {
        return Ok(CallerPage { items, next: None });
    };
    if remaining == 0 {
        return Ok(CallerPage {
            items,
            next: Some(CallerCursor {
                phase: CallerPhase::Past,
                after: None,
            }),
        });
    }
    let page = app
        .store
        .appointments_by_phone(&query(Some(past), ListOrder::Descending, after, remaining))
        .await?;
    items.extend(page.items);
    Ok(CallerPage {
        items,
        next: page.next.map(|next| CallerCursor {
            phase: CallerPhase::Past,
            after: Some(next),
        }),
    })
}

/// Indexes the phone numbers of appointments stored before the phone index existed; idempotent and cheap once
/// done, so every start may call it.
#[tracing::instrument(skip_all)]
pub async fn index_existing_phone_numbers<S: AppointmentStore + ?Sized>(
    app: &App<S>,
) -> Result<u64, AppError> {
    Ok(app.store.index_existing_phone_numbers().await?)
}
