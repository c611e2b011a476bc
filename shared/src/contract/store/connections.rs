//! What every store must do with calendar connections, OAuth attempts and calendar watches
//! ([`crate::ports::ConnectionStore`]).

use std::sync::Arc;

use super::{at, base, with_service};
use crate::domain::{BusinessId, ConnectionId, StaffId, WatchId};
use crate::ports::{
    CalendarConnection, CalendarWatch, ConnectionHealth, OAuthAttempt, ProviderKind, PushChannel,
    Store, StoreError, WatchPlace,
};

pub async fn calendar_connections_are_stored_and_replaced(store: Arc<dyn Store>) {
    let (business, _) = with_service(store.as_ref()).await;
    let first = ConnectionId::of_first_connection(business.id);
    assert_eq!(
        store
            .get_calendar_connection(business.id, first)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.calendar_connections(business.id).await.unwrap(), []);
    let google = CalendarConnection {
        id: first,
        business_id: business.id,
        staff_id: StaffId::first_of(business.id),
        provider: ProviderKind::GOOGLE,
        account: "clinic@example.com".into(),
        calendar_id: None,
        checked_calendars: Vec::new(),
        connected_at: base(),
        health: ConnectionHealth::Connected,
        last_synced_at: None,
    };
    store.put_calendar_connection(&google).await.unwrap();
    assert_eq!(
        store
            .get_calendar_connection(business.id, first)
            .await
            .unwrap(),
        Some(google.clone())
    );
    let chosen = CalendarConnection {
        calendar_id: Some("primary".into()),
        checked_calendars: vec!["holidays".into()],
        health: ConnectionHealth::ReauthRequired {
            reason: "revoked".into(),
        },
        last_synced_at: Some(at(3)),
        ..google
    };
    store.put_calendar_connection(&chosen).await.unwrap();
    assert_eq!(
        store
            .get_calendar_connection(business.id, first)
            .await
            .unwrap(),
        Some(chosen.clone())
    );
    assert!(
        !store
            .update_connection_health(
                business.id,
                ConnectionId::generate(),
                &ConnectionHealth::Connected,
                Some(at(4))
            )
            .await
            .unwrap(),
        "a report about another connection changes nothing"
    );
    assert!(
        store
            .update_connection_health(
                business.id,
                first,
                &ConnectionHealth::Connected,
                Some(at(5))
            )
            .await
            .unwrap()
    );
    let error = ConnectionHealth::Error {
        message: "Google answered 503".into(),
    };
    assert!(
        store
            .update_connection_health(business.id, first, &error, None)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get_calendar_connection(business.id, first)
            .await
            .unwrap(),
        Some(CalendarConnection {
            health: error,
            last_synced_at: Some(at(5)),
            ..chosen.clone()
        }),
        "only health and the last sync time change; a report without a time keeps the old one"
    );
    store
        .delete_calendar_connection(business.id, first)
        .await
        .unwrap();
    assert_eq!(
        store
            .get_calendar_connection(business.id, first)
            .await
            .unwrap(),
        None
    );
    assert!(
        !store
            .update_connection_health(
                business.id,
                first,
                &ConnectionHealth::Connected,
                Some(at(6))
            )
            .await
            .unwrap(),
        "a late report never brings a disconnected calendar back"
    );
    assert_eq!(
        store
            .get_calendar_connection(business.id, first)
            .await
            .unwrap(),
        None
    );
    store
        .delete_calendar_connection(business.id, first)
        .await
        .unwrap();
}

/// Two members, one of them with two accounts: each connection is listed and kept apart, whatever its key (the
/// first connection's old one or a new one), and removing one leaves the others.
pub async fn every_members_connections_are_listed_and_removed_one_by_one(store: Arc<dyn Store>) {
    let (business, _) = with_service(store.as_ref()).await;
    let (maria, tom) = (StaffId::first_of(business.id), StaffId::generate());
    let connection = |id, staff_id, provider, account: &str| CalendarConnection {
        id,
        business_id: business.id,
        staff_id,
        provider,
        account: account.to_owned(),
        calendar_id: None,
        checked_calendars: Vec::new(),
        connected_at: base(),
        health: ConnectionHealth::Connected,
        last_synced_at: None,
    };
    let maria_personal = connection(
        ConnectionId::of_first_connection(business.id),
        maria,
        ProviderKind::GOOGLE,
        "maria@example.com",
    );
    let maria_work = CalendarConnection {
        calendar_id: Some("work".into()),
        checked_calendars: vec!["maria@example.com".into()],
        ..connection(
            ConnectionId::generate(),
            maria,
            ProviderKind::GOOGLE,
            "maria@clinic.example",
        )
    };
    let tom_outlook = connection(
        ConnectionId::generate(),
        tom,
        ProviderKind::MICROSOFT,
        "tom@clinic.example",
    );
    let (other_business, _) = with_service(store.as_ref()).await;
    let elsewhere = CalendarConnection {
        business_id: other_business.id,
        ..connection(
            ConnectionId::generate(),
            StaffId::first_of(other_business.id),
            ProviderKind::GOOGLE,
            "other@example.com",
        )
    };
    for each in [&maria_personal, &maria_work, &tom_outlook, &elsewhere] {
        store.put_calendar_connection(each).await.unwrap();
    }
    let listed = |mut connections: Vec<CalendarConnection>| {
        connections.sort_by_key(|connection| connection.id);
        connections
    };
    assert_eq!(
        listed(store.calendar_connections(business.id).await.unwrap()),
        listed(vec![
            maria_personal.clone(),
            maria_work.clone(),
            tom_outlook.clone()
        ])
    );
    store
        .delete_calendar_connection(business.id, maria_personal.id)
        .await
        .unwrap();
    assert_eq!(
        listed(store.calendar_connections(business.id).await.unwrap()),
        listed(vec![maria_work.clone(), tom_outlook.clone()])
    );
    store
        .delete_calendar_connection(business.id, tom_outlook.id)
        .await
        .unwrap();
    assert_eq!(
        store.calendar_connections(business.id).await.unwrap(),
        std::slice::from_ref(&maria_work)
    );
    assert_eq!(
        store
            .get_calendar_connection(business.id, maria_work.id)
            .await
            .unwrap(),
        Some(maria_work)
    );
    assert_eq!(
        store.calendar_connections(other_business.id).await.unwrap(),
        [elsewhere]
    );
}

/// A connection as the release before staff members stored it (no id, no member, no checked calendars), written
/// raw under its old key by `write_legacy`: it reads as the business's first connection, of its first member, and
/// is updated and deleted under that key.
pub async fn a_connection_of_the_release_before_members_reads_as_the_first_members(
    store: Arc<dyn Store>,
    write_legacy: impl AsyncFnOnce(BusinessId, serde_json::Value),
) {
    let (business, _) = with_service(store.as_ref()).await;
    write_legacy(
        business.id,
        serde_json::json!({
            "business_id": business.id,
            "provider": "google",
            "account": "clinic@example.com",
            "calendar_id": "primary",
            "connected_at": base(),
            "health": {"state": "connected"},
            "last_synced_at": null,
        }),
    )
    .await;
    let first = ConnectionId::of_first_connection(business.id);
    let legacy = CalendarConnection {
        id: first,
        business_id: business.id,
        staff_id: StaffId::first_of(business.id),
        provider: ProviderKind::GOOGLE,
        account: "clinic@example.com".into(),
        calendar_id: Some("primary".into()),
        checked_calendars: Vec::new(),
        connected_at: base(),
        health: ConnectionHealth::Connected,
        last_synced_at: None,
    };
    assert_eq!(
        store.calendar_connections(business.id).await.unwrap(),
        std::slice::from_ref(&legacy)
    );
    assert_eq!(
        store
            .get_calendar_connection(business.id, first)
            .await
            .unwrap(),
        Some(legacy.clone())
    );
    let failing = ConnectionHealth::Error {
        message: "Google answered 503".into(),
    };
    assert!(
        store
            .update_connection_health(business.id, first, &failing, Some(at(1)))
            .await
            .unwrap()
    );
    assert_eq!(
        store.calendar_connections(business.id).await.unwrap(),
        [CalendarConnection {
            health: failing,
            last_synced_at: Some(at(1)),
            ..legacy
        }],
        "updated in place, under its old key"
    );
    store
        .delete_calendar_connection(business.id, first)
        .await
        .unwrap();
    assert_eq!(store.calendar_connections(business.id).await.unwrap(), []);
}

pub async fn an_oauth_attempt_is_taken_once_and_not_after_it_expires(store: Arc<dyn Store>) {
    let (business, _) = with_service(store.as_ref()).await;
    let attempt = |nonce: &str, expires_at| OAuthAttempt {
        nonce: nonce.to_owned(),
        business_id: business.id,
        staff_id: StaffId::first_of(business.id),
        provider: ProviderKind::MICROSOFT,
        pkce_verifier: "verifier".into(),
        expires_at,
        from_dashboard: true,
    };
    let nonce = uuid::Uuid::new_v4().to_string();
    let fresh = attempt(&nonce, at(10));
    store.put_oauth_attempt(&fresh).await.unwrap();
    assert!(matches!(
        store.put_oauth_attempt(&fresh).await,
        Err(StoreError::AlreadyExists)
    ));
    let takers = (0..8).map(|_| {
        let store = store.clone();
        let nonce = nonce.clone();
        tokio::spawn(async move { store.take_oauth_attempt(&nonce, at(0)).await.unwrap() })
    });
    let taken: Vec<_> = futures::future::join_all(takers)
        .await
        .into_iter()
        .filter_map(|taken| taken.unwrap())
        .collect();
    assert_eq!(taken, vec![fresh]);

    let late = uuid::Uuid::new_v4().to_string();
    store
        .put_oauth_attempt(&attempt(&late, at(10)))
        .await
        .unwrap();
    assert_eq!(store.take_oauth_attempt(&late, at(11)).await.unwrap(), None);
    assert_eq!(
        store
            .take_oauth_attempt("never-issued", at(0))
            .await
            .unwrap(),
        None
    );
}

fn watch(business_id: BusinessId, version: u64) -> CalendarWatch {
    let connection_id = ConnectionId::of_first_connection(business_id);
    CalendarWatch {
        id: WatchId::of(connection_id, "primary"),
        business_id,
        connection_id,
        staff_id: StaffId::first_of(business_id),
        provider: ProviderKind::GOOGLE,
        calendar_id: "primary".into(),
        cursor: Some(format!("token-{version}")),
        time_zone: Some("Europe/Berlin".into()),
        channel: Some(PushChannel {
            id: format!("{business_id}_channel"),
            resource_id: Some("resource".into()),
            expires_at: at(7 * 24 * 60),
        }),
        secret_hash: "00ff".into(),
        opening: None,
        full_sync_at: Some(at(0)),
        synced_at: Some(at(version as i64)),
        sync_started_at: Some(at(version as i64 - 1)),
        version,
    }
}

pub async fn a_calendar_watch_advances_only_from_the_version_it_read(store: Arc<dyn Store>) {
    let business = BusinessId::generate();
    let id = watch(business, 1).id;
    assert_eq!(store.get_calendar_watch(business, id).await.unwrap(), None);
    assert!(matches!(
        store.put_calendar_watch(&watch(business, 2), Some(1)).await,
        Err(StoreError::NotFound)
    ));
    store
        .put_calendar_watch(&watch(business, 1), None)
        .await
        .unwrap();
    assert!(matches!(
        store.put_calendar_watch(&watch(business, 1), None).await,
        Err(StoreError::AlreadyExists)
    ));
    store
        .put_calendar_watch(&watch(business, 2), Some(1))
        .await
        .unwrap();
    assert!(
        matches!(
            store.put_calendar_watch(&watch(business, 2), Some(1)).await,
            Err(StoreError::VersionMismatch)
        ),
        "a second writer that read version 1 loses"
    );
    assert_eq!(
        store.get_calendar_watch(business, id).await.unwrap(),
        Some(watch(business, 2))
    );

    // Many writers racing from the same version: exactly one wins.
    let results = futures::future::join_all((0..10).map(|_| {
        let store = store.clone();
        async move { store.put_calendar_watch(&watch(business, 3), Some(2)).await }
    }))
    .await;
    assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 1);

    store.delete_calendar_watch(business, id).await.unwrap();
    store.delete_calendar_watch(business, id).await.unwrap();
    assert_eq!(store.get_calendar_watch(business, id).await.unwrap(), None);
}

/// The scheduled walk reads the watches whose check is due, earliest first and in pages; only the walk moves a
/// check time, so a versioned write (a sync's cursor) leaves it where it was.
pub async fn calendar_watches_are_read_when_their_check_is_due(store: Arc<dyn Store>) {
    let mut businesses: Vec<BusinessId> = (0..7).map(|_| BusinessId::generate()).collect();
    for business in &businesses {
        store
            .put_calendar_watch(&watch(*business, 1), None)
            .await
            .unwrap();
    }
    let now = at(60);
    let walk = async |now, limit| {
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let page = store.calendar_watches_due(now, after, limit).await.unwrap();
            assert!(page.len() <= limit as usize);
            let Some(last) = page.last() else { break };
            after = Some(last.place());
            walked.extend(page);
        }
        walked
    };
    // New watches are due at once, ordered by business when their check times are equal.
    businesses.sort();
    let due = walk(now, 3).await;
    assert_eq!(
        due.iter()
            .map(|due| due.watch.business_id)
            .collect::<Vec<_>>(),
        businesses
    );
    assert_eq!(due[0].watch, watch(businesses[0], 1));

    // Checked: three later (the last of them soonest), one stale write refused.
    for (business, minutes) in businesses.iter().zip([90, 80, 70]) {
        assert!(
            store
                .schedule_calendar_watch_check(*business, watch(*business, 1).id, 1, at(minutes))
                .await
                .unwrap()
        );
    }
    assert!(
        !store
            .schedule_calendar_watch_check(businesses[3], watch(businesses[3], 1).id, 2, at(90))
            .await
            .unwrap(),
        "a watch changed since it was read keeps its check time"
    );
    let nobody = BusinessId::generate();
    assert!(
        !store
            .schedule_calendar_watch_check(nobody, watch(nobody, 1).id, 1, at(90))
            .await
            .unwrap(),
        "no watch, nothing to check"
    );
    let due_now: Vec<BusinessId> = walk(now, 100)
        .await
        .iter()
        .map(|due| due.watch.business_id)
        .collect();
    assert_eq!(due_now, businesses[3..].to_vec());

    // A sync writing its cursor leaves the check time alone; the walk finds the watch when it falls due.
    store
        .put_calendar_watch(&watch(businesses[2], 2), Some(1))
        .await
        .unwrap();
    let later = walk(at(80), 100).await;
    let places: Vec<WatchPlace> = later.iter().map(|due| due.place()).collect();
    let place = |at, business| (at, business, watch(business, 1).id);
    let mut expected = vec![place(at(70), businesses[2]), place(at(80), businesses[1])];
    expected.extend(
        businesses[3..]
            .iter()
            .map(|business| place(jiff::Timestamp::MIN, *business)),
    );
    expected.sort();
    assert_eq!(places, expected);
    assert_eq!(
        later
            .iter()
            .find(|due| due.watch.business_id == businesses[2])
            .unwrap()
            .watch,
        watch(businesses[2], 2)
    );

    // A deleted watch is not due, and checking it does not bring it back.
    let gone = watch(businesses[3], 1).id;
    store
        .delete_calendar_watch(businesses[3], gone)
        .await
        .unwrap();
    assert!(
        !store
            .schedule_calendar_watch_check(businesses[3], gone, 1, at(0))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_calendar_watch(businesses[3], gone).await.unwrap(),
        None
    );
    assert!(
        walk(at(80), 100)
            .await
            .iter()
            .all(|due| due.watch.business_id != businesses[3])
    );
}

/// A business follows each checked calendar of each connection with a watch of its own: the one watch of the release
/// before (stored without an id, under the old key) beside new ones, two members checking the same calendar through
/// their own connections, each written, checked, walked and deleted without touching the others.
pub async fn each_checked_calendar_has_a_watch_of_its_own(store: Arc<dyn Store>) {
    let business = BusinessId::generate();
    let old = CalendarWatch {
        id: WatchId::of_first_watch(business),
        ..watch(business, 1)
    };
    let tom_connection = ConnectionId::generate();
    let toms_shared = CalendarWatch {
        id: WatchId::of(tom_connection, "primary"),
        connection_id: tom_connection,
        staff_id: StaffId::generate(),
        ..watch(business, 1)
    };
    let marias_second = CalendarWatch {
        id: WatchId::of(old.connection_id, "family"),
        calendar_id: "family".into(),
        ..watch(business, 1)
    };
    let all = [&old, &toms_shared, &marias_second];
    for each in all {
        store.put_calendar_watch(each, None).await.unwrap();
    }
    let mut listed = store.calendar_watches(business).await.unwrap();
    listed.sort_by_key(|each| each.id);
    let mut expected: Vec<CalendarWatch> = all.into_iter().cloned().collect();
    expected.sort_by_key(|each| each.id);
    assert_eq!(listed, expected);
    assert!(
        store
            .calendar_watches(BusinessId::generate())
            .await
            .unwrap()
            .is_empty()
    );

    // A sync of one calendar advances its watch alone.
    let advanced = CalendarWatch {
        cursor: Some("advanced".into()),
        version: 2,
        ..toms_shared.clone()
    };
    store.put_calendar_watch(&advanced, Some(1)).await.unwrap();
    for (id, version) in [(old.id, 1), (toms_shared.id, 2), (marias_second.id, 1)] {
        let stored = store.get_calendar_watch(business, id).await.unwrap();
        assert_eq!(stored.map(|stored| stored.version), Some(version));
    }

    // Walked one at a time, every watch of the business comes once: the old watch's place sorts right before the
    // business's others, and resuming after it must not skip them.
    let now = at(60);
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = store.calendar_watches_due(now, after, 1).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.place());
        walked.extend(
            page.into_iter()
                .filter(|due| due.watch.business_id == business),
        );
    }
    let mut walked_ids: Vec<WatchId> = walked.iter().map(|due| due.watch.id).collect();
    walked_ids.sort();
    let mut ids: Vec<WatchId> = all.iter().map(|each| each.id).collect();
    ids.sort();
    assert_eq!(walked_ids, ids);

    // Checked later, one leaves the walk; deleted, one leaves the business.
    assert!(
        store
            .schedule_calendar_watch_check(business, old.id, 1, at(90))
            .await
            .unwrap()
    );
    store
        .delete_calendar_watch(business, marias_second.id)
        .await
        .unwrap();
    let due: Vec<WatchId> = store
        .calendar_watches_due(now, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|due| due.watch.business_id == business)
        .map(|due| due.watch.id)
        .collect();
    assert_eq!(due, vec![toms_shared.id]);
    let mut left: Vec<WatchId> = store
        .calendar_watches(business)
        .await
        .unwrap()
        .iter()
        .map(|each| each.id)
        .collect();
    left.sort();
    let mut expected = vec![old.id, toms_shared.id];
    expected.sort();
    assert_eq!(left, expected);
}
