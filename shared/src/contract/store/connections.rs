//! What every store must do with calendar connections, OAuth attempts and calendar watches
//! ([`crate::ports::ConnectionStore`]).

use std::sync::Arc;

use super::{at, base, with_service};
use crate::domain::BusinessId;
use crate::ports::{
    CalendarConnection, CalendarWatch, ConnectionHealth, OAuthAttempt, ProviderKind, PushChannel,
    Store, StoreError,
};

pub async fn calendar_connections_are_stored_and_replaced(store: Arc<dyn Store>) {
    let (business, _) = with_service(store.as_ref()).await;
    assert_eq!(
        store.get_calendar_connection(business.id).await.unwrap(),
        None
    );
    let google = CalendarConnection {
        business_id: business.id,
        provider: ProviderKind::GOOGLE,
        account: "clinic@example.com".into(),
        calendar_id: None,
        connected_at: base(),
        health: ConnectionHealth::Connected,
        last_synced_at: None,
    };
    store.put_calendar_connection(&google).await.unwrap();
    assert_eq!(
        store.get_calendar_connection(business.id).await.unwrap(),
        Some(google.clone())
    );
    let chosen = CalendarConnection {
        calendar_id: Some("primary".into()),
        health: ConnectionHealth::ReauthRequired {
            reason: "revoked".into(),
        },
        last_synced_at: Some(at(3)),
        ..google
    };
    store.put_calendar_connection(&chosen).await.unwrap();
    assert_eq!(
        store.get_calendar_connection(business.id).await.unwrap(),
        Some(chosen.clone())
    );
    assert!(
        !store
            .update_connection_health(
                business.id,
                ProviderKind::MICROSOFT,
                &ConnectionHealth::Connected,
                Some(at(4))
            )
            .await
            .unwrap(),
        "a report about another provider's connection changes nothing"
    );
    assert!(
        store
            .update_connection_health(
                business.id,
                ProviderKind::GOOGLE,
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
            .update_connection_health(business.id, ProviderKind::GOOGLE, &error, None)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_calendar_connection(business.id).await.unwrap(),
        Some(CalendarConnection {
            health: error,
            last_synced_at: Some(at(5)),
            ..chosen.clone()
        }),
        "only health and the last sync time change; a report without a time keeps the old one"
    );
    store.delete_calendar_connection(business.id).await.unwrap();
    assert_eq!(
        store.get_calendar_connection(business.id).await.unwrap(),
        None
    );
    assert!(
        !store
            .update_connection_health(
                business.id,
                ProviderKind::GOOGLE,
                &ConnectionHealth::Connected,
                Some(at(6))
            )
            .await
            .unwrap(),
        "a late report never brings a disconnected calendar back"
    );
    assert_eq!(
        store.get_calendar_connection(business.id).await.unwrap(),
        None
    );
    store.delete_calendar_connection(business.id).await.unwrap();
}

pub async fn an_oauth_attempt_is_taken_once_and_not_after_it_expires(store: Arc<dyn Store>) {
    let (business, _) = with_service(store.as_ref()).await;
    let attempt = |nonce: &str, expires_at| OAuthAttempt {
        nonce: nonce.to_owned(),
        business_id: business.id,
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
    CalendarWatch {
        business_id,
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
    assert_eq!(store.get_calendar_watch(business).await.unwrap(), None);
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
        store.get_calendar_watch(business).await.unwrap(),
        Some(watch(business, 2))
    );

    // Many writers racing from the same version: exactly one wins.
    let results = futures::future::join_all((0..10).map(|_| {
        let store = store.clone();
        async move { store.put_calendar_watch(&watch(business, 3), Some(2)).await }
    }))
    .await;
    assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 1);

    store.delete_calendar_watch(business).await.unwrap();
    store.delete_calendar_watch(business).await.unwrap();
    assert_eq!(store.get_calendar_watch(business).await.unwrap(), None);
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
                .schedule_calendar_watch_check(*business, 1, at(minutes))
                .await
                .unwrap()
        );
    }
    assert!(
        !store
            .schedule_calendar_watch_check(businesses[3], 2, at(90))
            .await
            .unwrap(),
        "a watch changed since it was read keeps its check time"
    );
    assert!(
        !store
            .schedule_calendar_watch_check(BusinessId::generate(), 1, at(90))
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
    let places: Vec<(jiff::Timestamp, BusinessId)> = later.iter().map(|due| due.place()).collect();
    let mut expected = vec![(at(70), businesses[2]), (at(80), businesses[1])];
    expected.extend(
        businesses[3..]
            .iter()
            .map(|business| (jiff::Timestamp::MIN, *business)),
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
    store.delete_calendar_watch(businesses[3]).await.unwrap();
    assert!(
        !store
            .schedule_calendar_watch_check(businesses[3], 1, at(0))
            .await
            .unwrap()
    );
    assert_eq!(store.get_calendar_watch(businesses[3]).await.unwrap(), None);
    assert!(
        walk(at(80), 100)
            .await
            .iter()
            .all(|due| due.watch.business_id != businesses[3])
    );
}
