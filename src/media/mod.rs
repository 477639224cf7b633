//! Media: where uploaded images' bytes live, and how an upload becomes the copies served.
//!
//! One store behind `object_store`'s trait: a folder on local disk (beside the SQLite
//! database by default) or an S3-compatible bucket (`s3://bucket/prefix`, with the usual
//! `AWS_*` settings). The database says which images a product shows; this holds their
//! bytes under keys made from the image's id, which never change (a new upload is a new
//! id), so that they can be cached for good.

pub mod images;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// Where media is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaLocation {
    /// A folder on local disk (created when missing).
    Directory(PathBuf),
    /// An S3-compatible bucket and a key prefix, from `s3://bucket/prefix`.
    Bucket { bucket: String, prefix: String },
}

impl MediaLocation {
    /// `s3://bucket/prefix`, `file:///path` or a plain path.
    pub fn parse(url: &str) -> Result<MediaLocation, MediaError> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(MediaError::Config(format!(
                    "{url}: the bucket is missing (s3://bucket/prefix)"
                )));
            }
            return Ok(MediaLocation::Bucket {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        let path = url.strip_prefix("file://").unwrap_or(url);
        if path.is_empty() || url.contains("://") && !url.starts_with("file://") {
            return Err(MediaError::Config(format!(
                "{url}: expected s3://bucket/prefix, file:///path or a path"
            )));
        }
        Ok(MediaLocation::Directory(PathBuf::from(path)))
    }

    /// The default: a `media` folder beside the SQLite database file, or in the default
    /// data folder for PostgreSQL.
    pub fn beside_database(database_url: &str) -> MediaLocation {
        let sqlite_file = database_url
            .strip_prefix("sqlite://")
            .or_else(|| database_url.strip_prefix("sqlite:"))
            .map(|path| path.split('?').next().unwrap_or(path));
        let folder = sqlite_file
            .and_then(|file| Path::new(file).parent())
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new(DEFAULT_DATA_FOLDER));
        MediaLocation::Directory(folder.join("media"))
    }
}

impl Default for MediaLocation {
    fn default() -> Self {
        MediaLocation::Directory(Path::new(DEFAULT_DATA_FOLDER).join("media"))
    }
}

impl std::fmt::Display for MediaLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MediaLocation::Directory(path) => write!(f, "{}", path.display()),
            MediaLocation::Bucket { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// The folder of the default SQLite database (`store::DEFAULT_DATABASE_URL`).
const DEFAULT_DATA_FOLDER: &str = "backroom-data";

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("media storage is misconfigured: {0}")]
    Config(String),
    #[error("media storage failed: {0}")]
    Storage(#[from] object_store::Error),
}

/// A stored file being read.
pub struct MediaFile {
    pub size: u64,
    pub chunks: BoxStream<'static, Result<Bytes, MediaError>>,
}

/// The media store: bytes by key.
#[derive(Clone)]
pub struct MediaStore {
    objects: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for MediaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MediaStore({})", self.objects)
    }
}

impl MediaStore {
    pub fn open(location: &MediaLocation) -> Result<MediaStore, MediaError> {
        let objects: Arc<dyn ObjectStore> = match location {
            MediaLocation::Directory(path) => {
                std::fs::create_dir_all(path)
                    .map_err(|error| MediaError::Config(format!("cannot create {}: {error}", path.display())))?;
                Arc::new(LocalFileSystem::new_with_prefix(path)?)
            }
            MediaLocation::Bucket { bucket, prefix } => {
                let bucket = AmazonS3Builder::from_env().with_bucket_name(bucket).build()?;
                if prefix.is_empty() {
                    Arc::new(bucket)
                } else {
                    Arc::new(PrefixStore::new(bucket, prefix.as_str()))
                }
            }
        };
        Ok(MediaStore { objects })
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), MediaError> {
        self.objects.put(&key.into(), PutPayload::from_bytes(bytes)).await?;
        Ok(())
    }

    /// The bytes under `key` as they are read, with their length; `None` when there are
    /// none. A large image is never held whole in memory to be served.
    pub async fn read(&self, key: &str) -> Result<Option<MediaFile>, MediaError> {
        match self.objects.get(&key.into()).await {
            Ok(found) => Ok(Some(MediaFile {
                size: found.meta.size,
                chunks: found.into_stream().map(|chunk| chunk.map_err(MediaError::from)).boxed(),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Removes `key`; one already gone is no error.
    pub async fn delete(&self, key: &str) -> Result<(), MediaError> {
        match self.objects.delete(&key.into()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(
            MediaLocation::parse("s3://shop-media/images/").expect("parses"),
            MediaLocation::Bucket {
                bucket: "shop-media".into(),
                prefix: "images".into()
            }
        );
        assert_eq!(
            MediaLocation::parse("file:///srv/media").expect("parses"),
            MediaLocation::Directory("/srv/media".into())
        );
        assert_eq!(
            MediaLocation::parse("media").expect("parses"),
            MediaLocation::Directory("media".into())
        );
        assert!(MediaLocation::parse("s3:///x").is_err());
        assert!(MediaLocation::parse("gs://bucket").is_err());
        assert!(MediaLocation::parse("").is_err());
    }

    #[test]
    fn the_default_is_beside_the_sqlite_file() {
        assert_eq!(
            MediaLocation::beside_database("sqlite:///var/lib/shop/backroom.db?mode=rwc"),
            MediaLocation::Directory("/var/lib/shop/media".into())
        );
        assert_eq!(
            MediaLocation::beside_database("sqlite://backroom-data/backroom.db"),
            MediaLocation::Directory("backroom-data/media".into())
        );
        assert_eq!(
            MediaLocation::beside_database("postgres://shop@db/shop"),
            MediaLocation::Directory("backroom-data/media".into())
        );
    }
}
