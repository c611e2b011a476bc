//! Customer phone numbers in, E.164 out: the one place where what a caller or a platform typed becomes the number we
//! store, index and show. Parsing and validity are libphonenumber's (the `phonenumber` crate), not ours.
//!
//! Two readings: a number a person typed (a tool argument, a REST field, a form) is checked strictly and refused
//! when it cannot exist; the number a voice platform reports as the caller's own is read by [`read_caller_number`],
//! which never refuses, because a withheld caller id or a range libphonenumber does not know yet must not stop a
//! booking.

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
    // The hint speaks to the form the number was written in: an international number is read without any
    // country, so the business's country (or its lack) has nothing to do with its refusal.
    let international = is_international(text);
    let invalid = || {
        let hint = match country {
            _ if international => "must be a phone number that exists: this international number is not \
                                   in a range its country's numbering plan assigns (check the digits after the \
                                   country code)"
                .to_owned(),
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

/// Written with its country code: `+…`, or a `tel:` URI of one.
fn is_international(text: &str) -> bool {
    let trimmed = text.trim();
    let number = trimmed
        .get(..4)
        .filter(|scheme| scheme.eq_ignore_ascii_case("tel:"))
        .map_or(trimmed, |_| &trimmed[4..]);
    number.starts_with('+')
}

/// The caller's own number as a voice platform reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallerNumber {
    /// A number libphonenumber knows, in E.164.
    Known(PhoneNumber),
    /// International in form (`+`, 7 to 15 digits) but in a range libphonenumber's metadata does not know, which lags
    /// new allocations: kept as given (in E.164 form) so the business can still call back and the caller is found
    /// again by it, but unconfirmed.
    Unverified(PhoneNumber),
    /// No number to keep: withheld, `anonymous`, empty, or a SIP address whose user part is not a number.
    Missing,
}

/// The caller id a voice platform gave, read so that it never stops a booking: a number libphonenumber knows (national
/// ones in `country`), an international-looking number it does not know, or nothing. A SIP URI
/// (`sip:+14155550123@carrier.example;user=phone`) is read by its user part.
pub fn read_caller_number(text: &str, country: Option<CountryCode>) -> CallerNumber {
    let trimmed = text.trim();
    let sip_user = ["sip:", "sips:"].into_iter().find_map(|scheme| {
        trimmed
            .get(..scheme.len())
            .filter(|prefix| prefix.eq_ignore_ascii_case(scheme))
            .map(|_| &trimmed[scheme.len()..])
    });
    let number = match sip_user {
        Some(address) => address.split(['@', ';']).next().unwrap_or_default(),
        None => trimmed,
    };
    if let Ok(known) = normalize_phone("caller", number, country) {
        return CallerNumber::Known(known);
    }
    let plain = number
        .get(..4)
        .filter(|scheme| scheme.eq_ignore_ascii_case("tel:"))
        .map_or(number, |_| &number[4..]);
    match PhoneNumber::try_from(plain.to_owned()) {
        Ok(unverified) => CallerNumber::Unverified(unverified),
        Err(_) => CallerNumber::Missing,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
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
    fn an_international_number_is_never_refused_for_want_of_a_country() {
        // Ofcom keeps 07700 900000-900999 for drama, so libphonenumber has no range for it: not a number in use.
        for code in [None, Some("US")] {
            let error = normalize_phone("customer.phone", "+447700900101", code.and_then(country))
                .expect_err("a drama number");
            assert_eq!(error.field, "customer.phone");
            assert!(
                !error.message.contains("country for national numbers")
                    && !error.message.contains("national in"),
                "{}",
                error.message
            );
            assert!(error.message.contains("international"), "{}", error.message);
        }
        let national = normalize_phone("customer.phone", "4155550123", None).expect_err("national");
        assert!(national.message.contains("no country for national numbers"));
    }

    #[test]
    fn a_platform_s_caller_id_is_a_number_an_unknown_range_or_nothing() {
        let us = country("US");
        let known = |text| match read_caller_number(text, us) {
            CallerNumber::Known(number) => Some(String::from(number)),
            _ => None,
        };
        assert_eq!(known("+14155550123").as_deref(), Some("+14155550123"));
        assert_eq!(known("(415) 555-0123").as_deref(), Some("+14155550123"));
        assert_eq!(
            known("sip:+14155550123@carrier.example;user=phone").as_deref(),
            Some("+14155550123")
        );
        assert_eq!(
            read_caller_number("+447700900101", us),
            CallerNumber::Unverified(PhoneNumber::try_from("+447700900101".to_owned()).unwrap())
        );
        for withheld in [
            "",
            "   ",
            "anonymous",
            "Anonymous",
            "unknown",
            "sip:anonymous@anonymous.invalid",
            "sip:alice@pbx.example",
            "+1",
            "4155550",
        ] {
            assert_eq!(
                read_caller_number(withheld, us),
                CallerNumber::Missing,
                "{withheld:?}"
            );
        }
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
