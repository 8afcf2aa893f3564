//! AMQP ingress: the only module that imports lapin. Declares the topology (README "RabbitMQ
//! ingress"), consumes CloudEvents (structured and binary mode), submits them to the engine and
//! acks only after the run or dedup record is durable; bad input goes to the dead-letter exchange.

mod admission;
mod consumer;
mod dead_copy;
mod decode;
mod link;
mod merged;
mod outage;
mod outcomes;
mod poison;
mod probe;
mod shard_key;
mod signed;
mod supervisor;
mod topology;

pub use consumer::IngressConfig;
pub use dead_copy::{DETAIL_HEADER, DETAIL_MAX, OMITTED_HEADER, REASON_HEADER};
pub use decode::{BINARY_PREFIX, Rejection, decode};
pub use link::{LinkError, check_url};
pub use outcomes::AmqpOutcomes;
pub use poison::{PoisonCounters, UNDELIVERABLE};
pub use signed::signed_bytes;
pub use supervisor::{IngressError, run};
pub use topology::Topology;
