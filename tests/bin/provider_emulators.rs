//! Runs the Google Calendar and Microsoft Graph emulators until Ctrl-C and prints, one per line, the environment the
//! local server needs to use them: a full demo of calendar sync without real accounts.
//!
//! `cargo run -p integration-tests --bin provider-emulators > emulators.env`, then
//! `env $(cat emulators.env) cargo run -p local-server`.

use integration_tests::emulators::google::{self, GoogleEmulator};
use integration_tests::emulators::microsoft::{self, GraphEmulator};

#[tokio::main]
async fn main() {
    let google = GoogleEmulator::start().await;
    let graph = GraphEmulator::start().await;
    let settings = [
        ("GOOGLE_CLIENT_ID", google::CLIENT_ID.to_owned()),
        ("GOOGLE_CLIENT_SECRET", google::CLIENT_SECRET.to_owned()),
        ("GOOGLE_API_BASE", google.api_base()),
        ("GOOGLE_AUTHORIZE_URL", google.authorize_url()),
        ("GOOGLE_TOKEN_URL", google.token_url()),
        ("GOOGLE_REVOKE_URL", google.revoke_url()),
        ("MICROSOFT_CLIENT_ID", microsoft::CLIENT_ID.to_owned()),
        (
            "MICROSOFT_CLIENT_SECRET",
            microsoft::CLIENT_SECRET.to_owned(),
        ),
        ("MICROSOFT_API_BASE", graph.api_base()),
        ("MICROSOFT_AUTHORIZE_URL", graph.authorize_url()),
        ("MICROSOFT_TOKEN_URL", graph.token_url()),
    ];
    for (name, value) in settings {
        println!("{name}={value}");
    }
    eprintln!(
        "emulators running; calendars to choose: Google {:?}, Outlook {:?}; Ctrl-C stops them",
        google::TEAM_CALENDAR,
        graph.calendar_id("Team")
    );
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
