//! The database pool's waits as a Prometheus histogram: the store counts them into a
//! [`Tally`] as statements take connections; this encodes it when scraped. Also any other
//! tally as a histogram ([`TallyHistogram`]).

use std::sync::{Arc, OnceLock};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use crate::tally::{POOL_WAIT_BOUNDS, Tally};

/// `db_pool_wait_seconds`: the store's tally, known from the first scrape on (empty before).
#[derive(Clone, Debug, Default)]
pub struct PoolWaits(Arc<OnceLock<Arc<Tally>>>);

impl PoolWaits {
    /// Reads from `tally` from now on (the first one given stays).
    pub fn follow(&self, tally: impl FnOnce() -> Arc<Tally>) {
        self.0.get_or_init(tally);
    }
}

/// A [`Tally`] always there, as a histogram (the agents' apply times).
#[derive(Clone, Debug)]
pub struct TallyHistogram(pub Arc<Tally>);

impl EncodeMetric for TallyHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = self.0.snapshot();
        encoder.encode_histogram::<NoLabelSet>(snapshot.sum, snapshot.count, &snapshot.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

impl EncodeMetric for PoolWaits {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = match self.0.get() {
            Some(tally) => tally.snapshot(),
            None => Tally::new(POOL_WAIT_BOUNDS).snapshot(),
        };
        encoder.encode_histogram::<NoLabelSet>(snapshot.sum, snapshot.count, &snapshot.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}
