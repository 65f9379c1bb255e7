//! Blobs in an S3-compatible bucket, through `object_store`.

use super::{BlobError, BlobId};
use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStoreExt, RetryConfig};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A bucket (and a prefix in it) holding blobs.
#[derive(Clone)]
pub struct S3Store {
    store: Arc<AmazonS3>,
    bucket: String,
    prefix: String,
    endpoint: Option<String>,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the client: its configuration holds the credentials.
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)?;
        if let Some(endpoint) = &self.endpoint {
            write!(f, " at {endpoint}")?;
        }
        Ok(())
    }
}

impl S3Store {
    /// The store an `s3://` URL names (see the module documentation of `blobs`).
    pub fn from_url(url: &url::Url) -> Result<S3Store, String> {
        let bucket = url
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or("blob_store: an s3 URL names its bucket: s3://bucket/prefix")?
            .to_string();
        let prefix = url.path().trim_matches('/').to_string();
        if prefix.split('/').any(|p| p == "." || p == "..") {
            return Err("blob_store: the s3 prefix may not contain . or .. segments".into());
        }
        // The environment first (AWS_ACCESS_KEY_ID, AWS_REGION, …); the URL overrides it.
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&bucket)
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(20),
                ..RetryConfig::default()
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(60)),
            );
        if std::env::var_os("AWS_REGION").is_none()
            && std::env::var_os("AWS_DEFAULT_REGION").is_none()
        {
            builder = builder.with_region("us-east-1");
        }
        if !url.username().is_empty() {
            let key = decode(url.username())?;
            let secret = decode(url.password().unwrap_or(""))?;
            if secret.is_empty() {
                return Err("blob_store: an s3 URL with a key id needs its secret: s3://KEY_ID:SECRET@bucket".into());
            }
            builder = builder
                .with_access_key_id(key)
                .with_secret_access_key(secret);
        }
        let mut endpoint = None;
        let mut virtual_hosted = None;
        for (key, value) in url.query_pairs() {
            match &*key {
                "endpoint" => {
                    let parsed = url::Url::parse(&value).map_err(|e| {
                        format!("blob_store: endpoint is not a URL ({e})")
                    })?;
                    if !matches!(parsed.scheme(), "http" | "https") {
                        return Err("blob_store: the endpoint is an http:// or https:// URL".into());
                    }
                    builder = builder
                        .with_endpoint(value.trim_end_matches('/'))
                        .with_allow_http(parsed.scheme() == "http");
                    endpoint = Some(value.trim_end_matches('/').to_string());
                }
                "region" => builder = builder.with_region(value.as_ref()),
                "session_token" => builder = builder.with_token(value.as_ref()),
                "virtual_hosted" => {
                    virtual_hosted = Some(match &*value {
                        "true" => true,
                        "false" => false,
                        _ => return Err("blob_store: virtual_hosted is true or false".into()),
                    })
                }
                other => {
                    return Err(format!(
                        "blob_store: unknown s3 parameter {other:?} (known: endpoint, region, virtual_hosted, session_token)"
                    ))
                }
            }
        }
        // Self-hosted S3 (MinIO, Ceph, moto) answers path-style requests;
        // Amazon itself wants virtual-hosted ones.
        builder =
            builder.with_virtual_hosted_style_request(virtual_hosted.unwrap_or(endpoint.is_none()));
        let store = builder.build().map_err(|e| format!("blob_store: {e}"))?;
        Ok(S3Store {
            store: Arc::new(store),
            bucket,
            prefix,
            endpoint,
        })
    }

    /// The `object_store` client, for what this interface does not cover
    /// (such as signing a URL for a direct download).
    pub fn client(&self) -> &AmazonS3 {
        &self.store
    }

    fn key(&self, id: &BlobId) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(id.relative_path())
        } else {
            ObjectPath::from(format!("{}/{}", self.prefix, id.relative_path()))
        }
    }

    pub(super) async fn put(&self, id: &BlobId, bytes: Bytes) -> Result<(), BlobError> {
        // A blob already there has this content; overwriting it in a race
        // writes the same bytes, so no conditional put (which not every
        // S3-compatible store offers) is needed.
        if self.exists(id).await? {
            return Ok(());
        }
        self.store
            .put(&self.key(id), bytes.into())
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn get(&self, id: &BlobId) -> Result<Option<Bytes>, BlobError> {
        match self.store.get(&self.key(id)).await {
            Ok(found) => Ok(Some(found.bytes().await.map_err(backend)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(backend(e)),
        }
    }

    pub(super) async fn exists(&self, id: &BlobId) -> Result<bool, BlobError> {
        match self.store.head(&self.key(id)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }

    pub(super) async fn delete(&self, id: &BlobId) -> Result<(), BlobError> {
        match self.store.delete(&self.key(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }
}

fn backend(e: object_store::Error) -> BlobError {
    BlobError::Backend(e.to_string())
}

fn decode(s: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| {
            "blob_store: the s3 URL's credentials are not valid percent-encoded UTF-8".into()
        })
}
