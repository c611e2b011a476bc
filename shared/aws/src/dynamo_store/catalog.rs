//! Businesses, their services and settings.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use booking_core::domain::{
    ApiKeyHash, Business, BusinessId, BusinessName, BusinessSettings, BusinessTimeZone, Hold,
    HoldId, Service, ServiceId, StaffId, StaffMember, ValidationError,
};
use booking_core::ports::{BookingReads, CalendarConnection, CatalogStore, StoreError};

use super::api_keys::ApiKeyRecordItem;
use super::items::{
    API_KEY_SK, ApiKeyItem, BUSINESS_SK, BusinessItem, BusinessSettingsItem, CALENDAR_SK,
    CalendarConnectionsItem, HoldItem, MAX_ROSTER_MEMBERS, SERVICE_PREFIX, SETTINGS_SK, SK,
    STAFF_ROSTER_SK, ServiceItem, StaffRosterItem, api_key_pk, business_pk, hold_sk, service_sk,
};
use super::ledgers::back_off;
use super::operator::MAX_TRANSACTION_ITEMS;
use super::requests::WriteOutcome;
use super::{DynamoStore, backend, from_item, key, number, to_item, to_value};

/// A key revoked, or the business disabled, while it is being renamed fails the transaction; a fresh read settles it.
const PROFILE_ATTEMPTS: u32 = 5;
/// A change of another member meanwhile fails a roster write; a fresh read settles it.
const ROSTER_ATTEMPTS: u32 = 5;

/// What a change does to the roster as read: the members to write, or why it is refused.
type RosterChange<'a> =
    dyn Fn(Vec<StaffMember>) -> Result<Vec<StaffMember>, StoreError> + Send + Sync + 'a;

impl DynamoStore {
    /// The business's own item as `business`, written only if it is still disabled (or not) as it was read, so an
    /// operator's disable meanwhile is never undone.
    fn business_put(&self, business: &Business) -> Result<TransactWriteItem, StoreError> {
        let item = BusinessItem {
            pk: business_pk(business.id),
            sk: BUSINESS_SK.to_owned(),
            business: business.clone(),
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
            .expression_attribute_names("#business", "business")
            .expression_attribute_names("#disabled_at", "disabled_at");
        let put = match business.disabled_at {
            Some(at) => put
                .condition_expression("#business.#disabled_at = :at")
                .expression_attribute_values(":at", to_value(&at)?),
            None => put.condition_expression(
                "attribute_exists(PK) AND attribute_not_exists(#business.#disabled_at)",
            ),
        };
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(backend)?)
            .build())
    }

    async fn staff_roster(
        &self,
        business_id: BusinessId,
    ) -> Result<Option<StaffRosterItem>, StoreError> {
        self.get(business_pk(business_id), STAFF_ROSTER_SK.to_owned())
            .await
    }

    /// Reads the roster, applies `change` and writes it back on condition that nobody changed it meanwhile (or, for
    /// a business without one yet, that nobody wrote one); read again and retried when somebody did.
    async fn change_roster(
        &self,
        business_id: BusinessId,
        change: &RosterChange<'_>,
    ) -> Result<(), StoreError> {
        for attempt in 0..ROSTER_ATTEMPTS {
            let current = self.staff_roster(business_id).await?;
            let (read_version, members) = current
                .map(|roster| (Some(roster.version), roster.members))
                .unwrap_or_default();
            let members = change(members)?;
            if members.len() > MAX_ROSTER_MEMBERS {
                return Err(StoreError::Refused(ValidationError::new(
                    "staff",
                    format!("a business has at most {MAX_ROSTER_MEMBERS} staff members"),
                )));
            }
            let next = StaffRosterItem::new(
                business_id,
                read_version.map_or(1, |version| version + 1),
                members,
            );
            let written = match read_version {
                Some(version) => {
                    self.put_if(
                        to_item(&next)?,
                        "version = :read",
                        &[],
                        vec![(":read", number(version))],
                    )
                    .await?
                }
                None => {
                    self.put_if(to_item(&next)?, "attribute_not_exists(PK)", &[], Vec::new())
                        .await?
                }
            };
            if written {
                return Ok(());
            }
            back_off(attempt).await;
        }
        Err(StoreError::Backend(
            "changing the staff roster kept conflicting with other changes to it".into(),
        ))
    }
}

#[async_trait]
impl CatalogStore for DynamoStore {
    async fn create_business(
        &self,
        business: &Business,
        api_key: &ApiKeyHash,
    ) -> Result<(), StoreError> {
        let business_item = BusinessItem {
            pk: business_pk(business.id),
            sk: BUSINESS_SK.to_owned(),
            business: business.clone(),
        };
        let key_item = ApiKeyItem {
            pk: api_key_pk(api_key.as_str()),
            sk: API_KEY_SK.to_owned(),
            business: business.clone(),
        };
        let condition = Some("attribute_not_exists(PK)");
        let first_key = ApiKeyRecordItem::new(&booking_core::ports::first_api_key_record(
            business, api_key,
        ));
        let roster = StaffRosterItem::new(
            business.id,
            1,
            vec![StaffMember::first_of(
                business.id,
                business.name.clone(),
                business.created_at,
            )],
        );
        let outcome = self
            .transact(vec![
                self.put(to_item(&business_item)?, condition)?,
                self.put(to_item(&key_item)?, condition)?,
                self.put(to_item(&first_key)?, condition)?,
                self.put(to_item(&roster)?, condition)?,
            ])
            .await?;
        match outcome {
            WriteOutcome::Committed => Ok(()),
            outcome if outcome.failed(0) || outcome.failed(1) => Err(StoreError::AlreadyExists),
            _ => Err(StoreError::Backend(
                "creating the business was cancelled".into(),
            )),
        }
    }

    async fn get_business(&self, id: BusinessId) -> Result<Option<Business>, StoreError> {
        Ok(self
            .get::<BusinessItem>(business_pk(id), BUSINESS_SK.to_owned())
            .await?
            .map(|item| item.business))
    }

    async fn update_business_profile(
        &self,
        id: BusinessId,
        name: &BusinessName,
        time_zone: &BusinessTimeZone,
    ) -> Result<(), StoreError> {
        for attempt in 0..PROFILE_ATTEMPTS {
            let Some(current) = self.get_business(id).await? else {
                return Err(StoreError::NotFound);
            };
            let business = Business {
                name: name.clone(),
                time_zone: time_zone.clone(),
                ..current
            };
            let mut writes = vec![self.business_put(&business)?];
            // Each unrevoked key's lookup carries a copy of the business, which is what a request authenticates as;
            // a lookup gone meanwhile (its key revoked) fails the write, and the next attempt reads the keys again.
            for record in self.api_key_records(id).await? {
                if record.revoked_at.is_some() {
                    continue;
                }
                let lookup = ApiKeyItem {
                    pk: api_key_pk(record.hash.as_str()),
                    sk: API_KEY_SK.to_owned(),
                    business: business.clone(),
                };
                writes.push(self.put(to_item(&lookup)?, Some("attribute_exists(PK)"))?);
            }
            let mut settled = true;
            // A business with more keys than one transaction holds is changed in several; each is retried whole.
            for (index, chunk) in writes.chunks(MAX_TRANSACTION_ITEMS).enumerate() {
                match self.transact(chunk.to_vec()).await? {
                    WriteOutcome::Committed => {}
                    outcome if index == 0 && outcome.failed(0) => {
                        let still_there = self.get_business(id).await?.is_some();
                        if !still_there {
                            return Err(StoreError::NotFound);
                        }
                        settled = false;
                    }
                    _ => settled = false,
                }
            }
            if settled {
                return Ok(());
            }
            back_off(attempt).await;
        }
        Err(StoreError::Backend(
            "renaming the business kept conflicting with changes to it or its keys".into(),
        ))
    }

    async fn create_service(&self, service: &Service) -> Result<(), StoreError> {
        self.put_new(to_item(&ServiceItem::new(service))?).await
    }

    async fn update_service(
        &self,
        service: &Service,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let written = self
            .put_if(
                to_item(&ServiceItem::new(service))?,
                "version = :expected",
                &[],
                vec![(":expected", number(expected_version))],
            )
            .await?;
        if written {
            return Ok(());
        }
        match self.get_service(service.business_id, service.id).await? {
            Some(_) => Err(StoreError::VersionMismatch),
            None => Err(StoreError::NotFound),
        }
    }

    async fn get_service(
        &self,
        business_id: BusinessId,
        id: ServiceId,
    ) -> Result<Option<Service>, StoreError> {
        Ok(self
            .get::<ServiceItem>(business_pk(business_id), service_sk(id))
            .await?
            .map(|item| item.service))
    }

    async fn list_services(&self, business_id: BusinessId) -> Result<Vec<Service>, StoreError> {
        let items: Vec<ServiceItem> = self.business_items(business_id, SERVICE_PREFIX).await?;
        Ok(items.into_iter().map(|item| item.service).collect())
    }

    async fn create_staff_member(&self, member: &StaffMember) -> Result<(), StoreError> {
        self.change_roster(member.business_id, &|mut members| {
            if members.iter().any(|stored| stored.id == member.id) {
                return Err(StoreError::AlreadyExists);
            }
            members.push(member.clone());
            Ok(members)
        })
        .await
    }

    async fn update_staff_member(
        &self,
        member: &StaffMember,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        self.change_roster(member.business_id, &|mut members| {
            let stored = members
                .iter_mut()
                .find(|stored| stored.id == member.id)
                .ok_or(StoreError::NotFound)?;
            if stored.version != expected_version {
                return Err(StoreError::VersionMismatch);
            }
            *stored = member.clone();
            Ok(members)
        })
        .await
    }

    async fn get_staff_member(
        &self,
        business_id: BusinessId,
        id: StaffId,
    ) -> Result<Option<StaffMember>, StoreError> {
        Ok(self
            .list_staff(business_id)
            .await?
            .into_iter()
            .find(|member| member.id == id))
    }

    async fn list_staff(&self, business_id: BusinessId) -> Result<Vec<StaffMember>, StoreError> {
        Ok(self
            .staff_roster(business_id)
            .await?
            .map(|roster| roster.members)
            .unwrap_or_default())
    }

    async fn store_first_staff_members(&self) -> Result<u64, StoreError> {
        self.store_first_staff_members_once().await
    }

    async fn get_business_settings(
        &self,
        business_id: BusinessId,
    ) -> Result<BusinessSettings, StoreError> {
        Ok(self
            .get::<BusinessSettingsItem>(business_pk(business_id), SETTINGS_SK.to_owned())
            .await?
            .map(|item| item.settings)
            .unwrap_or_default())
    }

    async fn put_business_settings(
        &self,
        business_id: BusinessId,
        settings: &BusinessSettings,
    ) -> Result<(), StoreError> {
        let item = BusinessSettingsItem {
            pk: business_pk(business_id),
            sk: SETTINGS_SK.to_owned(),
            settings: settings.clone(),
        };
        self.put_item(to_item(&item)?).await
    }
}

#[async_trait]
impl BookingReads for DynamoStore {
    /// One consistent BatchGetItem for the service, the business's connections (one item) and the roster: a
    /// booking's first round trip, and its only read of the staff.
    async fn service_connection_and_staff(
        &self,
        business_id: BusinessId,
        service_id: ServiceId,
    ) -> Result<(Option<Service>, Vec<CalendarConnection>, Vec<StaffMember>), StoreError> {
        let read = self
            .with_connections_and_staff(business_id, service_sk(service_id))
            .await?;
        let service = read
            .item
            .map(from_item::<ServiceItem>)
            .transpose()?
            .map(|item| item.service);
        Ok((service, read.connections, read.staff))
    }

    /// The hold, the business's connections and the roster in one consistent BatchGetItem: a booking from a hold's
    /// first round trip, and its only read of the staff (the answer names the held member from it).
    async fn hold_connection_and_staff(
        &self,
        business_id: BusinessId,
        hold_id: HoldId,
    ) -> Result<(Option<Hold>, Vec<CalendarConnection>, Vec<StaffMember>), StoreError> {
        let read = self
            .with_connections_and_staff(business_id, hold_sk(hold_id))
            .await?;
        let hold = read
            .item
            .map(from_item::<HoldItem>)
            .transpose()?
            .map(|item| item.hold);
        Ok((hold, read.connections, read.staff))
    }
}

/// An item of a business read together with its calendar connections and staff roster.
struct ReadWithConnectionsAndStaff {
    item: Option<HashMap<String, AttributeValue>>,
    connections: Vec<CalendarConnection>,
    staff: Vec<StaffMember>,
}

impl DynamoStore {
    /// The business's item under `sk`, its calendar connections and its staff roster in one consistent
    /// BatchGetItem.
    async fn with_connections_and_staff(
        &self,
        business_id: BusinessId,
        sk: String,
    ) -> Result<ReadWithConnectionsAndStaff, StoreError> {
        let mut pending = KeysAndAttributes::builder()
            .keys(key(business_pk(business_id), sk))
            .keys(key(business_pk(business_id), CALENDAR_SK.to_owned()))
            .keys(key(business_pk(business_id), STAFF_ROSTER_SK.to_owned()))
            .consistent_read(true)
            .build()
            .map_err(backend)?;
        let mut read = ReadWithConnectionsAndStaff {
            item: None,
            connections: Vec::new(),
            staff: Vec::new(),
        };
        for attempt in 0.. {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, pending)
                .send()
                .await
                .map_err(backend)?;
            let items = output
                .responses
                .and_then(|mut responses| responses.remove(&self.table))
                .unwrap_or_default();
            for item in items {
                match item.get(SK) {
                    Some(AttributeValue::S(sk)) if sk == CALENDAR_SK => {
                        read.connections =
                            from_item::<CalendarConnectionsItem>(item)?.into_connections();
                    }
                    Some(AttributeValue::S(sk)) if sk == STAFF_ROSTER_SK => {
                        read.staff = from_item::<StaffRosterItem>(item)?.members;
                    }
                    _ => read.item = Some(item),
                }
            }
            // DynamoDB may leave keys unprocessed under throttling: ask for those again, after a pause.
            match output
                .unprocessed_keys
                .and_then(|mut unprocessed| unprocessed.remove(&self.table))
            {
                Some(rest) if !rest.keys().is_empty() => {
                    back_off(attempt).await;
                    pending = rest;
                }
                _ => break,
            }
        }
        Ok(read)
    }
}
