//! Customer phone numbers in, E.164 out: the one place where what a caller or a platform typed becomes the number we
//! store, index and show. Parsing and validity are libphonenumber's (the `phonenumber` crate), not ours.

use phonenumber::Mode;

use super::{CountryCode, PhoneNumber, ValidationError};

/// Longer input is not a phone number, however it is formatted.
const MAX_INPUT_CHARS: usize = 64;

/// `text` as an E.164 number. National numbers (`(415) 555-0123`) are read in `country`; without one, only the
/// international form (`+1 415 555 0123`) is accepted. Numbers that cannot exist are refused, naming `field`.
pub fn normalize_phone(
    field: &'static str,
    text: &str,
    country: Option<CountryCode>,
) -> Result<PhoneNumber, ValidationError> {
    let invalid = || {
        let hint = match country {
            Some(country) => format!(
                "must be a valid phone number: international (+14155550123) or national in {country}"
            ),
            None => "must be a valid phone number in international form, e.g. +14155550123 (the business has \
                     no country for national numbers)"
                .to_owned(),
        };
        ValidationError::new(field, hint)
    };
    // Control characters are refused wherever they are, as in all free text at the edge.
    let trimmed = text.trim();
    if trimmed.is_empty()
        || trimmed.chars().count() > MAX_INPUT_CHARS
        || text.chars().any(char::is_control)
    {
        return Err(invalid());
    }
    let parsed =
        phonenumber::parse(country.map(CountryCode::id), trimmed).map_err(|_| invalid())?;
    if !phonenumber::is_valid(&parsed) {
        return Err(invalid());
    }
    let e164 = parsed.format().mode(Mode::E164).to_string();
    PhoneNumber::try_from(e164).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country(code: &str) -> Option<CountryCode> {
        CountryCode::try_from(code.to_owned()).ok()
    }

    fn normalized(text: &str, code: Option<&str>) -> Option<String> {
        normalize_phone("customer.phone", text, code.and_then(country))
            .ok()
            .map(String::from)
    }

    #[test]
    fn national_numbers_take_the_business_country() {
        assert_eq!(
            normalized("(415) 555-0123", Some("US")).as_deref(),
            Some("+14155550123")
        );
        assert_eq!(
            normalized("030 901820", Some("DE")).as_deref(),
            Some("+4930901820")
        );
        assert_eq!(
            normalized("020 7946 0018", Some("GB")).as_deref(),
            Some("+442079460018")
        );
    }

    #[test]
    fn international_numbers_ignore_the_business_country() {
        for text in ["+1 415-555-0123", "+14155550123", "tel:+1-415-555-0123"] {
            assert_eq!(
                normalized(text, Some("DE")).as_deref(),
                Some("+14155550123"),
                "{text}"
            );
        }
        assert_eq!(
            normalized("+44 20 7946 0018", None).as_deref(),
            Some("+442079460018")
        );
    }

    #[test]
    fn impossible_or_ambiguous_numbers_are_refused_naming_the_field() {
        for (text, code) in [
            ("4155550123", None),
            ("(415) 555-012", Some("US")),
            ("+1 415 CALL ME NOW", Some("US")),
            ("+999 1234567", None),
            ("", Some("US")),
            ("+1 415 555 0123\n", Some("US")),
        ] {
            let error = normalize_phone("customer.phone", text, code.and_then(country)).err();
            assert_eq!(error.map(|e| e.field), Some("customer.phone"), "{text:?}");
        }
    }
}
