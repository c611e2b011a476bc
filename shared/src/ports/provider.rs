//! What the system knows of a calendar provider without talking to it: the name it is stored under, how people know
//! it, and how its push notifications read. Each provider module (`crate::providers`) declares its own; the
//! composition root lists the registered ones in a [`ProviderRegistry`] that the app, the API and the dashboard read.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar provider's name: lowercase ASCII letters, digits and `_`, starting with a letter, at most
/// [`ProviderKind::MAX_LEN`] bytes (`google`, `microsoft`). It is what records, JSON, URLs and environment
/// variable prefixes carry, so it never changes for a provider once data exists. Which names this build knows is
/// the registry's business, not this type's: any well-formed name parses.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProviderKind {
    /// The name's bytes, zero-padded, so that equality and hashing see the name only.
    bytes: [u8; ProviderKind::MAX_LEN],
    len: u8,
}

/// A provider name that is empty, too long, or holds something other than lowercase letters, digits and `_`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a provider name: lowercase letters, digits and _, starting with a letter, at most 32 characters"
)]
pub struct InvalidProviderKind(String);

impl ProviderKind {
    pub const MAX_LEN: usize = 32;

    /// The kind a provider module declares. Used in constants, where a malformed name fails the build.
    pub const fn from_static(name: &'static str) -> Self {
        match Self::checked(name) {
            Some(kind) => kind,
            None => {
                panic!("a provider name is lowercase letters, digits and _, starting with a letter")
            }
        }
    }

    pub fn parse(name: &str) -> Result<Self, InvalidProviderKind> {
        Self::checked(name).ok_or_else(|| InvalidProviderKind(name.to_owned()))
    }

    const fn checked(name: &str) -> Option<Self> {
        let source = name.as_bytes();
        if source.is_empty() || source.len() > Self::MAX_LEN || !source[0].is_ascii_lowercase() {
            return None;
        }
        let mut bytes = [0_u8; Self::MAX_LEN];
        let mut index = 0;
        while index < source.len() {
            let byte = source[index];
            if !(byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_') {
                return None;
            }
            bytes[index] = byte;
            index += 1;
        }
        Some(Self {
            bytes,
            // At most MAX_LEN (32), checked above.
            len: source.len() as u8,
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (see `checked`), so this cannot fail; the fallback keeps it panic-free.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProviderKind({})", self.as_str())
    }
}

impl std::str::FromStr for ProviderKind {
    type Err = InvalidProviderKind;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::parse(name)
    }
}

impl Serialize for ProviderKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ProviderKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Self::parse(&name).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for ProviderKind {
    /// A well-formed name; the API's document narrows it to the registered providers.
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[a-z][a-z0-9_]{0,31}$"))
            .into()
    }
}

impl utoipa::ToSchema for ProviderKind {}

/// One registered provider, as everything but its client sees it. A `const` in the provider's module.
#[derive(Clone, Copy)]
pub struct ProviderProfile {
    pub kind: ProviderKind,
    /// How the business owner knows it: "Google Calendar".
    pub display_name: &'static str,
    /// Who runs it, as the owner would name them when quoting what it said: "Google".
    pub vendor: &'static str,
    pub webhook: ProviderWebhook,
}

/// Where a provider's push notifications arrive and how they read.
#[derive(Clone, Copy)]
pub struct ProviderWebhook {
    /// Below the API's public base URL: `/v1/webhooks/google`.
    pub path: &'static str,
    /// The provider's own format turned into notifications (or a handshake to answer); the channel and secret
    /// checks come after, the same for every provider.
    pub read: fn(&WebhookCall<'_>) -> Result<WebhookReading, WebhookRefusal>,
    /// The webhook's OpenAPI description: its parameters, body and answers (the API adds the common refusals).
    pub openapi: fn() -> utoipa::openapi::OpenApi,
}

/// One call to a provider's webhook, as it arrived.
#[derive(Clone, Copy, Debug)]
pub struct WebhookCall<'a> {
    pub headers: &'a http::HeaderMap,
    /// The raw query string, without the `?`.
    pub query: Option<&'a str>,
    pub body: &'a [u8],
}

impl WebhookCall<'_> {
    /// A header's value, if present and readable as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    }
}

/// What a webhook call asks of us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookReading {
    /// Notifications to check and act on; once accepted, the call is answered with `status`.
    Notifications {
        notifications: Vec<PushNotification>,
        status: http::StatusCode,
    },
    /// Proof that the endpoint is ours (Graph's validation token): echo `token` as plain text, nothing else.
    Handshake { token: String },
}

/// Why a webhook call is not one of the provider's notifications.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookRefusal {
    #[error("{field}: {message}")]
    Header {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Query(String),
    #[error("{0}")]
    Body(String),
}

/// A push notification, read from the provider's own format by its webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushNotification {
    /// The channel (Google) or subscription (Graph) it names.
    pub channel_id: String,
    /// The secret it echoes: Google's channel token, Graph's client state.
    pub secret: Option<String>,
    /// The watched resource, where the provider names it (Google); checked when both sides know one.
    pub resource_id: Option<String>,
    pub event: PushEvent,
}

/// What a notification says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushEvent {
    /// The channel is open (Google's `sync`); nothing changed yet.
    Opened,
    /// Events changed, or may have (Graph's `missed`).
    Changed,
    /// The provider wants the channel renewed now (Graph's `reauthorizationRequired`).
    RenewNow,
    /// The provider removed the channel (Graph's `subscriptionRemoved`): the next sync opens another.
    Removed,
}

/// The providers this build knows, in the order they are shown. Built once by the composition root from the
/// provider modules it registers; empty in an app built without one.
#[derive(Clone, Default)]
pub struct ProviderRegistry(Arc<[ProviderProfile]>);

impl ProviderRegistry {
    /// The first profile of a kind wins; a repeated kind is left out.
    pub fn new(profiles: impl IntoIterator<Item = ProviderProfile>) -> Self {
        let mut unique: Vec<ProviderProfile> = Vec::new();
        for profile in profiles {
            if unique.iter().all(|known| known.kind != profile.kind) {
                unique.push(profile);
            }
        }
        Self(unique.into())
    }

    pub fn get(&self, kind: ProviderKind) -> Option<&ProviderProfile> {
        self.0.iter().find(|profile| profile.kind == kind)
    }

    pub fn iter(&self) -> impl Iterator<Item = &ProviderProfile> {
        self.0.iter()
    }

    /// How the owner knows the provider; its name when this build does not register it.
    pub fn display_name(&self, kind: ProviderKind) -> String {
        self.get(kind).map_or_else(
            || kind.to_string(),
            |profile| profile.display_name.to_owned(),
        )
    }
}

impl ProviderRegistry {
    /// Who runs the provider; its name when this build does not register it.
    pub fn vendor(&self, kind: ProviderKind) -> String {
        self.get(kind)
            .map_or_else(|| kind.to_string(), |profile| profile.vendor.to_owned())
    }
}

impl fmt::Debug for ProviderRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|profile| profile.kind))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_kept_byte_for_byte_and_round_trips_through_json() {
        for name in ["google", "microsoft", "a", "caldav_2"] {
            let kind = ProviderKind::parse(name);
            assert_eq!(kind.as_ref().map(ProviderKind::as_str), Ok(name));
            let json = kind
                .as_ref()
                .ok()
                .and_then(|kind| serde_json::to_string(kind).ok());
            assert_eq!(json, Some(format!("\"{name}\"")));
            let back: Option<ProviderKind> = json.and_then(|json| serde_json::from_str(&json).ok());
            assert_eq!(back, kind.ok());
        }
        assert_eq!(ProviderKind::from_static("google").to_string(), "google");
    }

    #[test]
    fn malformed_names_are_refused_not_panicked_on() {
        let too_long = "a".repeat(ProviderKind::MAX_LEN + 1);
        for name in [
            "",
            "Google",
            "9lives",
            "out-look",
            "x/y",
            "é",
            too_long.as_str(),
        ] {
            assert!(ProviderKind::parse(name).is_err(), "{name:?}");
            assert!(
                serde_json::from_str::<ProviderKind>(&format!("{name:?}")).is_err(),
                "{name:?}"
            );
        }
        assert!(ProviderKind::parse(&"a".repeat(ProviderKind::MAX_LEN)).is_ok());
    }

    #[test]
    fn the_registry_keeps_the_first_profile_of_a_kind() {
        fn read(_: &WebhookCall<'_>) -> Result<WebhookReading, WebhookRefusal> {
            Err(WebhookRefusal::Body("test".to_owned()))
        }
        let profile = |name: &'static str, display_name| ProviderProfile {
            kind: ProviderKind::from_static(name),
            display_name,
            vendor: display_name,
            webhook: ProviderWebhook {
                path: "/v1/webhooks/test",
                read,
                openapi: utoipa::openapi::OpenApi::default,
            },
        };
        let registry = ProviderRegistry::new([
            profile("one", "One"),
            profile("two", "Two"),
            profile("one", "Again"),
        ]);
        let names: Vec<&str> = registry
            .iter()
            .map(|profile| profile.display_name)
            .collect();
        assert_eq!(names, ["One", "Two"]);
        assert_eq!(
            registry.display_name(ProviderKind::from_static("three")),
            "three"
        );
    }
}
