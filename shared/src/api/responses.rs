//! Error responses shared by the routes' OpenAPI descriptions. The bodies themselves are built by `ApiError`.

use std::collections::BTreeMap;

use utoipa::openapi::{ContentBuilder, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, PartialSchema};

use super::problem::{PROBLEM_CONTENT_TYPE, Problem};

fn problem_responses(entries: &[(u16, &str)]) -> BTreeMap<String, RefOr<Response>> {
    entries
        .iter()
        .map(|(status, description)| {
            let content = ContentBuilder::new()
                .schema(Some(Problem::schema()))
                .build();
            let response = ResponseBuilder::new()
                .description(*description)
                .content(PROBLEM_CONTENT_TYPE, content);
            (status.to_string(), RefOr::T(response.build()))
        })
        .collect()
}

/// What any authenticated route may answer besides success.
pub struct CommonErrors;

impl IntoResponses for CommonErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problem_responses(&[
            (
                400,
                "Unreadable input: malformed JSON, unknown fields, wrong types",
            ),
            (401, "Missing or unknown API key"),
            (413, "Body too large"),
            (415, "Body is not JSON"),
            (
                422,
                "A field breaks a rule; `field` names it and `detail` shows the accepted form",
            ),
            (500, "Internal error"),
        ])
    }
}

pub struct NotFoundError;

impl IntoResponses for NotFoundError {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problem_responses(&[(404, "No such record for this business")])
    }
}

/// Refusals of a change to a staff member: `version_conflict` (changed since the `expected_version` read), or
/// `staff_has_future_appointments` (a deactivation that does not say what becomes of them).
pub struct StaffConflictError;

impl IntoResponses for StaffConflictError {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problem_responses(&[(
            409,
            "Changed since the version read, or has appointments ahead that the request does not say what to do with",
        )])
    }
}

/// Refusals of booking, rescheduling and availability requests.
pub struct BookingErrors;

impl IntoResponses for BookingErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problem_responses(&[
            (404, "No such record for this business"),
            (
                409,
                "Slot unavailable (with reason and alternatives), a concurrent change, or a cancelled appointment",
            ),
            (
                422,
                "Service inactive, or Idempotency-Key reused with another request",
            ),
        ])
    }
}

/// Refusals of the calendar integration routes.
pub struct IntegrationErrors;

impl IntoResponses for IntegrationErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problem_responses(&[
            (404, "The calendar is not one of the account's calendars"),
            (
                409,
                "No calendar connected for this provider, or another calendar already selected",
            ),
            (
                422,
                "The provider is not configured on this server, or the calendar is read-only",
            ),
            (502, "The calendar provider is unavailable or refused"),
        ])
    }
}

/// Refusals of the routes of one staff member's calendar connections.
pub struct MemberIntegrationErrors;

impl IntoResponses for MemberIntegrationErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problem_responses(&[
            (
                404,
                "No such staff member, provider or calendar of the account",
            ),
            (409, "No such connection of this staff member"),
            (
                422,
                "The staff member is inactive, the provider is not configured on this server, or the calendar is read-only",
            ),
            (502, "The calendar provider is unavailable or refused"),
        ])
    }
}

/// Refusals of the provider webhooks.
pub struct WebhookErrors;

impl IntoResponses for WebhookErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problem_responses(&[
            (400, "Not a notification of this provider"),
            (
                403,
                "The notification matches no live channel and its secret",
            ),
            (413, "Body too large"),
            (500, "Internal error"),
        ])
    }
}

/// Refusals of the sync retry routes.
pub struct RetryErrors;

impl IntoResponses for RetryErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problem_responses(&[
            (404, "No such appointment for this business"),
            (409, "No calendar is connected"),
        ])
    }
}
