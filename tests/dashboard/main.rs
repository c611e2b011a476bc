//! The dashboard through a real server: HTTP tests of sign-in, sessions, CSRF and tenant isolation, and browser
//! tests that walk an owner's journey in headless Chromium over WebDriver.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod calendar;
mod connect_link;
mod http;
mod integrations;
mod member_integrations_browser;
mod onboarding;
mod onboarding_browser;
// The platforms' published tool schemas, shared with the agent tests.
#[path = "../agents/platform_schemas.rs"]
mod platform_schemas;
mod route_table;
mod security;
mod settings;
mod settings_browser;
mod staff;
mod staff_browser;
mod staff_page;
mod support;
mod third_provider;
mod voice_agent;
mod webdriver;
