//! The IAM actions each store role needs on the table: what the methods of its file in `dynamo_store` issue, the
//! request helpers of `dynamo_store/requests.rs` and `ledgers.rs` followed to the requests they send. The SAM
//! template grants each function the actions of its view's roles (`functions/lambdas/tests/iam_policies.rs` checks
//! it), so this table is the one place that says what a role may do to the table.
//!
//! A transaction needs no action of its own: IAM authorises each of its parts as the single-item request it stands
//! for (a `Put` as `PutItem`, a `ConditionCheck` as `ConditionCheckItem`).

use booking_core::ports::StoreRole;

/// The actions that only read; a function whose roles include writes it never makes may be granted just these.
pub const READ_ACTIONS: &[&str] = &[
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
];

/// The DynamoDB actions the methods of `role` issue.
pub fn dynamodb_actions(role: StoreRole) -> &'static [&'static str] {
    match role {
        // catalog.rs: the business, its first key and its lookup in one transaction of puts; services by
        // conditional put; settings by put; renaming puts the business and its key lookups in one transaction
        // (the keys read by query); reads by key, services by query. Its one Scan, the first-staff back-fill, runs
        // only in the scheduler, whose AppointmentStore role grants Scan; granting it here would give every API
        // function a Scan of the table.
        StoreRole::CatalogStore => &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
        // catalog.rs: the service (or, from a hold, the hold), the calendar connections and the staff roster in one
        // BatchGetItem.
        StoreRole::BookingReads => &["dynamodb:BatchGetItem"],
        // booking.rs and ledgers.rs: transactions that put appointments and idempotency records, update ledgers and
        // day counts, delete holds and check that a hold's appointment is absent; reads of ledgers (query), day
        // counts, holds and idempotency records (by key).
        StoreRole::BookingStore => &[
            "dynamodb:ConditionCheckItem",
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        ],
        // appointments.rs: reads by key and query (listings, occupancies, sync status, phone); sync state by
        // conditional update; the phone index back-fill scans, updates, and puts its marker.
        StoreRole::AppointmentStore => &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:Scan",
            "dynamodb:UpdateItem",
        ],
        // connections.rs: connections, watches and OAuth attempts by (conditional) put, read by key, taken or
        // removed by delete; health by update; watches walked by query.
        StoreRole::ConnectionStore => &[
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        ],
        // busy_time.rs: events put and deleted, intervals and ids by query.
        StoreRole::BusyTimeStore => &["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query"],
        // leases.rs: taken by conditional put, released by conditional delete.
        StoreRole::LeaseStore => &["dynamodb:DeleteItem", "dynamodb:PutItem"],
        // sign_ins.rs: people, links and sessions by conditional put, failures by put, read by key, links taken
        // and sessions ended by delete; passwords by update; a new email puts the account anew and deletes the
        // old one in one transaction; staff and recent failures by query.
        StoreRole::SignInStore => &[
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        ],
        // api_keys.rs: the key by key; a new key and its lookup in one transaction of puts; revoking puts the
        // record and deletes the lookup in one; records by query.
        StoreRole::ApiKeyStore => &[
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
        ],
        // operator.rs: businesses and a business's records found by scan; disabling updates the business and its
        // key lookups in one transaction; records removed one delete at a time. No function holds this role: only
        // the operator's `booking-admin`, with the operator's own credentials.
        StoreRole::OperatorStore => &[
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:Scan",
            "dynamodb:UpdateItem",
        ],
    }
}

/// The DynamoDB actions of a view made of `roles`, sorted, each once.
pub fn dynamodb_actions_of(roles: &[StoreRole]) -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = roles
        .iter()
        .flat_map(|role| dynamodb_actions(*role).iter().copied())
        .collect();
    actions.sort_unstable();
    actions.dedup();
    actions
}
