package io.pavewatch.peer;

import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The topology: decode, dead-letter poison, fold per segment into a persistent (RocksDB,
 * changelog-backed) key-value store, emit a JSON condition record per segment update.
 *
 * <pre>
 *   input (Bytes key, byte[] value)
 *     -> processValues(decode)               counts every record; poison gets pavewatch.reason
 *     -> split: poison -> dlq                key and value unchanged
 *               valid  -> groupByKey -> aggregate(store "segment-state")
 *                      -> toStream -> mapValues(JSON) -> output
 * </pre>
 *
 * <p>No repartition: the key is never changed, so one sub-topology, one task per input
 * partition. With the record cache on (the default here), the aggregate emits once per dirty
 * segment per commit (and on cache eviction), like pavewatch wear's write-back cache.
 */
final class Peer {
    static final String STORE = "segment-state";
    static final String REASON_HEADER = "pavewatch.reason";
    static final String REASON_MALFORMED = "malformed";
    static final byte[] MALFORMED = REASON_MALFORMED.getBytes(java.nio.charset.StandardCharsets.UTF_8);

    /** Records the decoder has seen (poison included), over all stream threads. */
    static final LongAdder SEEN = new LongAdder();
    /** System.nanoTime() of the first record seen; 0 before. */
    static final AtomicLong FIRST_RECORD_NANOS = new AtomicLong();
    /** Process CPU nanoseconds at the first record. */
    static final AtomicLong FIRST_RECORD_CPU = new AtomicLong();

    private Peer() {}

    static final class Decode implements FixedKeyProcessor<Bytes, byte[], Observation> {
        private FixedKeyProcessorContext<Bytes, Observation> context;

        @Override
        public void init(FixedKeyProcessorContext<Bytes, Observation> context) {
            this.context = context;
        }

        @Override
        public void process(FixedKeyRecord<Bytes, byte[]> record) {
            if (FIRST_RECORD_NANOS.get() == 0
                    && FIRST_RECORD_NANOS.compareAndSet(0, System.nanoTime())) {
                FIRST_RECORD_CPU.set(Main.processCpuNanos());
            }
            SEEN.increment();
            Observation o = Observation.decode(record.value());
            Bytes key = record.key();
            if (!o.poison && !Observation.keyMatches(key == null ? null : key.get(), o.segment)) {
                // The state is keyed by the record key: a key that is not the body's segment id
                // would fold the observation into another segment. Dead-letter it instead.
                o = Observation.poison(record.value());
            }
            if (o.poison) {
                RecordHeaders headers = new RecordHeaders(record.headers().toArray());
                headers.add(REASON_HEADER, MALFORMED);
                context.forward(record.withValue(o).withHeaders(headers));
            } else {
                context.forward(record.withValue(o));
            }
        }
    }

    static Topology topology(String input, String output, String dlq) {
        StreamsBuilder builder = new StreamsBuilder();
        KStream<Bytes, Observation> decoded = builder
                .stream(input, Consumed.with(Serdes.Bytes(), Serdes.ByteArray()).withName("input"))
                .processValues(Decode::new, Named.as("decode"));
        decoded.split(Named.as("route-"))
                .branch((k, o) -> o.poison, Branched.withConsumer(poison -> poison
                        .mapValues(o -> o.raw, Named.as("raw-bytes"))
                        .to(dlq, Produced.with(Serdes.Bytes(), Serdes.ByteArray())
                                .withName("dead-letter")), "poison"))
                .defaultBranch(Branched.withConsumer(valid -> valid
                        .groupByKey(Grouped.with("by-segment", Serdes.Bytes(), Observation.serde()))
                        .aggregate(SegmentState::new,
                                (key, o, state) -> {
                                    state.apply(o);
                                    return state;
                                },
                                Named.as("fold"),
                                Materialized.<Bytes, SegmentState, KeyValueStore<Bytes, byte[]>>as(STORE)
                                        .withKeySerde(Serdes.Bytes())
                                        .withValueSerde(SegmentState.serde()))
                        .toStream(Named.as("updates"))
                        .mapValues(SegmentState::toJson, Named.as("condition-json"))
                        .to(output, Produced.with(Serdes.Bytes(), Serdes.String()).withName("conditions")),
                        "valid"));
        return builder.build();
    }

    static Properties config(String brokers, String applicationId, String stateDir,
            long commitIntervalMs, int threads, long cacheBytes) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.toString(commitIntervalMs));
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.toString(threads));
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, Long.toString(cacheBytes));
        p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.BytesSerde.class.getName());
        p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class.getName());
        // Everything else stays at Kafka Streams 3.9 defaults (see README): RocksDB with the
        // default BlockBasedTable config, no standby replicas, internal topics at the broker's
        // replication factor, consumer isolation.level=read_committed (implied by EOS).
        return p;
    }
}
