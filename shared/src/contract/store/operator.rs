//! What every store must do for the operator's commands ([`crate::ports::OperatorStore`]): list businesses, disable
//! and enable one (its keys follow at once), and list and remove every record of one business without touching
//! another's.

use std::sync::Arc;

use super::{at, authenticated_as, base, book, business, service, stored_business, with_service};
use crate::contract::first_google_connection;
use crate::domain::{
    ApiKey, Appointment, Business, Customer, CustomerName, Hold, HoldId, PhoneNumber,
};
use crate::ports::{
    Account, BusyEvent, CalendarWatch, CallerQuery, LinkPurpose, ListOrder, NewHold, PasswordLink,
    ProviderKind, Session, SignInEmail, StaffRole, Store, StoreError, StoredRecord,
    first_api_key_record,
};

const CALLER: &str = "+14155550123";

pub async fn businesses_are_listed_and_disabled_with_their_keys(store: Arc<dyn Store>) {
    let (first, first_key) = stored_business(&*store).await;
    let (second, _) = stored_business(&*store).await;
    let listed: Vec<_> = store
        .list_businesses()
        .await
        .unwrap()
        .into_iter()
        .map(|business| business.id)
        .collect();
    assert!(listed.contains(&first.id) && listed.contains(&second.id));
    assert!(
        listed.windows(2).all(|pair| pair[0] < pair[1]),
        "ordered by id"
    );

    // A key created after the business also follows it.
    let later_key = ApiKey::generate();
    let mut later_record = first_api_key_record(&first, &later_key.hash());
    later_record.name = "Later".into();
    later_record.created_at = at(1);
    store.create_api_key(&later_record).await.unwrap();

    store
        .set_business_disabled(first.id, Some(at(5)))
        .await
        .unwrap();
    let stored = store.get_business(first.id).await.unwrap().unwrap();
    assert_eq!(stored.disabled_at, Some(at(5)));
    for key in [&first_key, &later_key] {
        let authenticated = authenticated_as(&*store, key).await.unwrap();
        assert!(
            authenticated.is_disabled(),
            "a key authenticates as the disabled business"
        );
    }
    let untouched = store.get_business(second.id).await.unwrap().unwrap();
    assert!(!untouched.is_disabled());

    store.set_business_disabled(first.id, None).await.unwrap();
    assert!(
        !store
            .get_business(first.id)
            .await
            .unwrap()
            .unwrap()
            .is_disabled()
    );
    let authenticated = authenticated_as(&*store, &later_key).await.unwrap();
    assert!(!authenticated.is_disabled());

    assert!(matches!(
        store
            .set_business_disabled(crate::domain::BusinessId::generate(), Some(at(5)))
            .await,
        Err(StoreError::NotFound)
    ));
}

/// A business with a record of every kind: services, an appointment from a caller's phone, a hold, busy time, a
/// connection and watch, an owner with a session and a link, and a second key.
async fn populated(store: &dyn Store, key: &ApiKey) -> (Business, Appointment) {
    let business = business();
    store.create_business(&business, &key.hash()).await.unwrap();
    let service = service(&business);
    store.create_service(&service).await.unwrap();
    let mut booked = super::appointment(&service, 60, 90);
    booked.customer = Customer {
        name: CustomerName::try_from("Caller".to_owned()).unwrap(),
        phone: Some(PhoneNumber::try_from(CALLER.to_owned()).unwrap()),
        email: None,
    };
    book(store, &booked, None).await.unwrap();
    let (time, local_date) = super::fixture_time(120, 150);
    let hold = Hold {
        id: HoldId::generate(),
        business_id: business.id,
        service_id: service.id,
        staff_id: crate::domain::StaffId::first_of(business.id),
        time,
        local_date,
        buffer_before: crate::domain::Minutes::new(0),
        buffer_after: crate::domain::Minutes::new(0),
        created_at: base(),
        expires_at: at(10),
    };
    store
        .create_hold(NewHold {
            hold: &hold,
            max_per_day: None,
            staff_max_per_day: None,
        })
        .await
        .unwrap();
    store
        .put_busy_event(&BusyEvent {
            business_id: business.id,
            staff_id: crate::domain::StaffId::first_of(business.id),
            calendar_key: "primary".into(),
            event_id: "standup".into(),
            intervals: vec![crate::domain::Interval::new(at(0), at(15)).unwrap()],
        })
        .await
        .unwrap();
    store
        .put_calendar_connection(&first_google_connection(
            business.id,
            "owner@clinic.test",
            base(),
        ))
        .await
        .unwrap();
    store
        .put_calendar_watch(
            &CalendarWatch::new(business.id, ProviderKind::GOOGLE, "primary".into()),
            None,
        )
        .await
        .unwrap();
    let email = SignInEmail::try_from(format!("owner-{}@clinic.test", business.id)).unwrap();
    store
        .create_account(&Account {
            email: email.clone(),
            business_id: business.id,
            role: StaffRole::Owner,
            password_hash: None,
            invited_at: base(),
            password_set_at: None,
        })
        .await
        .unwrap();
    store
        .put_password_link(&PasswordLink {
            token_hash: format!("link-{}", business.id),
            email: email.clone(),
            business_id: business.id,
            purpose: LinkPurpose::SetPassword,
            issued_at: base(),
            expires_at: at(60),
            new_email: None,
        })
        .await
        .unwrap();
    store
        .put_session(&Session {
            id_hash: format!("session-{}", business.id),
            business_id: business.id,
            email,
            csrf_token: "csrf".into(),
            created_at: base(),
            expires_at: at(60),
        })
        .await
        .unwrap();
    (business, booked)
}

fn callers_of(business: &Business) -> CallerQuery {
    CallerQuery {
        business_id: business.id,
        phone: PhoneNumber::try_from(CALLER.to_owned()).unwrap(),
        starts_within: None,
        status: None,
        sync_status: None,
        order: ListOrder::Ascending,
        after: None,
        limit: 10,
    }
}

pub async fn every_record_of_a_business_is_listed_and_removed_and_no_other(store: Arc<dyn Store>) {
    let (gone_key, kept_key) = (ApiKey::generate(), ApiKey::generate());
    let (gone, _) = populated(store.as_ref(), &gone_key).await;
    let (kept, kept_appointment) = populated(store.as_ref(), &kept_key).await;
    with_service(store.as_ref()).await;

    let records: Vec<StoredRecord> = store.business_records(gone.id).await.unwrap();
    let last = records.last().unwrap();
    assert!(
        last.content
            .as_ref()
            .and_then(|content| serde_json::to_string(content).ok())
            .is_some_and(|text| text.contains("Contract Clinic")),
        "the business's own record comes last: {last:?}"
    );
    let text = serde_json::to_string(&records).unwrap();
    for expected in ["Checkup", "Caller", "owner@clinic.test", "primary"] {
        assert!(text.contains(expected), "{expected} is among the records");
    }
    assert!(
        !text.contains(&kept.id.to_string()),
        "no record of another business"
    );

    // Half the records, as a run that stopped half-way would; the business is still there to finish with.
    let half = records.len() / 2;
    for record in &records[..half] {
        store
            .delete_business_record(&record.location)
            .await
            .unwrap();
    }
    assert!(store.get_business(gone.id).await.unwrap().is_some());
    let remaining = store.business_records(gone.id).await.unwrap();
    assert_eq!(remaining.len(), records.len() - half);
    for record in &remaining {
        store
            .delete_business_record(&record.location)
            .await
            .unwrap();
    }
    // Removing what is already gone succeeds.
    store
        .delete_business_record(&records[0].location)
        .await
        .unwrap();

    assert!(store.business_records(gone.id).await.unwrap().is_empty());
    assert!(store.get_business(gone.id).await.unwrap().is_none());
    assert!(authenticated_as(&*store, &gone_key).await.is_none());
    assert!(store.list_accounts(gone.id).await.unwrap().is_empty());
    assert!(
        store
            .calendar_connections(gone.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.calendar_watches(gone.id).await.unwrap().is_empty());
    assert!(
        store
            .busy_event_ids(gone.id, "primary")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.list_services(gone.id).await.unwrap().is_empty());
    assert!(
        store
            .appointments_by_phone(&callers_of(&gone))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        store
            .get_session(&format!("session-{}", gone.id), base())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .take_password_link(&format!("link-{}", gone.id), base())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !store
            .list_businesses()
            .await
            .unwrap()
            .iter()
            .any(|business| business.id == gone.id)
    );

    // The other business is whole.
    assert!(authenticated_as(&*store, &kept_key).await.is_some());
    assert_eq!(
        store
            .appointments_by_phone(&callers_of(&kept))
            .await
            .unwrap()
            .items,
        vec![kept_appointment]
    );
    assert_eq!(store.list_accounts(kept.id).await.unwrap().len(), 1);
    assert!(!store.calendar_watches(kept.id).await.unwrap().is_empty());
    assert_eq!(
        store
            .busy_event_ids(kept.id, "primary")
            .await
            .unwrap()
            .len(),
        1
    );
}
