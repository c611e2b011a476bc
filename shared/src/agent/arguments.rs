//! What each tool takes, as the model sends it. Each struct is both the JSON Schema the model is shown (doc comments
//! become descriptions, unknown fields are refused) and the parser of its arguments, so the two cannot drift apart.
//! Names are fixed by the agent-interface issue so that a business's prompt can name them.

//!
//! Every time and date argument is read by the edge's one parser (`crate::domain::time_text`), and its schema's
//! `pattern` is that parser's own, so a model is shown exactly what is accepted.
//!
//! Every tool that takes a staff member reads it with [`staff_member`], one resolver for ids and for names as the
//! caller said them, so "with Maria" means the same member to every tool.

use schemars::JsonSchema;
use serde::Deserialize;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::domain::{DATE_PATTERN, StaffId, StaffMember, WALL_TIME_PATTERN, ZONED_START_PATTERN};

use super::call::ToolFailure;

const UUID_PATTERN: &str =
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}

/// A part of the day, in the business's local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartOfDay {
    Morning,
    Afternoon,
    Evening,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindAvailableTimes {
    /// The service's id, from get_business_context.
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub service_id: String,
    /// One local date to search, YYYY-MM-DD. Leave out when giving from_date and to_date.
    #[schemars(regex(pattern = DATE_PATTERN))]
    pub date: Option<String>,
    /// First local date of a range to search, YYYY-MM-DD.
    #[schemars(regex(pattern = DATE_PATTERN))]
    pub from_date: Option<String>,
    /// Last local date of the range (included), YYYY-MM-DD; 6 days after from_date when left out.
    #[schemars(regex(pattern = DATE_PATTERN))]
    pub to_date: Option<String>,
    /// Only times in this part of the local day: morning (before 12:00), afternoon (12:00 to 17:00) or evening
    /// (from 17:00).
    pub part_of_day: Option<PartOfDay>,
    /// Only times starting at or after this local time, HH:MM (24-hour).
    #[schemars(regex(pattern = WALL_TIME_PATTERN))]
    pub earliest_time: Option<String>,
    /// Only times starting at or before this local time, HH:MM (24-hour).
    #[schemars(regex(pattern = WALL_TIME_PATTERN))]
    pub latest_time: Option<String>,
    /// How many times to return, 1 to 20; 5 when left out.
    #[schemars(range(min = 1, max = 20))]
    pub limit: Option<u32>,
    /// Who the caller asked for: a staff_id from get_business_context, or the name the caller said ("Maria").
    /// Leave out when the caller does not mind who.
    pub staff: Option<String>,
}

/// One service at one start: what check_time and hold_time both take (their schemas are published without a title,
/// so the two tools show the very same arguments).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceAtStart {
    /// The service's id, from get_business_context.
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub service_id: String,
    /// The start time: a local date-time in the business's zone as YYYY-MM-DDTHH:MM (2026-12-08T10:30), or RFC
    /// 3339 with seconds and offset (2026-12-08T10:30:00-05:00) as find_available_times gives it.
    #[schemars(regex(pattern = ZONED_START_PATTERN))]
    pub start: String,
    /// Who the caller asked for: a staff_id from get_business_context, or the name the caller said ("Maria").
    /// Leave out when the caller does not mind who.
    pub staff: Option<String>,
}

pub type CheckTime = ServiceAtStart;
pub type HoldTime = ServiceAtStart;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BookAppointment {
    /// The hold_id from hold_time: books exactly the held time. Give it, or service_id and start.
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub hold_id: Option<String>,
    /// The service's id, from get_business_context, when booking without a hold.
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub service_id: Option<String>,
    /// The start time when booking without a hold: a local date-time in the business's zone (2026-12-08T10:30) or
    /// RFC 3339 with offset, as find_available_times gives it.
    #[schemars(regex(pattern = ZONED_START_PATTERN))]
    pub start: Option<String>,
    /// Who the caller asked for when booking without a hold: a staff_id from get_business_context, or the name the
    /// caller said ("Maria"). Leave out when the caller does not mind who; a hold already says who.
    pub staff: Option<String>,
    /// The caller's name as they gave it.
    pub customer_name: String,
    /// The caller's phone number, international (+14155550123) or as the caller says it in the business's country.
    /// Leave out to use the number the caller is calling from.
    pub customer_phone: Option<String>,
    /// Anything the caller wants the business to know.
    pub notes: Option<String>,
    /// A key unique to this booking (for example the call id). Calling again with the same key and details books
    /// nothing new and gives the same answer.
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindCallerAppointments {
    /// The caller's phone number, international (+14155550123) or as the caller says it in the business's country.
    /// Leave out to use the number the caller is calling from.
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleAppointment {
    /// The appointment's id, from find_caller_appointments or the booking.
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub appointment_id: String,
    /// The new start time: a local date-time in the business's zone (2026-12-08T10:30) or RFC 3339 with offset.
    #[schemars(regex(pattern = ZONED_START_PATTERN))]
    pub start: String,
    /// Only when the caller asks for someone else: a staff_id from get_business_context, or the name the caller
    /// said. Left out, the appointment stays with the same staff member.
    pub staff: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelAppointment {
    /// The appointment's id, from find_caller_appointments or the booking.
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub appointment_id: String,
}

/// The staff member the model named in `staff`: by id, or by a name as the caller said it, compared without case,
/// accents or punctuation ("maria", "MARÍA" and "María" are one name), whole words, so "Patel" finds "Dr. Patel".
/// A name only one active member's name contains is theirs; a name several contain is refused with the candidates,
/// even when one is that name exactly ("Maria" beside "Maria José": the caller is asked, never guessed for); a name
/// nobody has is refused with the whole list.
pub(crate) fn staff_member(said: &str, staff: &[StaffMember]) -> Result<StaffId, ToolFailure> {
    if let Ok(id) = said.trim().parse::<StaffId>() {
        return match staff.iter().find(|member| member.id == id) {
            Some(member) => Ok(member.id),
            None => Err(nobody_called(said, staff)),
        };
    }
    let mut words = name_words(said);
    // A model may pass the caller's phrase whole: "with Maria".
    if words.len() > 1 && words.first().is_some_and(|word| word == "with") {
        words.remove(0);
    }
    if words.is_empty() {
        return Err(nobody_called(said, staff));
    }
    let candidates: Vec<&StaffMember> = staff
        .iter()
        .filter(|member| member.active)
        .filter(|member| {
            let name = name_words(member.settings.name.as_ref());
            words.iter().all(|word| name.contains(word))
        })
        .collect();
    match candidates.as_slice() {
        [only] => Ok(only.id),
        [] => Err(nobody_called(said, staff)),
        several => Err(ToolFailure::InvalidArguments(format!(
            "staff: {said:?} could be {}: ask the caller which one they mean, then give that staff_id",
            listed(several, "or")
        ))),
    }
}

/// A name as words to compare: accents dropped (decomposed, combining marks removed), lower case, split at anything
/// that is not a letter or digit.
fn name_words(name: &str) -> Vec<String> {
    let folded: String = name
        .nfd()
        .filter(|character| !is_combining_mark(*character))
        .flat_map(char::to_lowercase)
        .map(|character| {
            if character.is_alphanumeric() {
                character
            } else {
                ' '
            }
        })
        .collect();
    folded.split_whitespace().map(str::to_owned).collect()
}

fn nobody_called(said: &str, staff: &[StaffMember]) -> ToolFailure {
    let active: Vec<&StaffMember> = staff.iter().filter(|member| member.active).collect();
    ToolFailure::InvalidArguments(format!(
        "staff: nobody here is called {said:?}; the staff are {}: ask the caller which one they mean, or leave \
         staff out for whoever is free",
        listed(&active, "and")
    ))
}

/// "Maria (staff_id …), Tom (staff_id …) and Ana (staff_id …)".
fn listed(members: &[&StaffMember], last_joiner: &str) -> String {
    let named: Vec<String> = members
        .iter()
        .map(|member| format!("{} (staff_id {})", member.settings.name.as_ref(), member.id))
        .collect();
    match named.as_slice() {
        [] => "none".to_owned(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} {last_joiner} {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use jiff::Timestamp;

    use super::*;
    use crate::domain::{BusinessId, StaffName};

    fn member(business: BusinessId, name: &str) -> StaffMember {
        let mut member = StaffMember::first_of(
            business,
            StaffName::try_from(name.to_owned()).unwrap(),
            Timestamp::UNIX_EPOCH,
        );
        member.id = StaffId::generate();
        member
    }

    fn refusal(result: Result<StaffId, ToolFailure>) -> String {
        match result {
            Err(ToolFailure::InvalidArguments(message)) => message,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_name_is_found_whatever_its_case_accents_and_punctuation() {
        let business = BusinessId::generate();
        let staff = [
            member(business, "María"),
            member(business, "Tom"),
            member(business, "Dr. Patel"),
        ];
        for said in ["Maria", "maria", "MARÍA", "  María ", "with Maria"] {
            assert_eq!(staff_member(said, &staff), Ok(staff[0].id), "{said}");
        }
        assert_eq!(staff_member("patel", &staff), Ok(staff[2].id));
        assert_eq!(staff_member("Dr Patel", &staff), Ok(staff[2].id));
        assert_eq!(
            staff_member(&staff[1].id.to_string(), &staff),
            Ok(staff[1].id)
        );
    }

    #[test]
    fn a_name_several_have_is_answered_with_the_candidates_and_an_unknown_one_with_everyone() {
        let business = BusinessId::generate();
        let mut staff = vec![
            member(business, "Maria Lopez"),
            member(business, "María Chen"),
            member(business, "Tom"),
            member(business, "Maria Gone"),
        ];
        staff[3].active = false;
        let ambiguous = refusal(staff_member("maria", &staff));
        assert!(
            ambiguous.contains(&format!("Maria Lopez (staff_id {})", staff[0].id)),
            "{ambiguous}"
        );
        assert!(
            ambiguous.contains(&format!("María Chen (staff_id {})", staff[1].id)),
            "{ambiguous}"
        );
        assert!(
            !ambiguous.contains("Tom") && !ambiguous.contains("Gone"),
            "{ambiguous}"
        );
        // A full name settles it.
        assert_eq!(staff_member("maria chen", &staff), Ok(staff[1].id));
        let unknown = refusal(staff_member("Mario", &staff));
        assert!(
            unknown.starts_with("staff: nobody here is called \"Mario\""),
            "{unknown}"
        );
        assert!(unknown.contains("Tom (staff_id"), "{unknown}");
        assert!(!unknown.contains("Gone"), "{unknown}");
        // Even a name exactly one member's is not taken as theirs while another's contains it.
        staff.push(member(business, "Maria"));
        let beside = refusal(staff_member("Maria", &staff));
        assert!(
            beside.contains(&format!("Maria (staff_id {})", staff[4].id)),
            "{beside}"
        );
        assert!(beside.contains("Maria Lopez"), "{beside}");
    }
}
