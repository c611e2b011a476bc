//! The one rule for free text people type (names, notes): what we store is what reaches the business's Google or
//! Outlook event and its dashboard, so characters that hide or reorder what a person reads are refused, not kept.

use super::ValidationError;

/// The two conversions every validated string newtype (`struct Name(String)`) offers: back into the `String` it
/// holds (what serde writes) and a `&str` view. Building one stays the type's own `TryFrom<String>`, since that is
/// where each checks its own rule.
macro_rules! string_newtype_conversions {
    ($($name:ident),+ $(,)?) => {
        $(
            impl From<$name> for String {
                fn from(value: $name) -> Self {
                    value.0
                }
            }

            impl AsRef<str> for $name {
                fn as_ref(&self) -> &str {
                    &self.0
                }
            }
        )+
    };
}
pub(crate) use string_newtype_conversions;

/// Whether a text may span lines (notes) or is one line (names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineBreaks {
    Refused,
    /// Line feeds, carriage returns and tabs are kept; every other control character is still refused.
    Allowed,
}

/// Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they make a calendar entry
/// read differently from what it contains ("Trojan Source").
fn is_bidi_control(character: char) -> bool {
    matches!(character, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn is_refused(character: char, line_breaks: LineBreaks) -> bool {
    if line_breaks == LineBreaks::Allowed && matches!(character, '\n' | '\r' | '\t') {
        return false;
    }
    // `is_control` is Unicode's Cc: C0 (NUL, BEL, ESC, …), DEL and C1.
    character.is_control() || is_bidi_control(character)
}

/// The text trimmed, if it is `min..=max` characters long and has no refused character; otherwise an error naming
/// `field`.
pub fn checked_text(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
    line_breaks: LineBreaks,
) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if let Some(character) = trimmed.chars().find(|c| is_refused(*c, line_breaks)) {
        let allowed = match line_breaks {
            LineBreaks::Refused => "",
            LineBreaks::Allowed => " (line breaks and tabs are fine)",
        };
        return Err(ValidationError::new(
            field,
            format!(
                "must not contain control or bidirectional formatting characters such as U+{:04X}{allowed}",
                u32::from(character)
            ),
        ));
    }
    let length = trimmed.chars().count();
    if !(min..=max).contains(&length) {
        return Err(ValidationError::new(
            field,
            format!("must be {min} to {max} characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn refuses_control_and_bidi_characters_in_every_mode() {
        let refused = [
            '\0', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}', '\u{202A}', '\u{202B}',
            '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        ];
        for character in refused {
            for mode in [LineBreaks::Refused, LineBreaks::Allowed] {
                let text = format!("Ana{character}Silva");
                let error = checked_text("customer.name", &text, 1, 200, mode).unwrap_err();
                assert_eq!(error.field, "customer.name");
                assert!(
                    error
                        .message
                        .contains(&format!("U+{:04X}", u32::from(character))),
                    "{}",
                    error.message
                );
            }
        }
    }

    #[test]
    fn line_breaks_and_tabs_only_where_allowed() {
        let text = "first visit\r\n\tbring x-rays";
        assert_eq!(
            checked_text("notes", text, 0, 4000, LineBreaks::Allowed).unwrap(),
            text
        );
        assert!(checked_text("customer.name", "Ana\nSilva", 1, 200, LineBreaks::Refused).is_err());
        assert!(checked_text("customer.name", "Ana\tSilva", 1, 200, LineBreaks::Refused).is_err());
    }

    #[test]
    fn keeps_ordinary_unicode_and_trims() {
        assert_eq!(
            checked_text(
                "customer.name",
                "  José Müller-Łukasz 李 עברית  ",
                1,
                200,
                LineBreaks::Refused
            )
            .unwrap(),
            "José Müller-Łukasz 李 עברית"
        );
        assert!(checked_text("customer.name", "   ", 1, 200, LineBreaks::Refused).is_err());
    }
}
