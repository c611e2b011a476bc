//! RFC 9457 problem details: the one place where every refusal becomes an HTTP response with a stable `code`.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::{AppError, Missing};

use super::dto::{SlotView, local_rfc3339};

/// An RFC 9457 problem. `code` is stable and meant for programs; `title` and `detail` are for people.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type; `/problems/{code}`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: String,
    /// The request field at fault, for validation problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why a time cannot be booked: outside_hours, too_soon, too_far, daily_limit, taken or calendar_busy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The nearest bookable slots, for a refused time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternatives: Option<Vec<SlotView>>,
}

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Every way a request can fail at the HTTP edge.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error("{0}")]
    MalformedJson(String),
    #[error("{0}")]
    InvalidBody(String),
    #[error("{0}")]
    InvalidQuery(String),
    #[error("{0}")]
    InvalidPath(String),
    #[error("{field}: {message}")]
    InvalidParameter {
        field: &'static str,
        message: String,
    },
    /// A header the route needs is missing or unreadable (e.g. a provider notification without its channel).
    #[error("{field}: {message}")]
    InvalidHeader {
        field: &'static str,
        message: String,
    },
    #[error("expected a body with Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("a valid API key is required: send Authorization: Bearer <key>")]
    Unauthorized,
    /// A browser request from a page this server does not serve (MCP requires refusing it: DNS rebinding).
    #[error("requests from the origin {0:?} are not accepted; only this server's own origin is")]
    OriginNotAllowed(String),
    #[error("no such route")]
    RouteNotFound,
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// The body could not be read (cut off, or not valid for the route).
    #[error("the request body could not be read: {0}")]
    UnreadableBody(String),
    /// A refusal the framework or a layer wrote on its own, re-issued as a problem so that every error a client
    /// sees has one format.
    #[error("the request was refused: {}", .0.canonical_reason().unwrap_or("error"))]
    Refused(StatusCode),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::App(error) => match error {
                AppError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
                AppError::WindowTooLong { .. } => (StatusCode::BAD_REQUEST, "window_too_long"),
                AppError::NotFound(Missing::Service) => {
                    (StatusCode::NOT_FOUND, "service_not_found")
                }
                AppError::NotFound(Missing::Appointment) => {
                    (StatusCode::NOT_FOUND, "appointment_not_found")
                }
                AppError::NotFound(Missing::Hold) => (StatusCode::NOT_FOUND, "hold_not_found"),
                AppError::NotFound(Missing::StaffMember) => {
                    (StatusCode::NOT_FOUND, "staff_not_found")
                }
                AppError::NotFound(Missing::Provider) => {
                    (StatusCode::NOT_FOUND, "provider_not_found")
                }
                AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
                AppError::ServiceInactive => (StatusCode::UNPROCESSABLE_ENTITY, "service_inactive"),
                AppError::StaffInactive => (StatusCode::UNPROCESSABLE_ENTITY, "staff_inactive"),
                AppError::StaffDoesNotPerform => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "staff_does_not_perform_service",
                ),
                AppError::StaffHasFutureAppointments { .. } => {
                    (StatusCode::CONFLICT, "staff_has_future_appointments")
                }
                AppError::LastActiveStaffMember => {
                    (StatusCode::CONFLICT, "last_active_staff_member")
                }
                AppError::SlotUnavailable { .. } => (StatusCode::CONFLICT, "slot_unavailable"),
                AppError::VersionConflict => (StatusCode::CONFLICT, "version_conflict"),
                AppError::AppointmentCancelled => (StatusCode::CONFLICT, "appointment_cancelled"),
                AppError::HoldExpired => (StatusCode::CONFLICT, "hold_expired"),
                AppError::HoldAlreadyConverted => (StatusCode::CONFLICT, "hold_already_converted"),
                AppError::IdempotencyKeyReused => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
                }
                // The server's configuration, not a failure: nothing the caller retries will change it.
                AppError::ProviderNotConfigured(_) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "provider_not_configured")
                }
                AppError::CalendarNotConnected => (StatusCode::CONFLICT, "calendar_not_connected"),
                AppError::OAuthStateInvalid => (StatusCode::BAD_REQUEST, "oauth_state_invalid"),
                AppError::OAuthDenied(_) => (StatusCode::BAD_REQUEST, "oauth_denied"),
                AppError::CalendarNotFound(_) => (StatusCode::NOT_FOUND, "calendar_not_found"),
                AppError::CalendarNotWritable(_) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "calendar_not_writable")
                }
                AppError::ProviderUnavailable(_) => {
                    (StatusCode::BAD_GATEWAY, "provider_unavailable")
                }
                // One answer for every mismatch, so a caller learns nothing about which channels exist.
                AppError::WebhookRejected => (StatusCode::FORBIDDEN, "webhook_rejected"),
                AppError::SignInFailed => (StatusCode::UNAUTHORIZED, "sign_in_failed"),
                AppError::SignInThrottled { .. } => {
                    (StatusCode::TOO_MANY_REQUESTS, "sign_in_throttled")
                }
                AppError::PasswordLinkInvalid => (StatusCode::BAD_REQUEST, "password_link_invalid"),
                AppError::EmailNotVerified => (StatusCode::FORBIDDEN, "email_not_verified"),
                AppError::TooManyRequests { .. } => {
                    (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
                }
                AppError::DashboardConnectFailed { .. } => {
                    (StatusCode::BAD_REQUEST, "oauth_denied")
                }
                AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
            },
            Self::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            Self::InvalidBody(_) => (StatusCode::BAD_REQUEST, "invalid_body"),
            Self::InvalidQuery(_) => (StatusCode::BAD_REQUEST, "invalid_query"),
            Self::InvalidPath(_) => (StatusCode::BAD_REQUEST, "invalid_path"),
            Self::InvalidParameter { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            }
            Self::InvalidHeader { .. } => (StatusCode::BAD_REQUEST, "invalid_header"),
            Self::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::OriginNotAllowed(_) => (StatusCode::FORBIDDEN, "origin_not_allowed"),
            Self::RouteNotFound => (StatusCode::NOT_FOUND, "route_not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::UnreadableBody(_) => (StatusCode::BAD_REQUEST, "unreadable_body"),
            Self::Refused(status) => (*status, refusal_code(*status)),
        }
    }

    fn to_problem(&self) -> Problem {
        let (status, code) = self.status_and_code();
        let mut problem = Problem {
            problem_type: format!("/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            code: code.to_owned(),
            field: None,
            reason: None,
            alternatives: None,
        };
        match self {
            Self::App(AppError::Validation(error)) => problem.field = Some(error.field.to_owned()),
            Self::InvalidParameter { field, .. } | Self::InvalidHeader { field, .. } => {
                problem.field = Some((*field).to_owned())
            }
            Self::App(AppError::SlotUnavailable {
                requested,
                reason,
                alternatives,
                zone,
            }) => {
                problem.reason = Some(reason.code().to_owned());
                problem.detail = format!(
                    "{} is not available: {reason}",
                    local_rfc3339(*requested, zone)
                );
                problem.alternatives = Some(SlotView::all(alternatives, zone));
            }
            Self::App(AppError::Internal(source)) => {
                // The cause goes to the log only; the client learns nothing about our internals.
                tracing::error!(error = %source, cause = ?source.source(), "request failed");
                problem.detail = "internal error".to_owned();
            }
            _ => {}
        }
        problem
    }
}

/// Stable codes for refusals that reach us only as a status.
fn refusal_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "route_not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        status if status.is_server_error() => "internal_error",
        _ => "bad_request",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.to_problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(error) => Self::InvalidBody(error.body_text()),
            JsonRejection::JsonSyntaxError(error) => Self::MalformedJson(error.body_text()),
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType,
            JsonRejection::BytesRejection(error)
                if error.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Self::PayloadTooLarge
            }
            other => Self::MalformedJson(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::InvalidQuery(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::InvalidPath(rejection.body_text())
    }
}

impl From<crate::domain::ValidationError> for ApiError {
    fn from(error: crate::domain::ValidationError) -> Self {
        Self::App(AppError::Validation(error))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use jiff::tz::TimeZone;
    use jiff::{SignedDuration, Timestamp};

    use super::{ApiError, AppError};
    use crate::availability::Unavailability;
    use crate::domain::Interval;

    #[test]
    fn a_refused_time_passed_on_with_a_plain_question_mark_keeps_its_reason_alternatives_and_zone()
    {
        fn handler(refusal: AppError) -> Result<(), ApiError> {
            Err(refusal)?
        }
        let zone = TimeZone::get("America/New_York").unwrap();
        let requested: Timestamp = "2026-12-01T15:00:00Z".parse().unwrap();
        let alternative = Interval::starting_at(
            "2026-12-01T15:30:00Z".parse().unwrap(),
            SignedDuration::from_mins(30),
        )
        .unwrap();
        let refusal = AppError::SlotUnavailable {
            requested,
            reason: Unavailability::Taken,
            alternatives: vec![alternative],
            zone,
        };

        let problem = handler(refusal).unwrap_err().to_problem();

        assert_eq!(problem.status, 409);
        assert_eq!(problem.code, "slot_unavailable");
        assert_eq!(problem.reason.as_deref(), Some("taken"));
        assert!(
            problem
                .detail
                .starts_with("2026-12-01T10:00:00-05:00 is not available: "),
            "{}",
            problem.detail
        );
        let alternatives = problem.alternatives.unwrap_or_default();
        assert_eq!(alternatives.len(), 1);
        assert_eq!(alternatives[0].start, "2026-12-01T10:30:00-05:00");
        assert_eq!(alternatives[0].end, "2026-12-01T11:00:00-05:00");
    }
}
