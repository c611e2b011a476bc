//! Each function's IAM policy in the SAM template allows exactly the DynamoDB actions of the store roles its type
//! names (its view, in `booking_core::ports`), as `booking_aws::iam` maps roles to actions: no more, so a function
//! cannot touch records its code never does, and no less, so no call is refused in production.

#![allow(clippy::expect_used)]

use booking_aws::iam::{READ_ACTIONS, dynamodb_actions_of};
use booking_core::ports::{
    AgentApiStore, AppointmentsApiStore, AvailabilityApiStore, DashboardStore, DeadLetterStore,
    IntegrationsApiStore, SchedulerStore, ServicesApiStore, StoreRole, SyncWorkerStore,
    WebhooksApiStore,
};

const TEMPLATE: &str = include_str!("../../../infra/template.yaml");

/// Each binary and the roles of the view its `main` builds (`src/bin/<binary>.rs`).
fn function_roles() -> Vec<(&'static str, &'static [StoreRole])> {
    vec![
        ("services-api", <dyn ServicesApiStore>::ROLES),
        ("availability-api", <dyn AvailabilityApiStore>::ROLES),
        ("appointments-api", <dyn AppointmentsApiStore>::ROLES),
        ("integrations-api", <dyn IntegrationsApiStore>::ROLES),
        ("webhooks-api", <dyn WebhooksApiStore>::ROLES),
        ("agent-api", <dyn AgentApiStore>::ROLES),
        ("dashboard", <dyn DashboardStore>::ROLES),
        ("sync-worker", <dyn SyncWorkerStore>::ROLES),
        ("dead-letter-handler", <dyn DeadLetterStore>::ROLES),
        ("scheduler", <dyn SchedulerStore>::ROLES),
    ]
}

/// Functions granted only the reading actions of their roles: their routes call no method that writes, though
/// their roles have some.
const READ_ONLY: &[&str] = &["availability-api"];

/// One `AWS::Serverless::Function` of the template: its binary and the text of its resource.
struct Function<'a> {
    binary: &'a str,
    text: &'a str,
}

/// The template's functions. Resources are the two-space-indented keys; a function names its binary in
/// `BuildProperties`.
fn functions(template: &str) -> Vec<Function<'_>> {
    let mut starts: Vec<usize> = template
        .match_indices("\n  ")
        .map(|(at, _)| at + 1)
        .filter(|&at| {
            template[at + 2..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
        })
        .collect();
    starts.push(template.len());
    starts
        .windows(2)
        .map(|bounds| &template[bounds[0]..bounds[1]])
        .filter(|text| text.contains("Type: AWS::Serverless::Function"))
        .map(|text| Function {
            binary: text
                .lines()
                .find_map(|line| line.trim().strip_prefix("Binary: "))
                .unwrap_or_else(|| panic!("a function without a binary:\n{text}")),
            text,
        })
        .collect()
}

/// The DynamoDB actions a function's statements allow, sorted.
fn allowed_dynamodb_actions(function: &Function<'_>) -> Vec<String> {
    let mut actions: Vec<String> = function
        .text
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- dynamodb:"))
        .map(|action| format!("dynamodb:{}", action.trim()))
        .collect();
    actions.sort_unstable();
    actions
}

#[test]
fn every_function_is_allowed_exactly_the_actions_of_its_roles() {
    let functions = functions(TEMPLATE);
    let roles = function_roles();
    assert_eq!(
        functions.len(),
        roles.len(),
        "every function of the template has its roles here, and only those"
    );
    for function in &functions {
        let (_, function_roles) = roles
            .iter()
            .find(|(binary, _)| *binary == function.binary)
            .unwrap_or_else(|| panic!("no roles known for {}", function.binary));
        // SAM's policy templates grant whole sets (`DynamoDBCrudPolicy` includes every write, `Scan`, and more).
        assert!(
            !function.text.contains("- DynamoDB"),
            "{} uses a SAM DynamoDB policy template instead of its roles' actions",
            function.binary
        );
        let mut expected = dynamodb_actions_of(function_roles);
        if READ_ONLY.contains(&function.binary) {
            expected.retain(|action| READ_ACTIONS.contains(action));
        }
        assert_eq!(
            allowed_dynamodb_actions(function),
            expected,
            "{} ({function_roles:?})",
            function.binary
        );
        // Queries run on the indexes too.
        assert!(
            function.text.contains("${Table.Arn}/index/*"),
            "{} cannot query the indexes",
            function.binary
        );
    }
}

#[test]
fn every_binary_has_a_function_in_the_template() {
    let binaries: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/bin"))
        .expect("src/bin is readable")
        .filter_map(|entry| Some(entry.ok()?.path().file_stem()?.to_str()?.to_owned()))
        .collect();
    let functions = functions(TEMPLATE);
    for binary in &binaries {
        assert!(
            functions.iter().any(|function| function.binary == binary),
            "{binary} has no function in the template"
        );
    }
    assert_eq!(binaries.len(), functions.len());
}

/// The one function that sends email; every other function only queues it.
const SENDS_EMAIL: &str = "sync-worker";

/// The verified identity `SesIdentity` names, as the sender's statement must scope it.
const SES_IDENTITY_ARN: &str =
    "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SesIdentity}";

#[test]
fn only_the_sync_worker_may_send_email_and_only_from_the_verified_identity() {
    for function in functions(TEMPLATE) {
        let ses_lines: Vec<&str> = function
            .text
            .lines()
            .filter(|line| line.contains("ses:") || line.contains("SES"))
            .filter(|line| !line.trim_start().starts_with('#'))
            .map(str::trim)
            .collect();
        if function.binary != SENDS_EMAIL {
            assert!(
                ses_lines.is_empty(),
                "{} queues email but is granted SES: {ses_lines:?}",
                function.binary
            );
            continue;
        }
        // The statement's action line and the resource line that follows it, and nothing else naming SES.
        assert_eq!(
            ses_lines,
            [
                "Action: [ses:SendEmail, ses:SendRawEmail]",
                &format!("Resource: !Sub \"{SES_IDENTITY_ARN}\""),
            ],
            "{}",
            function.binary
        );
        let statement = function
            .text
            .split("- Effect: Allow")
            .find(|statement| statement.contains("ses:SendEmail"))
            .expect("the SES statement");
        assert_eq!(
            statement
                .lines()
                .filter(|line| line.trim().starts_with("Resource"))
                .count(),
            1,
            "the SES statement has one resource, the identity: {statement}"
        );
        assert!(
            function.text.contains("MAIL_FROM: !Ref MailFrom"),
            "{} sends without MAIL_FROM",
            function.binary
        );
    }
}

#[test]
fn only_the_dashboard_reads_the_sign_up_policy() {
    for function in functions(TEMPLATE) {
        assert_eq!(
            function.text.contains("SIGNUP: !Ref SignUp"),
            function.binary == "dashboard",
            "{}",
            function.binary
        );
    }
    assert!(
        TEMPLATE.contains(
            "  SignUp:\n    Type: String\n    Default: closed\n    AllowedValues: [open, closed]"
        ),
        "sign-up is closed unless the stack's parameter opens it"
    );
}

/// The queue consumers that alert owners (`booking_core::app` queues the alert as an email job from the sync worker
/// and from the dead-letter handler), so each may send to the sync queue.
const QUEUE_OWNER_ALERTS: &[&str] = &["sync-worker", "dead-letter-handler"];

#[test]
fn the_functions_that_alert_owners_may_queue_the_email() {
    let functions = functions(TEMPLATE);
    for binary in QUEUE_OWNER_ALERTS {
        let function = functions
            .iter()
            .find(|function| function.binary == *binary)
            .unwrap_or_else(|| panic!("no function runs {binary}"));
        assert!(
            function
                .text
                .contains("- SQSSendMessagePolicy: { QueueName: !GetAtt SyncQueue.QueueName }"),
            "{binary} cannot queue the owners' email"
        );
    }
}

/// How much a template route `pattern` (`/v1/staff/{staff_id}`, `/v1/holds/{proxy+}`) is preferred for `path`, if
/// it matches: API Gateway's HTTP API takes the most specific route, a route without a greedy `{proxy+}` before any
/// with one, then the one with more literal segments.
fn route_match(pattern: &str, path: &str) -> Option<(bool, usize)> {
    let (pattern, path): (Vec<&str>, Vec<&str>) = (
        pattern.trim_matches('/').split('/').collect(),
        path.trim_matches('/').split('/').collect(),
    );
    let mut literal = 0;
    for (index, segment) in pattern.iter().enumerate() {
        if *segment == "{proxy+}" {
            return (path.len() > index).then_some((false, literal));
        }
        let part = path.get(index)?;
        if segment.starts_with('{') {
            continue;
        }
        if segment != part {
            return None;
        }
        literal += 1;
    }
    (pattern.len() == path.len()).then_some((true, literal))
}

/// The paths of a function's `HttpApi` events.
fn routes<'a>(function: &Function<'a>) -> Vec<&'a str> {
    function
        .text
        .split("Path: ")
        .skip(1)
        .filter_map(|rest| match rest.strip_prefix('"') {
            Some(quoted) => quoted.split('"').next(),
            None => rest.split([',', ' ', '}']).next(),
        })
        .collect()
}

/// Every path of the API reaches, through the template's routes, the function whose area serves it: a path the
/// routes send elsewhere, or nowhere, answers 404 in production while every test of the local server passes.
#[test]
fn every_api_path_is_routed_to_the_function_that_serves_it() {
    use booking_core::api::Area;

    let functions = functions(TEMPLATE);
    let area_binary = |area: Area| match area {
        Area::Services => "services-api",
        Area::Availability => "availability-api",
        Area::Appointments => "appointments-api",
        Area::Integrations => "integrations-api",
        Area::Webhooks => "webhooks-api",
        Area::Agents => "agent-api",
    };
    let registry = booking_core::providers::registry();
    let mut checked = 0;
    for area in Area::ALL {
        for path in area.paths(&registry) {
            let routed = functions
                .iter()
                .flat_map(|function| {
                    routes(function)
                        .into_iter()
                        .filter_map(|route| Some((route_match(route, &path)?, function.binary)))
                        .collect::<Vec<_>>()
                })
                .max_by_key(|(preference, _)| *preference)
                .map(|(_, binary)| binary);
            assert_eq!(
                routed,
                Some(area_binary(area)),
                "{path} is served by {} but routed to {routed:?}",
                area_binary(area)
            );
            checked += 1;
        }
    }
    assert!(checked >= 25, "{checked} paths");
}
