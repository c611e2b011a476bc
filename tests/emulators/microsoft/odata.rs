//! OData as Graph speaks it: system query options, the one documented `$filter` on a single-value extended property
//! and the `$expand` that returns one.

use axum::response::Response;
use serde_json::{Value, json};

use super::Shared;

/// OData system query options; any other `$` option is refused, as Graph does.
pub(super) struct Options {
    pub(super) filter: Option<String>,
    pub(super) select: Option<Vec<String>>,
    pub(super) expand: Option<String>,
    pub(super) top: Option<usize>,
    pub(super) skip: usize,
}

pub(super) fn options(
    shared: &Shared,
    query: &[(String, String)],
    allowed: &[&str],
) -> Result<Options, Response> {
    let mut options = Options {
        filter: None,
        select: None,
        expand: None,
        top: None,
        skip: 0,
    };
    for (name, value) in query {
        let bare = name.strip_prefix('$').unwrap_or(name);
        if !name.starts_with('$') {
            continue;
        }
        if !allowed.contains(&bare) {
            return Err(shared.bad_request(
                "BadRequest",
                format!("Query option '{name}' is not allowed here."),
            ));
        }
        let number = || {
            value.parse::<usize>().map_err(|_| {
                shared.bad_request("BadRequest", format!("Invalid value '{value}' for {name}."))
            })
        };
        match bare {
            "filter" => options.filter = Some(value.clone()),
            "expand" => options.expand = Some(value.clone()),
            "top" => options.top = Some(number()?),
            "skip" => options.skip = number()?,
            "select" => {
                let names: Vec<String> = value.split(',').map(|s| s.trim().to_owned()).collect();
                for name in &names {
                    let probe = shared.types.check("Event", &json!({ name: null }));
                    if probe.iter().any(|p| p.contains("no such property")) {
                        return Err(shared.bad_request(
                            "RequestBroker--ParseUri",
                            format!("Could not find a property named '{name}' on type 'microsoft.graph.event'."),
                        ));
                    }
                }
                options.select = Some(names);
            }
            _ => {}
        }
    }
    Ok(options)
}

/// The `$expand` Graph requires to return an extended property: `singleValueExtendedProperties($filter=id eq '…')`.
pub(super) fn expansion(shared: &Shared, expand: Option<&str>) -> Result<Option<String>, Response> {
    let Some(expand) = expand else {
        return Ok(None);
    };
    let tokens = tokenize(expand).map_err(|p| shared.bad_request("BadRequest", p))?;
    match tokens.as_slice() {
        [
            Token::Word(property),
            Token::Punct('('),
            Token::Word(filter),
            Token::Punct('='),
            Token::Word(id),
            Token::Word(eq),
            Token::Text(wanted),
            Token::Punct(')'),
        ] if property.eq_ignore_ascii_case("singleValueExtendedProperties")
            && filter == "$filter"
            && id == "id"
            && eq == "eq" =>
        {
            Ok(Some(wanted.clone()))
        }
        _ => Err(shared.bad_request(
            "BadRequest",
            format!("Parsing OData Select and Expand failed: unsupported $expand {expand:?}"),
        )),
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Punct(char),
}

/// OData tokens: words (names, paths, operators), single-quoted strings (with `''` for a quote) and punctuation.
fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' => {
                chars.next();
            }
            '(' | ')' | ':' | '=' | ',' => {
                tokens.push(Token::Punct(c));
                chars.next();
            }
            '\'' => {
                chars.next();
                let mut literal = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            literal.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => literal.push(c),
                        None => return Err(format!("unterminated string in {text:?}")),
                    }
                }
                tokens.push(Token::Text(literal));
            }
            c if c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '$' | '.') => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if !(c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '$' | '.')) {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
            other => return Err(format!("unexpected {other:?} in {text:?}")),
        }
    }
    Ok(tokens)
}

/// The one `$filter` Graph documents for finding items by a single-value extended property:
/// `singleValueExtendedProperties/Any(ep: ep/id eq '{id}' and ep/value eq '{value}')`. Returns `(id, value)`.
pub(super) fn parse_property_filter(filter: &str) -> Result<(String, String), String> {
    let tokens = tokenize(filter)?;
    match tokens.as_slice() {
        [
            Token::Word(collection),
            Token::Punct('('),
            Token::Word(variable),
            Token::Punct(':'),
            Token::Word(id_path),
            Token::Word(eq1),
            Token::Text(id),
            Token::Word(and),
            Token::Word(value_path),
            Token::Word(eq2),
            Token::Text(value),
            Token::Punct(')'),
        ] if collection.eq_ignore_ascii_case("singleValueExtendedProperties/any")
            && *id_path == format!("{variable}/id")
            && *value_path == format!("{variable}/value")
            && eq1 == "eq"
            && eq2 == "eq"
            && and == "and" =>
        {
            Ok((id.clone(), value.clone()))
        }
        _ => Err(format!("unsupported $filter {filter:?}")),
    }
}

/// The value of an event's extended property; Graph compares property ids case-insensitively.
pub(super) fn property<'a>(event: &'a Value, id: &str) -> Option<&'a str> {
    event["singleValueExtendedProperties"]
        .as_array()?
        .iter()
        .find(|p| {
            p["id"]
                .as_str()
                .is_some_and(|pid| pid.eq_ignore_ascii_case(id))
        })?["value"]
        .as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_property_filter_parses_and_others_do_not() {
        let parsed = parse_property_filter(
            "singleValueExtendedProperties/Any(ep: ep/id eq 'String {8bafe699-bcdd-43b5-bbc2-04c9eec6ca65} Name x' and ep/value eq 'O''Brien')",
        );
        assert_eq!(
            parsed,
            Ok((
                "String {8bafe699-bcdd-43b5-bbc2-04c9eec6ca65} Name x".to_owned(),
                "O'Brien".to_owned()
            ))
        );
        for wrong in [
            "singleValueExtendedProperties/Any(ep: ep/id eq 'x' and ep/value eq 'y'",
            "singleValueExtendedProperties/Any(ep: ep/id eq 'x' or ep/value eq 'y')",
            "singleValueExtendedProperties/Any(ep: ep/id eq 'x' and other/value eq 'y')",
            "singleValueExtendedProperties/Any(ep: ep/id eq 'x' and ep/value eq 'y)",
            "subject eq 'x'",
        ] {
            assert!(parse_property_filter(wrong).is_err(), "{wrong}");
        }
    }
}
