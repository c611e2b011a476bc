//! The first-run checklist on the owner's home page: what a new business still needs before its voice agent can
//! answer calls, each item read from the business's real state and linking to the page that does it, until every
//! item is done and the list goes away.

use maud::{Markup, html};

use super::Dashboard;
use crate::app::{self, AppError, accounts};
use crate::domain::Business;
use crate::ports::{CalendarConnection, FIRST_API_KEY_NAME};

/// One thing to do, and whether it is done.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Step {
    pub done: bool,
    pub label: &'static str,
    pub href: &'static str,
    pub hint: &'static str,
}

/// Every step, in the order a new owner does them.
#[derive(Debug)]
pub(crate) struct Checklist {
    pub steps: [Step; 4],
}

impl Checklist {
    /// Reads each step from what the business has now:
    /// - hours and a first service: an active service open at least one day a week (hours belong to services);
    /// - a calendar: a connection with its calendar chosen;
    /// - a key for the voice agent: an unrevoked key other than the one the business was created with, whose
    ///   value the owner never saw on the dashboard;
    /// - the agent tried: the time the console first ran a tool, kept in the business's settings.
    pub async fn load(dashboard: &Dashboard, business: &Business) -> Result<Self, AppError> {
        let app = &dashboard.app;
        let services = app::list_services(app, business).await?;
        let has_open_service = services.iter().any(|service| {
            let hours = &service.settings.weekly_hours;
            service.active
                && [
                    &hours.monday,
                    &hours.tuesday,
                    &hours.wednesday,
                    &hours.thursday,
                    &hours.friday,
                    &hours.saturday,
                    &hours.sunday,
                ]
                .iter()
                .any(|ranges| !ranges.is_empty())
        });
        let calendar_chosen = app
            .store
            .calendar_connections(business.id)
            .await?
            .iter()
            .any(CalendarConnection::syncs_appointments);
        let has_agent_key = accounts::list_api_keys(app, business)
            .await?
            .iter()
            .any(|key| key.revoked_at.is_none() && key.name != FIRST_API_KEY_NAME);
        let tried = app::get_business_settings(app, business)
            .await?
            .agent_tried_at
            .is_some();
        Ok(Self {
            steps: [
                Step {
                    done: has_open_service,
                    label: "Set your opening hours and add a first service",
                    href: "/dashboard/services/new",
                    hint: "What callers can book, how long it takes and when you are open.",
                },
                Step {
                    done: calendar_chosen,
                    label: "Connect your calendar",
                    href: "/dashboard/integrations",
                    hint: "Bookings appear in it, and your own events keep those times free.",
                },
                Step {
                    done: has_agent_key,
                    label: "Create a key for the voice agent",
                    href: "/dashboard/voice-agent",
                    hint: "The voice agent page shows what to paste into Vapi, Retell or any MCP client.",
                },
                Step {
                    done: tried,
                    label: "Try the agent's tools",
                    href: "/dashboard/voice-agent#try",
                    hint: "Run a tool as the agent would and see what it would say to a caller.",
                },
            ],
        })
    }

    pub fn is_complete(&self) -> bool {
        self.steps.iter().all(|step| step.done)
    }

    /// The list while anything is left to do; nothing once all is done.
    pub fn render(&self) -> Markup {
        let done = self.steps.iter().filter(|step| step.done).count();
        html! {
            @if !self.is_complete() {
                section class="card checklist" aria-labelledby="checklist-title" {
                    h2 id="checklist-title" { "Get your voice agent answering calls" }
                    p class="hint" { (done) " of " (self.steps.len()) " done." }
                    ol {
                        @for step in &self.steps {
                            li class=(if step.done { "done" } else { "todo" }) {
                                @if step.done {
                                    span class="badge ok" { "Done" } " " (step.label)
                                } @else {
                                    span class="badge wait" { "To do" } " "
                                    a href=(step.href) { (step.label) }
                                    span class="hint" { " " (step.hint) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
