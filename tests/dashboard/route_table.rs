//! Roles and their permissions on every route: the dashboard's permission table, checked against a table written
//! here again, and each route answered for each role, where a refusal changes nothing.

use booking_core::dashboard::permissions::{Access, Permission, ROUTES, Verb};
use integration_tests::spawn_app;
use reqwest::StatusCode;

use crate::security::{FORM_EXPIRED, NOT_ALLOWED, OWNER, STAFF, location_of, snapshot, text};
use crate::support::{Visitor, api_keys, csrf_of, location, signed_in, signed_in_staff};

/// Who the test expects may use a route, written here again on purpose: changing who may use a route, or adding one,
/// means saying so in this table too.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anyone,
    SignedIn,
    OwnerAndStaff,
    OwnerOnly,
}

const EXPECTED: &[(Verb, &str, Who)] = &[
    (Verb::Get, "/dashboard", Who::Anyone),
    (Verb::Get, "/dashboard/", Who::Anyone),
    (Verb::Get, "/dashboard/assets/{name}", Who::Anyone),
    (Verb::Get, "/dashboard/sign-in", Who::Anyone),
    (Verb::Post, "/dashboard/sign-in", Who::Anyone),
    (Verb::Get, "/dashboard/set-password", Who::Anyone),
    (Verb::Post, "/dashboard/set-password", Who::Anyone),
    (Verb::Get, "/dashboard/sign-up", Who::Anyone),
    (Verb::Post, "/dashboard/sign-up", Who::Anyone),
    (Verb::Get, "/dashboard/check-email", Who::Anyone),
    (Verb::Post, "/dashboard/check-email", Who::Anyone),
    (Verb::Get, "/dashboard/verify-email", Who::Anyone),
    (Verb::Post, "/dashboard/verify-email", Who::Anyone),
    (Verb::Get, "/dashboard/forgot-password", Who::Anyone),
    (Verb::Post, "/dashboard/forgot-password", Who::Anyone),
    (Verb::Get, "/dashboard/reset-password", Who::Anyone),
    (Verb::Post, "/dashboard/reset-password", Who::Anyone),
    (Verb::Get, "/dashboard/confirm-email", Who::Anyone),
    (Verb::Post, "/dashboard/confirm-email", Who::Anyone),
    (Verb::Get, "/dashboard/connect-calendar", Who::Anyone),
    (Verb::Post, "/dashboard/connect-calendar", Who::Anyone),
    (Verb::Get, "/dashboard/connect-calendar/done", Who::Anyone),
    (Verb::Post, "/dashboard/sign-out", Who::SignedIn),
    (Verb::Get, "/dashboard/appointments", Who::OwnerAndStaff),
    (
        Verb::Get,
        "/dashboard/appointments/{id}",
        Who::OwnerAndStaff,
    ),
    (
        Verb::Post,
        "/dashboard/appointments/retry-failed",
        Who::OwnerAndStaff,
    ),
    (
        Verb::Post,
        "/dashboard/appointments/{id}/retry",
        Who::OwnerAndStaff,
    ),
    (
        Verb::Post,
        "/dashboard/appointments/{id}/reschedule",
        Who::OwnerAndStaff,
    ),
    (
        Verb::Get,
        "/dashboard/appointments/{id}/cancel",
        Who::OwnerAndStaff,
    ),
    (
        Verb::Post,
        "/dashboard/appointments/{id}/cancel",
        Who::OwnerAndStaff,
    ),
    (Verb::Get, "/dashboard/calendar", Who::OwnerAndStaff),
    (Verb::Get, "/dashboard/book", Who::OwnerAndStaff),
    (Verb::Post, "/dashboard/book", Who::OwnerAndStaff),
    (Verb::Get, "/dashboard/services", Who::OwnerOnly),
    (Verb::Post, "/dashboard/services", Who::OwnerOnly),
    (Verb::Get, "/dashboard/services/new", Who::OwnerOnly),
    (Verb::Get, "/dashboard/services/{id}", Who::OwnerOnly),
    (Verb::Post, "/dashboard/services/{id}", Who::OwnerOnly),
    (
        Verb::Post,
        "/dashboard/services/{id}/performers",
        Who::OwnerOnly,
    ),
    (Verb::Get, "/dashboard/integrations", Who::OwnerOnly),
    (
        Verb::Post,
        "/dashboard/integrations/{provider}/connect",
        Who::OwnerOnly,
    ),
    (
        Verb::Get,
        "/dashboard/integrations/{provider}/calendar",
        Who::OwnerOnly,
    ),
    (
        Verb::Post,
        "/dashboard/integrations/{provider}/calendar",
        Who::OwnerOnly,
    ),
    (
        Verb::Get,
        "/dashboard/integrations/{provider}/disconnect",
        Who::OwnerOnly,
    ),
    (
        Verb::Post,
        "/dashboard/integrations/{provider}/disconnect",
        Who::OwnerOnly,
    ),
    (
        Verb::Post,
        "/dashboard/integrations/staff/{staff_id}/{provider}/connect",
        Who::OwnerOnly,
    ),
    (
        Verb::Post,
        "/dashboard/integrations/staff/{staff_id}/{connection_id}/calendars",
        Who::OwnerOnly,
    ),
    (
        Verb::Get,
        "/dashboard/integrations/staff/{staff_id}/{connection_id}/disconnect",
        Who::OwnerOnly,
    ),
    (
        Verb::Post,
        "/dashboard/integrations/staff/{staff_id}/{connection_id}/disconnect",
        Who::OwnerOnly,
    ),
    (Verb::Get, "/dashboard/api-keys", Who::OwnerOnly),
    (Verb::Post, "/dashboard/api-keys", Who::OwnerOnly),
    (Verb::Get, "/dashboard/api-keys/{id}/revoke", Who::OwnerOnly),
    (
        Verb::Post,
        "/dashboard/api-keys/{id}/revoke",
        Who::OwnerOnly,
    ),
    (Verb::Post, "/dashboard/team/invite", Who::OwnerOnly),
    (Verb::Get, "/dashboard/staff", Who::OwnerAndStaff),
    (Verb::Post, "/dashboard/staff", Who::OwnerOnly),
    (Verb::Post, "/dashboard/staff/assignment", Who::OwnerOnly),
    (Verb::Get, "/dashboard/staff/{id}", Who::OwnerAndStaff),
    (Verb::Post, "/dashboard/staff/{id}", Who::OwnerOnly),
    (Verb::Post, "/dashboard/staff/{id}/time-off", Who::OwnerOnly),
    (
        Verb::Post,
        "/dashboard/staff/{id}/time-off/remove",
        Who::OwnerOnly,
    ),
    (
        Verb::Post,
        "/dashboard/staff/{id}/deactivate",
        Who::OwnerOnly,
    ),
    (
        Verb::Post,
        "/dashboard/staff/{id}/reactivate",
        Who::OwnerOnly,
    ),
    (
        Verb::Post,
        "/dashboard/staff/{id}/connect-link",
        Who::OwnerOnly,
    ),
    (Verb::Get, "/dashboard/voice-agent", Who::OwnerOnly),
    (Verb::Post, "/dashboard/voice-agent/key", Who::OwnerOnly),
    (Verb::Post, "/dashboard/voice-agent/try", Who::OwnerOnly),
    (Verb::Get, "/dashboard/settings", Who::SignedIn),
    (Verb::Post, "/dashboard/settings/business", Who::OwnerOnly),
    (Verb::Post, "/dashboard/settings/email", Who::SignedIn),
    (Verb::Post, "/dashboard/settings/password", Who::SignedIn),
];

fn who(access: Access) -> Who {
    match access {
        Access::Public => Who::Anyone,
        Access::SignedIn => Who::SignedIn,
        Access::Needs(Permission::SeeAppointments | Permission::ManageAppointments) => {
            Who::OwnerAndStaff
        }
        Access::Needs(_) => Who::OwnerOnly,
    }
}

#[tokio::test]
async fn every_route_answers_each_role_as_declared_and_refusals_change_nothing() {
    let declared: Vec<(Verb, &str, Who)> = ROUTES
        .iter()
        .map(|route| (route.verb, route.path, who(route.access)))
        .collect();
    assert_eq!(
        declared, EXPECTED,
        "the declared routes and who may use them"
    );

    let app = spawn_app().await;
    let service = app.create_service(serde_json::json!({})).await;
    let booked = app.booked(&service, "2026-12-01T10:00:00-05:00").await;
    let appointment = booked["id"].as_str().unwrap().to_owned();
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    let staff = signed_in_staff(&app, &app.business_id, STAFF).await;
    let anonymous = Visitor::new(&app);
    let key_id = api_keys(&app).await[0].id.clone();
    let member_id = app.get_json("/v1/staff").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let connection_id = booking_core::domain::ConnectionId::generate().to_string();
    let stylesheet = {
        let page = anonymous.page("/dashboard/sign-in").await;
        let start = page.find("/dashboard/assets/").unwrap() + "/dashboard/assets/".len();
        page[start..].split('"').next().unwrap().to_owned()
    };
    let concrete = |pattern: &str| {
        let id = if pattern.starts_with("/dashboard/services/") {
            &service
        } else if pattern.starts_with("/dashboard/api-keys/") {
            &key_id
        } else if pattern.starts_with("/dashboard/staff/") {
            &member_id
        } else {
            &appointment
        };
        pattern
            .replace("{id}", id)
            .replace("{provider}", "google")
            .replace("{staff_id}", &member_id)
            .replace("{connection_id}", &connection_id)
            .replace("{name}", &stylesheet)
    };
    let before = snapshot(&app, &appointment).await;

    for &(verb, pattern, who) in EXPECTED {
        let path = concrete(pattern);
        // Signed out: a public route answers, any other sends to sign-in.
        let response = match verb {
            Verb::Get => anonymous.get(&path).await,
            Verb::Post => anonymous.post(&path, &[("csrf", "none")]).await,
        };
        if who == Who::Anyone {
            assert!(
                !location_of(&response).starts_with("/dashboard/sign-in?next"),
                "{verb:?} {path} signed out"
            );
        } else {
            assert_eq!(
                response.status(),
                StatusCode::SEE_OTHER,
                "{verb:?} {path} signed out"
            );
            assert!(location(&response).starts_with("/dashboard/sign-in"));
        }

        for (role, visitor, allowed) in [
            ("owner", &owner, true),
            ("staff", &staff, who != Who::OwnerOnly),
        ] {
            let label = format!("{verb:?} {path} as {role}");
            match (verb, allowed) {
                (Verb::Get, true) => {
                    let response = visitor.get(&path).await;
                    let went = location_of(&response);
                    let (status, body) = text(response).await;
                    assert!(
                        status.is_success()
                            || status.is_redirection()
                            || status == StatusCode::NOT_FOUND,
                        "{label}: {status}"
                    );
                    assert!(!went.starts_with("/dashboard/sign-in"), "{label}: {went}");
                    assert!(!body.contains(NOT_ALLOWED), "{label}");
                }
                // Let through the gate, a form without its token stops at the next check and does nothing.
                (Verb::Post, true) => {
                    let (status, body) =
                        text(visitor.post(&path, &[("csrf", "not the token")]).await).await;
                    assert_eq!(status, StatusCode::FORBIDDEN, "{label}");
                    assert!(body.contains(FORM_EXPIRED), "{label}: {body}");
                }
                (Verb::Get, false) => {
                    let (status, body) = text(visitor.get(&path).await).await;
                    assert_eq!(status, StatusCode::FORBIDDEN, "{label}");
                    assert!(body.contains(NOT_ALLOWED), "{label}");
                }
                // Refused even with the right token and plausible fields.
                (Verb::Post, false) => {
                    let token = csrf_of(&visitor.page("/dashboard/appointments").await);
                    let fields = [
                        ("csrf", token.as_str()),
                        ("name", "Taken over"),
                        ("email", OWNER),
                        ("calendar", "primary"),
                    ];
                    let (status, body) = text(visitor.post(&path, &fields).await).await;
                    assert_eq!(status, StatusCode::FORBIDDEN, "{label}");
                    assert!(body.contains(NOT_ALLOWED), "{label}");
                }
            }
        }
    }
    assert_eq!(
        snapshot(&app, &appointment).await,
        before,
        "nothing changed"
    );

    // Staff see only the pages they may use.
    let page = staff.page("/dashboard/appointments").await;
    for (href, shown) in [
        ("/dashboard/appointments", true),
        ("/dashboard/book", true),
        ("/dashboard/services", false),
        ("/dashboard/staff", true),
        ("/dashboard/integrations", false),
        ("/dashboard/api-keys", false),
        ("/dashboard/voice-agent", false),
        ("/dashboard/settings", true),
    ] {
        assert_eq!(
            page.contains(&format!("href=\"{href}\"")),
            shown,
            "staff nav {href}"
        );
    }
    let page = owner.page("/dashboard/appointments").await;
    assert!(page.contains("href=\"/dashboard/api-keys\""));
}
