//! Businesses, their services and settings.

use async_trait::async_trait;
use redb::{ReadableTable, WriteTransaction};

use super::api_keys::write_api_key_record;
use super::{
    API_KEYS, BUSINESS_SETTINGS, BUSINESSES, EmbeddedStore, MIGRATIONS, SERVICES, STAFF_MEMBERS,
    backend, decode, encode, key, read_json, rows_under,
};
use crate::domain::{
    ApiKeyHash, Business, BusinessId, BusinessName, BusinessSettings, BusinessTimeZone, Service,
    ServiceId, StaffId, StaffMember,
};
use crate::ports::{BookingReads, CatalogStore, StoreError};

impl EmbeddedStore {
    /// Changes the business's record in one write; `NotFound` if there is none. Keys point to the record, so the
    /// change is also what every key authenticates as.
    pub(super) async fn change_business(
        &self,
        id: BusinessId,
        change: impl FnOnce(&mut Business) + Send + 'static,
    ) -> Result<(), StoreError> {
        self.write(move |txn| {
            let mut businesses = txn.open_table(BUSINESSES).map_err(backend)?;
            let mut business: Business =
                read_json(&businesses, id.as_uuid().as_bytes())?.ok_or(StoreError::NotFound)?;
            change(&mut business);
            businesses
                .insert(
                    id.as_uuid().as_bytes().as_slice(),
                    encode(&business)?.as_slice(),
                )
                .map_err(backend)?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl CatalogStore for EmbeddedStore {
    async fn create_business(
        &self,
        business: &Business,
        api_key: &ApiKeyHash,
    ) -> Result<(), StoreError> {
        let business = business.clone();
        let api_key = api_key.clone();
        self.write(move |txn| {
            {
                let mut businesses = txn.open_table(BUSINESSES).map_err(backend)?;
                let mut keys = txn.open_table(API_KEYS).map_err(backend)?;
                let id = business.id.as_uuid();
                if businesses
                    .get(id.as_bytes().as_slice())
                    .map_err(backend)?
                    .is_some()
                    || keys
                        .get(api_key.as_str().as_bytes())
                        .map_err(backend)?
                        .is_some()
                {
                    return Err(StoreError::AlreadyExists);
                }
                businesses
                    .insert(id.as_bytes().as_slice(), encode(&business)?.as_slice())
                    .map_err(backend)?;
                keys.insert(api_key.as_str().as_bytes(), id.as_bytes().as_slice())
                    .map_err(backend)?;
            }
            write_api_key_record(
                txn,
                &crate::ports::first_api_key_record(&business, &api_key),
            )?;
            let first =
                StaffMember::first_of(business.id, business.name.clone(), business.created_at);
            txn.open_table(STAFF_MEMBERS)
                .map_err(backend)?
                .insert(
                    staff_key(business.id, first.id).as_slice(),
                    encode(&first)?.as_slice(),
                )
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn get_business(&self, id: BusinessId) -> Result<Option<Business>, StoreError> {
        self.get_json(BUSINESSES, id.as_uuid().as_bytes().to_vec())
    }

    async fn update_business_profile(
        &self,
        id: BusinessId,
        name: &BusinessName,
        time_zone: &BusinessTimeZone,
    ) -> Result<(), StoreError> {
        let (name, time_zone) = (name.clone(), time_zone.clone());
        self.change_business(id, move |business| {
            business.name = name;
            business.time_zone = time_zone;
        })
        .await
    }

    async fn create_service(&self, service: &Service) -> Result<(), StoreError> {
        self.insert_new(
            SERVICES,
            key(&[
                service.business_id.as_uuid().as_bytes(),
                service.id.as_uuid().as_bytes(),
            ]),
            encode(service)?,
        )
        .await
    }

    async fn update_service(
        &self,
        service: &Service,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let key = key(&[
            service.business_id.as_uuid().as_bytes(),
            service.id.as_uuid().as_bytes(),
        ]);
        let version = |current: &Service| current.version;
        self.replace_at_version(SERVICES, key, encode(service)?, expected_version, version)
            .await
    }

    async fn get_service(
        &self,
        business_id: BusinessId,
        id: ServiceId,
    ) -> Result<Option<Service>, StoreError> {
        self.get_json(
            SERVICES,
            key(&[business_id.as_uuid().as_bytes(), id.as_uuid().as_bytes()]),
        )
    }

    async fn list_services(&self, business_id: BusinessId) -> Result<Vec<Service>, StoreError> {
        self.read(move |txn| {
            let services = txn.open_table(SERVICES).map_err(backend)?;
            rows_under(&services, business_id.as_uuid().as_bytes())
        })
    }

    async fn create_staff_member(&self, member: &StaffMember) -> Result<(), StoreError> {
        self.insert_new(
            STAFF_MEMBERS,
            staff_key(member.business_id, member.id),
            encode(member)?,
        )
        .await
    }

    async fn update_staff_member(
        &self,
        member: &StaffMember,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let key = staff_key(member.business_id, member.id);
        let version = |current: &StaffMember| current.version;
        self.replace_at_version(
            STAFF_MEMBERS,
            key,
            encode(member)?,
            expected_version,
            version,
        )
        .await
    }

    async fn get_staff_member(
        &self,
        business_id: BusinessId,
        id: StaffId,
    ) -> Result<Option<StaffMember>, StoreError> {
        self.get_json(STAFF_MEMBERS, staff_key(business_id, id))
    }

    async fn list_staff(&self, business_id: BusinessId) -> Result<Vec<StaffMember>, StoreError> {
        self.read(move |txn| {
            let staff = txn.open_table(STAFF_MEMBERS).map_err(backend)?;
            rows_under(&staff, business_id.as_uuid().as_bytes())
        })
    }

    async fn store_first_staff_members(&self) -> Result<u64, StoreError> {
        self.write(store_first_staff_members).await
    }

    async fn get_business_settings(
        &self,
        business_id: BusinessId,
    ) -> Result<BusinessSettings, StoreError> {
        Ok(self
            .get_json(BUSINESS_SETTINGS, business_id.as_uuid().as_bytes().to_vec())?
            .unwrap_or_default())
    }

    async fn put_business_settings(
        &self,
        business_id: BusinessId,
        settings: &BusinessSettings,
    ) -> Result<(), StoreError> {
        let settings = settings.clone();
        self.write(move |txn| {
            txn.open_table(BUSINESS_SETTINGS)
                .map_err(backend)?
                .insert(
                    business_id.as_uuid().as_bytes().as_slice(),
                    encode(&settings)?.as_slice(),
                )
                .map_err(backend)?;
            Ok(())
        })
        .await
    }
}

/// The staff migration in one write transaction (see [`CatalogStore::store_first_staff_members`]); run by
/// [`EmbeddedStore::open`] too, so a store file of an older release opens with its members in place.
pub(super) fn store_first_staff_members(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let mut migrations = txn.open_table(MIGRATIONS).map_err(backend)?;
    if migrations
        .get(FIRST_STAFF_MIGRATION)
        .map_err(backend)?
        .is_some()
    {
        return Ok(0);
    }
    let businesses = txn.open_table(BUSINESSES).map_err(backend)?;
    let mut staff = txn.open_table(STAFF_MEMBERS).map_err(backend)?;
    let mut stored = 0;
    for entry in businesses.iter().map_err(backend)? {
        let (_, value) = entry.map_err(backend)?;
        let business: Business = decode(value.value())?;
        let has_members = staff
            .range(business.id.as_uuid().as_bytes().as_slice()..)
            .map_err(backend)?
            .next()
            .transpose()
            .map_err(backend)?
            .is_some_and(|(key, _)| key.value().starts_with(business.id.as_uuid().as_bytes()));
        if has_members {
            continue;
        }
        let first = StaffMember::first_of(business.id, business.name.clone(), business.created_at);
        staff
            .insert(
                staff_key(business.id, first.id).as_slice(),
                encode(&first)?.as_slice(),
            )
            .map_err(backend)?;
        stored += 1;
    }
    migrations
        .insert(FIRST_STAFF_MIGRATION, [].as_slice())
        .map_err(backend)?;
    Ok(stored)
}

/// The marker of the staff migration in the `migrations` table.
const FIRST_STAFF_MIGRATION: &[u8] = b"first_staff_members";

pub(super) fn staff_key(business: BusinessId, member: StaffId) -> Vec<u8> {
    key(&[business.as_uuid().as_bytes(), member.as_uuid().as_bytes()])
}

/// One redb snapshot read is microseconds: the default (two reads) is as good as one.
impl BookingReads for EmbeddedStore {}
