//! Identifiers. Each is a UUID behind its own type so a service id can never be passed where an appointment id is
//! expected; v7 UUIDs sort by creation time, which keeps store keys roughly ordered.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ValidationError;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(text)
                    .map(Self)
                    .map_err(|_| ValidationError::new($field, "must be a UUID"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Uuid)))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

uuid_id!(
    /// A business (tenant). Every other record belongs to exactly one.
    BusinessId,
    "business_id"
);
uuid_id!(
    /// A bookable service of a business.
    ServiceId,
    "service_id"
);
uuid_id!(
    /// An appointment.
    AppointmentId,
    "appointment_id"
);
uuid_id!(
    /// A hold on a time. The appointment a hold becomes takes the same UUID, so the hold and its appointment never
    /// count twice and a second conversion finds the appointment already there.
    HoldId,
    "hold_id"
);

/// An id derived from the business's id alone, one per `purpose`: a SHA-256 of both, as a version 8 ("custom")
/// UUID, so it cannot collide with a generated (version 7) id.
fn derived_from(business: BusinessId, purpose: &[u8]) -> Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(purpose)
        .chain_update(business.as_uuid().as_bytes())
        .finalize();
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

uuid_id!(
    /// A staff member: a person or a resource (a room, a van) that services are booked with.
    StaffId,
    "staff_id"
);

impl StaffId {
    /// The id of the staff member every business starts with (created for it, or by the migration for a business
    /// that existed before staff members), derived from the business's id alone. Items written before staff members
    /// carry no staff id and belong to this one, so a store reads them correctly even before its migration has
    /// reached them. A SHA-256 of the business id, as a version 8 ("custom") UUID: it cannot collide with a generated
    /// (version 7) id.
    pub fn first_of(business: BusinessId) -> Self {
        Self(derived_from(business, b"first staff member of "))
    }

    /// Stands, only while a record is read, for the member a record stored before staff members does not name; the
    /// read replaces it with [`Self::first_of`] its business (see [`read_from_any_release`]). Never generated.
    pub(crate) fn unnamed() -> Self {
        Self(Uuid::nil())
    }
}

uuid_id!(
    /// A staff member's connection to one account at a calendar provider.
    ConnectionId,
    "connection_id"
);

impl ConnectionId {
    /// The id of the connection a business made before connections belonged to staff members (one per business),
    /// derived from the business's id alone, as [`StaffId::first_of`] is: such a connection, and the watches and
    /// busy time that came from it, read with this id without any rewrite of stored data. Stores keep that
    /// connection under its old key, so this id is also how they recognise it.
    pub fn of_first_connection(business: BusinessId) -> Self {
        Self(derived_from(business, b"first calendar connection of "))
    }

    /// Stands, only while a record is read, for the connection a record of an earlier release does not name (see
    /// [`read_from_any_release`]). Never generated.
    pub(crate) fn unnamed() -> Self {
        Self(Uuid::nil())
    }
}

uuid_id!(
    /// One calendar followed for busy time: a calendar of one connection, checked for its member's conflicts.
    WatchId,
    "watch_id"
);

impl WatchId {
    /// The watch of `calendar` through `connection`, the same however often it is asked for: starting to follow a
    /// calendar twice (a retried request, two racing ones) finds the watch already there rather than making two.
    pub fn of(connection: ConnectionId, calendar_id: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(b"calendar watch of ")
            .chain_update(connection.as_uuid().as_bytes())
            .chain_update(calendar_id.as_bytes())
            .finalize();
        let mut bytes = [0_u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }

    /// The id of the one watch a business had before each checked calendar had its own: such a watch reads with
    /// this id, and stores keep it under its old key, as they keep the first connection.
    pub fn of_first_watch(business: BusinessId) -> Self {
        Self(derived_from(business, b"first calendar watch of "))
    }

    /// Stands, only while a record is read, for the watch a record of an earlier release does not name (see
    /// [`read_from_any_release`]). Never generated.
    pub(crate) fn unnamed() -> Self {
        Self(Uuid::nil())
    }
}

/// Serde for a record that names its staff member (an appointment, a hold) and may have been stored by a release
/// before staff members, which named none: such a record reads as its business's first member's
/// ([`StaffId::first_of`]), so a store reads it correctly before its migration has reached it. The record derives
/// serde with `#[serde(remote = "Self")]` and `#[serde(default = "StaffId::unnamed")]` on its `staff_id`; this
/// implements the traits through those derives and fills in the member. Further ids a record of an earlier release
/// lacks are named after it (`field: Type::fill`), each read as `Type::fill(business_id)` when absent (its serde
/// default being `Type::unnamed`).
macro_rules! read_from_any_release {
    ($record:ty $(; $($field:ident: $id:ident :: $fill:ident),+)?) => {
        impl serde::Serialize for $record {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                Self::serialize(self, serializer)
            }
        }

        impl<'de> serde::Deserialize<'de> for $record {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let mut record = Self::deserialize(deserializer)?;
                if record.staff_id == $crate::domain::StaffId::unnamed() {
                    record.staff_id = $crate::domain::StaffId::first_of(record.business_id);
                }
                $($(
                    if record.$field == $crate::domain::$id::unnamed() {
                        record.$field = $crate::domain::$id::$fill(record.business_id);
                    }
                )+)?
                Ok(record)
            }
        }
    };
}

pub(crate) use read_from_any_release;

impl HoldId {
    /// The id of the appointment this hold becomes.
    pub fn appointment_id(&self) -> AppointmentId {
        AppointmentId::from(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_business_first_staff_member_id_is_its_own_and_never_a_generated_one() {
        let business = BusinessId::generate();
        assert_eq!(StaffId::first_of(business), StaffId::first_of(business));
        assert_ne!(
            StaffId::first_of(business),
            StaffId::first_of(BusinessId::generate())
        );
        assert_eq!(StaffId::first_of(business).as_uuid().get_version_num(), 8);
        assert_eq!(StaffId::generate().as_uuid().get_version_num(), 7);
    }

    #[test]
    fn a_business_first_connection_id_is_its_own_and_not_its_first_member_id() {
        let business = BusinessId::generate();
        let first = ConnectionId::of_first_connection(business);
        assert_eq!(first, ConnectionId::of_first_connection(business));
        assert_ne!(
            first,
            ConnectionId::of_first_connection(BusinessId::generate())
        );
        assert_ne!(first.as_uuid(), StaffId::first_of(business).as_uuid());
        assert_eq!(first.as_uuid().get_version_num(), 8);
    }

    #[test]
    fn a_watch_id_names_one_calendar_of_one_connection_and_never_the_old_watch() {
        let business = BusinessId::generate();
        let connection = ConnectionId::of_first_connection(business);
        let watch = WatchId::of(connection, "primary");
        assert_eq!(watch, WatchId::of(connection, "primary"), "asked again");
        assert_ne!(watch, WatchId::of(connection, "family"));
        assert_ne!(watch, WatchId::of(ConnectionId::generate(), "primary"));
        // Calendar ids are the provider's free text: no calendar of any connection is the old watch.
        assert_ne!(watch, WatchId::of_first_watch(business));
        assert_eq!(
            WatchId::of_first_watch(business),
            WatchId::of_first_watch(business)
        );
        assert_ne!(
            WatchId::of_first_watch(business).as_uuid(),
            connection.as_uuid()
        );
    }

    #[test]
    fn parses_its_own_display() {
        let id = AppointmentId::generate();
        assert_eq!(id.to_string().parse::<AppointmentId>().ok(), Some(id));
    }

    #[test]
    fn rejects_non_uuid_text_naming_the_field() {
        let error = "abc".parse::<ServiceId>().err();
        assert_eq!(error.map(|e| e.field), Some("service_id"));
    }
}
