//! The tenant: a business, its IANA time zone, and its API keys (clear only once, stored as hashes).

use std::fmt;

use jiff::tz::TimeZone;
use rand::Rng;
use rand::distr::Alphanumeric;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{BusinessId, BusinessName, ValidationError};

/// A business: the tenant. Everything else is scoped by its id; its zone turns local opening hours into instants.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Business {
    pub id: BusinessId,
    pub name: BusinessName,
    pub time_zone: BusinessTimeZone,
    pub created_at: jiff::Timestamp,
    /// Set by the operator: while set, the business's API keys and dashboard sign-ins are refused and its calendar
    /// is not followed. Businesses stored before the field existed read as enabled, so no migration is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<jiff::Timestamp>,
}

impl Business {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// An IANA time zone ("Europe/Berlin"), checked against the bundled tz database when built, so a stored business
/// always has a zone we can convert with.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BusinessTimeZone {
    name: String,
    zone: TimeZone,
}

impl BusinessTimeZone {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }
}

impl PartialEq for BusinessTimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl TryFrom<String> for BusinessTimeZone {
    type Error = ValidationError;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        // jiff also accepts POSIX TZ strings and fixed offsets; a business needs a real, DST-aware IANA name.
        if !name.contains('/') && name != "UTC" {
            return Err(ValidationError::new(
                "time_zone",
                "must be an IANA time zone name such as Europe/Berlin",
            ));
        }
        let zone = jiff::tz::db().get(&name).map_err(|_| {
            ValidationError::new("time_zone", format!("unknown IANA time zone {name:?}"))
        })?;
        Ok(Self { name, zone })
    }
}

impl From<BusinessTimeZone> for String {
    fn from(zone: BusinessTimeZone) -> Self {
        zone.name
    }
}

impl fmt::Display for BusinessTimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A business's API key in clear text. It exists only between generation and the one moment it is shown; the
/// store keeps its hash.
pub struct ApiKey(SecretString);

const API_KEY_PREFIX: &str = "bk_";
const API_KEY_RANDOM_CHARS: usize = 40;

impl ApiKey {
    pub fn generate() -> Self {
        let random: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(API_KEY_RANDOM_CHARS)
            .map(char::from)
            .collect();
        Self(SecretString::from(format!("{API_KEY_PREFIX}{random}")))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn hash(&self) -> ApiKeyHash {
        ApiKeyHash::of(self.expose())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// SHA-256 of an API key, hex encoded. Keys carry 238 bits of randomness, so an unsalted fast hash is enough: the
/// point is that a leaked table does not leak usable keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApiKeyHash(String);

impl ApiKeyHash {
    pub fn of(presented_key: &str) -> Self {
        Self(hex::encode(Sha256::digest(presented_key.as_bytes())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_iana_zones_and_rejects_the_rest() {
        assert!(BusinessTimeZone::try_from("America/New_York".to_owned()).is_ok());
        assert!(BusinessTimeZone::try_from("UTC".to_owned()).is_ok());
        assert!(BusinessTimeZone::try_from("Mars/Olympus".to_owned()).is_err());
        assert!(BusinessTimeZone::try_from("EST5EDT,M3.2.0,M11.1.0".to_owned()).is_err());
        assert!(BusinessTimeZone::try_from(String::new()).is_err());
    }

    #[test]
    fn generated_keys_are_distinct_and_hash_stably() {
        let first = ApiKey::generate();
        let second = ApiKey::generate();
        assert_ne!(first.expose(), second.expose());
        assert!(first.expose().starts_with(API_KEY_PREFIX));
        assert_eq!(first.hash(), ApiKeyHash::of(first.expose()));
        assert_ne!(first.hash(), second.hash());
    }

    #[test]
    fn debug_output_hides_the_key() {
        let key = ApiKey::generate();
        assert!(!format!("{key:?}").contains(key.expose()));
    }
}
