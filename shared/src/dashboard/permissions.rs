//! Who may do what on the dashboard, as data beside the router: what each role may do ([`permissions_of`]), the access
//! every route needs ([`ROUTES`]), and the one check every route passes before its handler runs ([`gate`]). A route
//! missing from the table is refused to everyone, so a page can only be added by saying who may use it; the table
//! test in `tests/dashboard` walks every route for every role.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::signed_in;
use super::{Dashboard, PageError};
use crate::app::AppError;
use crate::ports::StaffRole;
use Access::{Needs, Public, SignedIn};
use Permission::{
    ManageApiKeys, ManageAppointments, ManageBusiness, ManageIntegrations, ManageServices,
    ManageStaff, SeeAppointments,
};
use Verb::{Get, Post};

/// Something a signed-in person may be allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// The appointment list, each appointment's page, and the calendar.
    SeeAppointments,
    /// Book, reschedule, cancel, and send syncs again.
    ManageAppointments,
    /// Create and edit services. Their pages are the editing forms, so seeing them is part of it.
    ManageServices,
    /// Connect a calendar, choose its calendar, disconnect it; send a staff member a link to connect their own.
    ManageIntegrations,
    /// Create and revoke API keys, and connect the voice agent (its page creates a key and runs its tools).
    ManageApiKeys,
    /// Invite people to sign in to the dashboard.
    ManageStaff,
    /// Change the business's own settings (its name, time zone, phone country, hold length and owner alerts), the
    /// staff members customers are booked with, and who is booked when the caller does not mind.
    ManageBusiness,
}

/// What each role may do: the owner runs the business, staff work with its appointments.
pub fn permissions_of(role: StaffRole) -> &'static [Permission] {
    match role {
        StaffRole::Owner => &[
            Permission::SeeAppointments,
            Permission::ManageAppointments,
            Permission::ManageServices,
            Permission::ManageIntegrations,
            Permission::ManageApiKeys,
            Permission::ManageStaff,
            Permission::ManageBusiness,
        ],
        StaffRole::Staff => &[Permission::SeeAppointments, Permission::ManageAppointments],
    }
}

pub fn permits(role: StaffRole, permission: Permission) -> bool {
    permissions_of(role).contains(&permission)
}

/// Who may use a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not: signing up or in, following an emailed link (a new email's or a staff member's
    /// connect-your-calendar link too), asking for one, the assets, the way home.
    Public,
    /// Anyone signed in, whatever their role: signing out, their own email and password.
    SignedIn,
    /// A signed-in person whose role has the permission.
    Needs(Permission),
}

impl Access {
    pub fn allows(self, role: StaffRole) -> bool {
        match self {
            Self::Public | Self::SignedIn => true,
            Self::Needs(permission) => permits(role, permission),
        }
    }
}

/// The methods the dashboard's routes answer (HEAD is a GET).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
}

/// A route of the dashboard, as the router matches it, and who may use it.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    pub verb: Verb,
    /// The router's pattern, under `/dashboard`: `/dashboard/appointments/{id}`.
    pub path: &'static str,
    pub access: Access,
}

const fn route(verb: Verb, path: &'static str, access: Access) -> Route {
    Route { verb, path, access }
}

/// Every route of the dashboard and who may use it.
// One route a line, so the table reads (and diffs) as a table; rustfmt would break the long rows into five lines each.
#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    route(Get, "/dashboard", Public),
    route(Get, "/dashboard/", Public),
    route(Get, "/dashboard/assets/{name}", Public),
    route(Get, "/dashboard/sign-in", Public),
    route(Post, "/dashboard/sign-in", Public),
    route(Get, "/dashboard/set-password", Public),
    route(Post, "/dashboard/set-password", Public),
    route(Get, "/dashboard/sign-up", Public),
    route(Post, "/dashboard/sign-up", Public),
    route(Get, "/dashboard/check-email", Public),
    route(Post, "/dashboard/check-email", Public),
    route(Get, "/dashboard/verify-email", Public),
    route(Post, "/dashboard/verify-email", Public),
    route(Get, "/dashboard/forgot-password", Public),
    route(Post, "/dashboard/forgot-password", Public),
    route(Get, "/dashboard/reset-password", Public),
    route(Post, "/dashboard/reset-password", Public),
    route(Get, "/dashboard/confirm-email", Public),
    route(Post, "/dashboard/confirm-email", Public),
    route(Get, "/dashboard/connect-calendar", Public),
    route(Post, "/dashboard/connect-calendar", Public),
    route(Get, "/dashboard/connect-calendar/done", Public),
    route(Post, "/dashboard/sign-out", SignedIn),
    route(Get, "/dashboard/appointments", Needs(SeeAppointments)),
    route(Get, "/dashboard/appointments/{id}", Needs(SeeAppointments)),
    route(Post, "/dashboard/appointments/retry-failed", Needs(ManageAppointments)),
    route(Post, "/dashboard/appointments/{id}/retry", Needs(ManageAppointments)),
    route(Post, "/dashboard/appointments/{id}/reschedule", Needs(ManageAppointments)),
    route(Get, "/dashboard/appointments/{id}/cancel", Needs(ManageAppointments)),
    route(Post, "/dashboard/appointments/{id}/cancel", Needs(ManageAppointments)),
    route(Get, "/dashboard/calendar", Needs(SeeAppointments)),
    route(Get, "/dashboard/book", Needs(ManageAppointments)),
    route(Post, "/dashboard/book", Needs(ManageAppointments)),
    route(Get, "/dashboard/services", Needs(ManageServices)),
    route(Post, "/dashboard/services", Needs(ManageServices)),
    route(Get, "/dashboard/services/new", Needs(ManageServices)),
    route(Get, "/dashboard/services/{id}", Needs(ManageServices)),
    route(Post, "/dashboard/services/{id}", Needs(ManageServices)),
    route(Post, "/dashboard/services/{id}/performers", Needs(ManageBusiness)),
    route(Get, "/dashboard/integrations", Needs(ManageIntegrations)),
    route(Post, "/dashboard/integrations/{provider}/connect", Needs(ManageIntegrations)),
    route(Get, "/dashboard/integrations/{provider}/calendar", Needs(ManageIntegrations)),
    route(Post, "/dashboard/integrations/{provider}/calendar", Needs(ManageIntegrations)),
    route(Get, "/dashboard/integrations/{provider}/disconnect", Needs(ManageIntegrations)),
    route(Post, "/dashboard/integrations/{provider}/disconnect", Needs(ManageIntegrations)),
    route(Post, "/dashboard/integrations/staff/{staff_id}/{provider}/connect", Needs(ManageIntegrations)),
    route(Post, "/dashboard/integrations/staff/{staff_id}/{connection_id}/calendars", Needs(ManageIntegrations)),
    route(Get, "/dashboard/integrations/staff/{staff_id}/{connection_id}/disconnect", Needs(ManageIntegrations)),
    route(Post, "/dashboard/integrations/staff/{staff_id}/{connection_id}/disconnect", Needs(ManageIntegrations)),
    route(Get, "/dashboard/api-keys", Needs(ManageApiKeys)),
    route(Post, "/dashboard/api-keys", Needs(ManageApiKeys)),
    route(Get, "/dashboard/api-keys/{id}/revoke", Needs(ManageApiKeys)),
    route(Post, "/dashboard/api-keys/{id}/revoke", Needs(ManageApiKeys)),
    route(Post, "/dashboard/team/invite", Needs(ManageStaff)),
    route(Get, "/dashboard/staff", Needs(SeeAppointments)),
    route(Post, "/dashboard/staff", Needs(ManageBusiness)),
    route(Post, "/dashboard/staff/assignment", Needs(ManageBusiness)),
    route(Get, "/dashboard/staff/{id}", Needs(SeeAppointments)),
    route(Post, "/dashboard/staff/{id}", Needs(ManageBusiness)),
    route(Post, "/dashboard/staff/{id}/time-off", Needs(ManageBusiness)),
    route(Post, "/dashboard/staff/{id}/time-off/remove", Needs(ManageBusiness)),
    route(Post, "/dashboard/staff/{id}/deactivate", Needs(ManageBusiness)),
    route(Post, "/dashboard/staff/{id}/reactivate", Needs(ManageBusiness)),
    route(Post, "/dashboard/staff/{id}/connect-link", Needs(ManageIntegrations)),
    route(Get, "/dashboard/voice-agent", Needs(ManageApiKeys)),
    route(Post, "/dashboard/voice-agent/key", Needs(ManageApiKeys)),
    route(Post, "/dashboard/voice-agent/try", Needs(ManageApiKeys)),
    route(Get, "/dashboard/settings", SignedIn),
    route(Post, "/dashboard/settings/business", Needs(ManageBusiness)),
    route(Post, "/dashboard/settings/email", SignedIn),
    route(Post, "/dashboard/settings/password", SignedIn),
];

/// What the table says of a request to the route the router matched.
#[derive(Debug, PartialEq, Eq)]
pub enum Declared {
    Access(Access),
    /// The path is declared for other methods only: they are what it answers (for the `Allow` header).
    OtherMethods(&'static str),
    /// Nobody declared the path: refused to everyone.
    Nothing,
}

pub fn declared(method: &Method, matched_path: &str) -> Declared {
    let verb = match *method {
        Method::GET | Method::HEAD => Some(Verb::Get),
        Method::POST => Some(Verb::Post),
        _ => None,
    };
    let here = ROUTES.iter().filter(|route| route.path == matched_path);
    if let Some(route) = here.clone().find(|route| Some(route.verb) == verb) {
        return Declared::Access(route.access);
    }
    let verbs = here.fold((false, false), |(get, post), route| {
        (
            get || route.verb == Verb::Get,
            post || route.verb == Verb::Post,
        )
    });
    match verbs {
        (true, true) => Declared::OtherMethods("GET,HEAD,POST"),
        (true, false) => Declared::OtherMethods("GET,HEAD"),
        (false, true) => Declared::OtherMethods("POST"),
        (false, false) => Declared::Nothing,
    }
}

/// The one check: runs before every route's handler (a route layer over the whole dashboard). A public route goes
/// through; any other needs a live session (else the sign-in page, coming back here after a GET), whose member's
/// stored role has the route's permission (else 403, nothing done). The session found travels to the handler's
/// [`super::auth::Signed`] or [`super::auth::SignedForm`]. A method the table does not declare for the path is
/// answered 405 here, so no handler, declared or not, runs for it.
pub(crate) async fn gate(
    State(dashboard): State<Dashboard>,
    request: Request,
    next: Next,
) -> Response {
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|matched| matched.as_str().to_owned());
    let access = match matched
        .as_deref()
        .map_or(Declared::Nothing, |path| declared(request.method(), path))
    {
        Declared::Access(access) => access,
        Declared::OtherMethods(allow) => {
            return (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, HeaderValue::from_static(allow))],
            )
                .into_response();
        }
        Declared::Nothing => {
            tracing::error!(route = ?matched, "a dashboard route declares no access: refused");
            return PageError::App(AppError::Internal(
                "a dashboard route without a declared access".into(),
            ))
            .into_response();
        }
    };
    if access == Access::Public {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let signed = match signed_in(&parts, &dashboard).await {
        Ok(signed) => signed,
        Err(refusal) => return refusal.into_response(),
    };
    if !access.allows(signed.member.role) {
        tracing::warn!(role = ?signed.member.role, ?access, "refused: the role does not have the permission");
        return PageError::NotAllowed.into_response();
    }
    parts.extensions.insert(signed);
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_work_with_appointments_and_only_the_owner_runs_the_business() {
        for permission in [Permission::SeeAppointments, Permission::ManageAppointments] {
            assert!(permits(StaffRole::Staff, permission));
            assert!(permits(StaffRole::Owner, permission));
        }
        for permission in [
            Permission::ManageServices,
            Permission::ManageIntegrations,
            Permission::ManageApiKeys,
            Permission::ManageStaff,
            Permission::ManageBusiness,
        ] {
            assert!(!permits(StaffRole::Staff, permission), "{permission:?}");
            assert!(permits(StaffRole::Owner, permission), "{permission:?}");
        }
    }

    #[test]
    fn each_route_is_declared_once_and_an_undeclared_one_has_no_access() {
        for (index, route) in ROUTES.iter().enumerate() {
            assert!(
                ROUTES[index + 1..]
                    .iter()
                    .all(|other| (other.verb, other.path) != (route.verb, route.path)),
                "{route:?} twice"
            );
        }
        assert_eq!(
            declared(&Method::HEAD, "/dashboard/appointments"),
            Declared::Access(Access::Needs(Permission::SeeAppointments))
        );
        assert_eq!(
            declared(&Method::DELETE, "/dashboard/appointments"),
            Declared::OtherMethods("GET,HEAD")
        );
        assert_eq!(
            declared(&Method::GET, "/dashboard/team/invite"),
            Declared::OtherMethods("POST")
        );
        assert_eq!(
            declared(&Method::GET, "/dashboard/undeclared"),
            Declared::Nothing
        );
    }
}
