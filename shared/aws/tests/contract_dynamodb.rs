//! The store contract, unchanged, against DynamoDB Local.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use shared::ports::Store;
use shared_aws::emulators::dynamodb_local::DynamoDbLocal;

async fn dynamodb_local_running() -> bool {
    match DynamoDbLocal::shared().await {
        Ok(Some(_)) => true,
        Ok(None) => {
            eprintln!("skipped: DynamoDB Local is not installed (scripts/install-test-tools.sh)");
            false
        }
        Err(error) => panic!("{error}"),
    }
}

async fn dynamo_store() -> (Arc<dyn Store>, ()) {
    let emulator = DynamoDbLocal::shared().await.unwrap().unwrap();
    let (store, _table) = emulator.fresh_store().await.unwrap();
    (Arc::new(store), ())
}

mod dynamo_store {
    shared::store_contract_tests!(
        super::dynamo_store,
        available = super::dynamodb_local_running
    );
}

mod dynamo_account_store {
    shared::account_store_contract_tests!(
        super::dynamo_store,
        available = super::dynamodb_local_running
    );
}
