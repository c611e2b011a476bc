//! Google Calendar's emulator as the inbound-sync tests call it: an events client, an event body, a whole listing.

use integration_tests::emulators::google::GoogleEmulator;
use serde_json::{Value, json};

use super::client::Api;

/// A fresh emulator and a client signed in to it.
pub(super) async fn google() -> (GoogleEmulator, Api) {
    let google = GoogleEmulator::start().await;
    let (token, _) = google.issue_tokens();
    let api = Api::new(google.api_base(), token);
    (google, api)
}

pub(super) fn google_event(summary: &str, start: &str, end: &str) -> Value {
    json!({
        "summary": summary,
        "start": { "dateTime": start, "timeZone": "Europe/London" },
        "end": { "dateTime": end, "timeZone": "Europe/London" },
    })
}

/// Every page of a listing: the items, the number of pages and the sync token of the last page.
pub(super) async fn google_listing(
    api: &Api,
    query: &[(&str, &str)],
) -> (Vec<Value>, usize, String) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut page_token: Option<String> = None;
    loop {
        let mut query = query.to_vec();
        if let Some(token) = &page_token {
            query.push(("pageToken", token));
        }
        let (status, page) = api.get("calendars/primary/events", &query).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["kind"], "calendar#events");
        pages += 1;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["nextPageToken"].as_str() {
            Some(next) => {
                assert!(page.get("nextSyncToken").is_none(), "{page}");
                assert!(page["items"].as_array().unwrap().len() <= 3);
                page_token = Some(next.to_owned());
            }
            None => {
                return (
                    items,
                    pages,
                    page["nextSyncToken"].as_str().unwrap().to_owned(),
                );
            }
        }
    }
}
