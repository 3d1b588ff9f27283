package io.pavewatch.peer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Deterministic test load: valid observations of all seven kinds spread over K segments, plus
 * one poison record every {@link #POISON_EVERY} records (bad magic, other version, unknown kind,
 * truncated, trailing byte, NaN, empty). The same (n, segments, seed) always gives the same
 * records in the same order, so the fold of what was produced is known.
 */
final class LoadGen {
    static final long FIRST_SEGMENT = 1_000_000L;
    static final long T0_MS = 1_735_689_600_000L; // 2025-01-01T00:00:00Z
    static final int POISON_EVERY = 9973;
    static final int POISON_VARIANTS = 7;

    private final SplittableRandom rng;
    private final int segments;
    private final ByteBuffer buf = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
    private long index;
    private long poisonMade;

    byte[] key;
    byte[] value;
    boolean poison;

    LoadGen(long seed, int segments) {
        this.rng = new SplittableRandom(seed);
        this.segments = segments;
    }

    private float f(double lo, double hi) {
        return (float) (lo + rng.nextDouble() * (hi - lo));
    }

    private void header(int kind, long segment, long tMs) {
        buf.clear();
        buf.put((byte) Observation.MAGIC).put((byte) Observation.VERSION).put((byte) kind);
        buf.putLong(segment).putLong(tMs);
    }

    /** Makes the next record into {@link #key}, {@link #value}, {@link #poison}. */
    void next() {
        long i = index++;
        long segment = FIRST_SEGMENT + rng.nextInt(segments);
        long tMs = T0_MS + i * 5 + rng.nextInt(2000) - 1000; // a little out of order
        int pick = rng.nextInt(100);
        int kind;
        if (pick < 60) {
            kind = Observation.TRAVERSAL;
        } else if (pick < 68) {
            kind = Observation.HAZARD_EVENT;
        } else if (pick < 80) {
            kind = Observation.AXLE_LOADS;
        } else if (pick < 88) {
            kind = Observation.STRAIN;
        } else if (pick < 93) {
            kind = Observation.TEMPERATURE;
        } else if (pick < 98) {
            kind = Observation.MOISTURE;
        } else {
            kind = Observation.HAZARD_ACTION;
        }
        header(kind, segment, tMs);
        switch (kind) {
            case Observation.TRAVERSAL -> {
                buf.putLong(rng.nextLong());
                buf.put((byte) rng.nextInt(6));
                buf.putFloat(f(5, 35)).putFloat(f(0, 3));
                float from = f(0, 50);
                buf.putFloat(from).putFloat(from + f(50, 200));
                buf.putFloat(rng.nextInt(10) == 0 ? -1f : f(0.5, 12)); // 10%: no estimate
                buf.putInt(100 + rng.nextInt(2000)).putFloat(100f).putFloat(f(0.3, 1)); // samples, rate, confidence
            }
            case Observation.HAZARD_EVENT -> {
                buf.putLong(rng.nextLong());
                buf.putFloat(f(0, 200)).putFloat(f(1, 15)).putFloat(f(3, 40));
                buf.putFloat(f(5, 35)).putFloat(f(0, 1));
                buf.putDouble(52.0 + rng.nextDouble()).putDouble(4.0 + rng.nextDouble());
            }
            case Observation.AXLE_LOADS -> {
                int axles = 2 + rng.nextInt(5);
                buf.put((byte) axles);
                for (int a = 0; a < axles; a++) {
                    buf.putFloat(f(20, 120)).putFloat(a == 0 ? 0f : f(1.2, 6));
                }
                buf.putFloat(f(10, 30));
            }
            case Observation.STRAIN -> {
                int passes = 1 + rng.nextInt(8);
                buf.put((byte) passes);
                for (int p = 0; p < passes; p++) {
                    buf.putFloat(f(20, 400));
                }
                buf.putFloat(f(40, 200));
            }
            case Observation.TEMPERATURE -> buf.putFloat(f(-10, 55)).putFloat(f(10, 100));
            case Observation.MOISTURE -> buf.putFloat(f(5, 45));
            default -> { // HAZARD_ACTION
                buf.putLong(rng.nextLong() >>> 1);
                buf.put((byte) (1 + rng.nextInt(2)));
                byte[] actor = ("crew-" + rng.nextInt(100)).getBytes(StandardCharsets.US_ASCII);
                buf.put((byte) actor.length).put(actor);
            }
        }
        int length = buf.position();
        poison = i % POISON_EVERY == POISON_EVERY / 2;
        if (poison) {
            int variant = (int) (poisonMade++ % POISON_VARIANTS);
            switch (variant) {
                case 0 -> buf.put(0, (byte) 0x00); // bad magic
                case 1 -> buf.put(1, (byte) 3); // a format version no kind has
                case 2 -> buf.put(2, (byte) 9); // unknown kind
                case 3 -> length -= 3; // truncated
                case 4 -> buf.put(length++, (byte) 0); // one trailing byte
                case 5 -> { // a moisture reading whose value is NaN
                    header(Observation.MOISTURE, segment, tMs);
                    buf.putFloat(Float.NaN);
                    length = buf.position();
                }
                default -> length = 0; // empty value
            }
        }
        value = new byte[length];
        System.arraycopy(buf.array(), 0, value, 0, length);
        key = Long.toString(segment).getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Produces n records to the topic (idempotent producer, acks=all) and, when dump is given,
     * writes the fold of the valid ones there, in the format of the peer's --dump.
     */
    static void produce(String brokers, String topic, long n, int segments, long seed, Path dump,
            Path poisonDump) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, "262144");
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        Map<Long, SegmentState> fold = dump != null ? new HashMap<>() : null;
        LoadGen gen = new LoadGen(seed, segments);
        AtomicReference<Exception> failure = new AtomicReference<>();
        long poisons = 0;
        StringBuilder poisonLines = new StringBuilder();
        HexFormat hex = HexFormat.of();
        long start = System.nanoTime();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            for (long i = 0; i < n && failure.get() == null; i++) {
                gen.next();
                Observation o = Observation.decode(gen.value);
                if (o.poison != gen.poison) {
                    throw new IllegalStateException("generator/decoder disagree at record " + i);
                }
                if (gen.poison) {
                    poisons++;
                    poisonLines.append(new String(gen.key, StandardCharsets.US_ASCII))
                            .append(' ').append(Peer.REASON_MALFORMED).append(' ')
                            .append(hex.formatHex(gen.value)).append('\n');
                } else if (fold != null) {
                    fold.computeIfAbsent(o.segment, s -> new SegmentState()).apply(o);
                }
                producer.send(new ProducerRecord<>(topic, gen.key, gen.value), (md, e) -> {
                    if (e != null) {
                        failure.compareAndSet(null, e);
                    }
                });
            }
            producer.flush();
        }
        if (failure.get() != null) {
            throw failure.get();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (poisonDump != null) {
            Files.writeString(poisonDump, poisonLines, StandardCharsets.UTF_8);
        }
        if (fold != null) {
            Main.writeDump(dump, fold.values());
        }
        System.out.printf("PRODUCED records=%d poison=%d segments=%d seconds=%.3f%n",
                n, poisons, fold != null ? fold.size() : -1, seconds);
    }
}
