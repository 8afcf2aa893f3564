//! AMQP ingress: the only module that imports lapin. Declares the topology (README "RabbitMQ
//! ingress"), consumes CloudEvents (structured and binary mode), submits them to the engine and
//! acks only after the run or dedup record is durable; bad input goes to the dead-letter exchange.

mod admission;
mod consumer;
mod decode;
mod merged;
mod outcomes;
mod poison;
mod shard_key;
mod signed;
mod supervisor;
mod topology;

pub use consumer::IngressConfig;
pub use decode::{BINARY_PREFIX, Rejection, decode};
pub use outcomes::AmqpOutcomes;
pub use poison::{PoisonCounters, REASON_HEADER};
pub use signed::signed_bytes;
pub use supervisor::{IngressError, run};
pub use topology::Topology;
