//! The name a business or a service is known by: one line, trimmed, 1 to 200 characters, shown as typed on the
//! calendar event, the dashboard and to callers.

use serde::{Deserialize, Serialize};

use super::text::string_newtype_conversions;
use super::{LineBreaks, ValidationError, checked_text};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

/// A business's name.
pub type BusinessName = DisplayName;
/// A service's name.
pub type ServiceName = DisplayName;

impl TryFrom<String> for DisplayName {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        checked_text("name", &value, 1, 200, LineBreaks::Refused).map(Self)
    }
}

string_newtype_conversions!(DisplayName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_names_are_trimmed_and_bounded() {
        assert_eq!(
            BusinessName::try_from("  Salon  ".to_owned())
                .map(String::from)
                .ok(),
            Some("Salon".to_owned())
        );
        assert!(BusinessName::try_from("   ".to_owned()).is_err());
        assert!(BusinessName::try_from("x".repeat(201)).is_err());
    }
}
