//! A business's own settings: the country its callers' national numbers belong to, how long a hold lives, who a
//! booking for anyone goes to, whether its owners are emailed when its calendar sync breaks, and when its owner
//! first tried the voice agent's tools.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::{AssignmentPolicy, BusinessTimeZone, HoldMinutes, ValidationError};

/// An ISO 3166-1 alpha-2 country code that the phone-number metadata knows ("US", "DE", "GB").
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(phonenumber::country::Id);

impl CountryCode {
    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }

    pub(super) fn id(self) -> phonenumber::country::Id {
        self.0
    }

    /// The country of an IANA zone, per the tz database's `zone.tab`; `None` for zones without one (UTC, oceans).
    pub fn of_zone(zone: &BusinessTimeZone) -> Option<Self> {
        ZONE_COUNTRIES
            .get(zone.name())
            .and_then(|code| Self::try_from((*code).to_owned()).ok())
    }
}

static ZONE_COUNTRIES: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    include_str!("zone_countries.tsv")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('\t'))
        .collect()
});

impl TryFrom<String> for CountryCode {
    type Error = ValidationError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let invalid = || {
            ValidationError::new(
                "country",
                "must be an ISO 3166 two-letter country code such as US or DE",
            )
        };
        let upper = text.trim().to_ascii_uppercase();
        if upper.len() != 2 || !upper.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid());
        }
        upper.parse().map(Self).map_err(|_| invalid())
    }
}

impl From<CountryCode> for String {
    fn from(code: CountryCode) -> Self {
        code.as_str().to_owned()
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the owner chose; absent fields take their defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessSettings {
    /// The country of national numbers callers give; taken from the business's zone when not chosen.
    #[serde(default)]
    pub country: Option<CountryCode>,
    #[serde(default)]
    pub hold_minutes: Option<HoldMinutes>,
    /// Who a booking for anyone goes to; `balanced` unless chosen.
    #[serde(default)]
    pub assignment: AssignmentPolicy,
    /// When the owner first ran one of the voice agent's tools from the dashboard's console: the first-run
    /// checklist's "the agent tried". Kept with the settings because it is one fact per business read with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_tried_at: Option<jiff::Timestamp>,
    /// Whether owners are emailed when the calendar needs connecting again or an appointment's sync failed for good;
    /// on unless turned off. Settings stored before the field existed read as not chosen, so alerts are on.
    #[serde(default)]
    pub owner_alerts: Option<bool>,
}

impl BusinessSettings {
    /// The country national numbers are read in: the chosen one, else the zone's.
    pub fn phone_country(&self, zone: &BusinessTimeZone) -> Option<CountryCode> {
        self.country.or_else(|| CountryCode::of_zone(zone))
    }

    pub fn hold_minutes(&self) -> HoldMinutes {
        self.hold_minutes.unwrap_or(HoldMinutes::DEFAULT)
    }

    pub fn owner_alerts(&self) -> bool {
        self.owner_alerts.unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> BusinessTimeZone {
        BusinessTimeZone::try_from(name.to_owned()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_country_comes_from_the_zone_unless_chosen() {
        let defaults = BusinessSettings::default();
        let country = |name| defaults.phone_country(&zone(name)).map(String::from);
        assert_eq!(country("America/New_York").as_deref(), Some("US"));
        assert_eq!(country("Europe/Berlin").as_deref(), Some("DE"));
        assert_eq!(country("Europe/London").as_deref(), Some("GB"));
        assert_eq!(country("UTC"), None);
        let chosen = BusinessSettings {
            country: CountryCode::try_from("ca".to_owned()).ok(),
            ..BusinessSettings::default()
        };
        assert_eq!(
            chosen
                .phone_country(&zone("America/New_York"))
                .map(String::from)
                .as_deref(),
            Some("CA")
        );
    }

    #[test]
    fn owner_alerts_are_on_unless_turned_off_also_in_settings_stored_before_they_existed() {
        let stored_before: BusinessSettings =
            serde_json::from_str(r#"{"country":"DE","hold_minutes":7}"#)
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(stored_before.owner_alerts());
        let off = BusinessSettings {
            owner_alerts: Some(false),
            ..stored_before
        };
        assert!(!off.owner_alerts());
    }

    #[test]
    fn country_codes_are_known_two_letter_codes() {
        assert!(CountryCode::try_from("US".to_owned()).is_ok());
        for bad in ["", "U", "USA", "ZZ", "1A", "u s"] {
            assert!(CountryCode::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }
}
