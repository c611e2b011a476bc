//! Weekly hours as the owner types them, one text field per weekday ("09:00-12:00, 13:00-17:00", empty is closed):
//! the fields, how they are read into [`WeeklyHours`] with the domain's own rules, and how they are shown. A
//! service's form and a staff member's form share them, so both read and show hours the same way.

use jiff::civil::Weekday;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{field_error, has_error};
use crate::domain::{LocalTimeRange, StaffName, StaffSettings, WeeklyHours};

pub type Errors = Vec<(&'static str, String)>;

/// Each weekday's field name and label, Monday first.
pub const DAYS: [(&str, &str); 7] = [
    ("monday", "Monday"),
    ("tuesday", "Tuesday"),
    ("wednesday", "Wednesday"),
    ("thursday", "Thursday"),
    ("friday", "Friday"),
    ("saturday", "Saturday"),
    ("sunday", "Sunday"),
];

/// The seven weekday fields as typed, kept to show again beside a problem.
#[derive(Deserialize, Default, Clone)]
pub struct WeekFields {
    #[serde(default)]
    monday: String,
    #[serde(default)]
    tuesday: String,
    #[serde(default)]
    wednesday: String,
    #[serde(default)]
    thursday: String,
    #[serde(default)]
    friday: String,
    #[serde(default)]
    saturday: String,
    #[serde(default)]
    sunday: String,
}

impl WeekFields {
    pub fn day(&self, day: &str) -> &str {
        match day {
            "monday" => &self.monday,
            "tuesday" => &self.tuesday,
            "wednesday" => &self.wednesday,
            "thursday" => &self.thursday,
            "friday" => &self.friday,
            "saturday" => &self.saturday,
            _ => &self.sunday,
        }
    }

    /// What a new form starts from: nine to five on weekdays.
    pub fn office_hours() -> Self {
        let weekday = "09:00-17:00".to_owned();
        Self {
            monday: weekday.clone(),
            tuesday: weekday.clone(),
            wednesday: weekday.clone(),
            thursday: weekday.clone(),
            friday: weekday,
            ..Self::default()
        }
    }

    pub fn of(hours: &WeeklyHours) -> Self {
        Self {
            monday: ranges_text(&hours.monday),
            tuesday: ranges_text(&hours.tuesday),
            wednesday: ranges_text(&hours.wednesday),
            thursday: ranges_text(&hours.thursday),
            friday: ranges_text(&hours.friday),
            saturday: ranges_text(&hours.saturday),
            sunday: ranges_text(&hours.sunday),
        }
    }

    /// The hours, or each weekday's problem (pushed to `errors`, naming its field).
    pub fn parse(&self, errors: &mut Errors) -> WeeklyHours {
        let mut hours = WeeklyHours::default();
        for (day, label) in DAYS {
            match parse_ranges(self.day(day)) {
                Ok(parsed) => {
                    let mut alone = WeeklyHours::default();
                    set_day(&mut alone, day, parsed.clone());
                    if let Err(message) = check_week(alone) {
                        errors.push((field_of(day), format!("{label}: {message}")));
                    }
                    set_day(&mut hours, day, parsed);
                }
                Err(message) => errors.push((field_of(day), format!("{label}: {message}"))),
            }
        }
        hours
    }
}

/// A week checked with the domain's rules for hours (ranges in order, not overlapping), the same for services and
/// staff members.
fn check_week(hours: WeeklyHours) -> Result<(), String> {
    let name = StaffName::try_from("probe".to_owned()).map_err(|error| error.message)?;
    StaffSettings {
        weekly_hours: Some(hours),
        ..StaffSettings::first_member(name)
    }
    .validated()
    .map(drop)
    .map_err(|error| error.message)
}

/// "09:00-12:00, 13:00-17:00"; empty for none.
pub fn ranges_text(ranges: &[LocalTimeRange]) -> String {
    ranges
        .iter()
        .map(|range| {
            let (start, end) = range.to_wall_times();
            format!("{start}-{end}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// "09:00-12:00, 13:00-17:00"; empty is closed.
pub fn parse_ranges(text: &str) -> Result<Vec<LocalTimeRange>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (start, end) = part
                .split_once('-')
                .ok_or_else(|| format!("{part:?} is not a range like 09:00-17:00"))?;
            LocalTimeRange::parse(start.trim(), end.trim()).map_err(|error| error.message)
        })
        .collect()
}

fn set_day(hours: &mut WeeklyHours, day: &str, ranges: Vec<LocalTimeRange>) {
    match day {
        "monday" => hours.monday = ranges,
        "tuesday" => hours.tuesday = ranges,
        "wednesday" => hours.wednesday = ranges,
        "thursday" => hours.thursday = ranges,
        "friday" => hours.friday = ranges,
        "saturday" => hours.saturday = ranges,
        _ => hours.sunday = ranges,
    }
}

fn field_of(day: &str) -> &'static str {
    DAYS.iter()
        .find(|(name, _)| *name == day)
        .map_or("sunday", |(name, _)| name)
}

/// The weekdays with any hours: "Mon, Tue, Fri".
pub fn open_days(hours: &WeeklyHours) -> String {
    let open: Vec<&str> = [
        (Weekday::Monday, "Mon"),
        (Weekday::Tuesday, "Tue"),
        (Weekday::Wednesday, "Wed"),
        (Weekday::Thursday, "Thu"),
        (Weekday::Friday, "Fri"),
        (Weekday::Saturday, "Sat"),
        (Weekday::Sunday, "Sun"),
    ]
    .into_iter()
    .filter(|(day, _)| !hours.on(*day).is_empty())
    .map(|(_, name)| name)
    .collect();
    if open.is_empty() {
        "closed every day".to_owned()
    } else {
        open.join(", ")
    }
}

/// A labelled text input with its hint and its problem beside it.
pub fn text_field(
    errors: &Errors,
    id: &'static str,
    label: &str,
    hint: &str,
    value: &str,
    kind: &str,
) -> Markup {
    html! {
        div class="field" {
            label for=(id) { (label) }
            @if !hint.is_empty() { span class="hint" id={ (id) "-hint" } { (hint) } }
            (field_error(errors, id))
            input id=(id) name=(id) type=(kind) value=(value)
                class=[has_error(errors, id).then_some("invalid")]
                aria-invalid=[has_error(errors, id).then_some("true")]
                aria-describedby=[(!hint.is_empty()).then(|| format!("{id}-hint"))];
        }
    }
}

/// The seven weekday inputs in a fieldset.
pub fn week_fieldset(errors: &Errors, week: &WeekFields) -> Markup {
    html! {
        fieldset {
            legend { "Weekly hours" }
            p class="hint" { "One or more ranges per day, like 09:00-12:00, 13:00-17:00. Empty means closed." }
            div class="grid" {
                @for (day, label) in DAYS {
                    (text_field(errors, field_of(day), label, "", week.day(day), "text"))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_week_reads_back_as_it_was_typed_and_a_bad_day_names_its_field() {
        let mut errors = Errors::new();
        let hours = WeekFields::office_hours().parse(&mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(WeekFields::of(&hours).day("monday"), "09:00-17:00");
        assert_eq!(WeekFields::of(&hours).day("sunday"), "");

        let typed = WeekFields {
            tuesday: "12:00-10:00".to_owned(),
            friday: "nine to five".to_owned(),
            ..WeekFields::default()
        };
        typed.parse(&mut errors);
        let fields: Vec<&str> = errors.iter().map(|(field, _)| *field).collect();
        assert_eq!(fields, ["tuesday", "friday"]);
    }
}
