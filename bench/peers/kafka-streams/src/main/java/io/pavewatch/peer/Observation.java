package io.pavewatch.peer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * One decoded observation: only the fields the fold reads, plus the original bytes.
 *
 * <p>Wire layout (little-endian): u8 magic 0xB5, u8 version (1; 2 for a hazard event, which
 * carries the device's sample rate after the v1 body), u8 kind, u64 segment id,
 * i64 t_ms, then a body by kind (see the README). {@link #decode} accepts exactly one whole,
 * well-formed observation and answers a poison marker for anything else.
 */
final class Observation {
    static final int MAGIC = 0xB5;
    static final int VERSION = 1;
    /** A hazard event's layout with the device's sample rate (f32) after v1's body. */
    static final int HAZARD_EVENT_VERSION = 2;
    static final int HEADER_BYTES = 1 + 1 + 1 + 8 + 8;
    static final int MAX_AXLES = 16;

    static final int TRAVERSAL = 1;
    static final int HAZARD_EVENT = 2;
    static final int AXLE_LOADS = 3;
    static final int STRAIN = 4;
    static final int TEMPERATURE = 5;
    static final int MOISTURE = 6;
    static final int HAZARD_ACTION = 7;

    private static final VarHandle I32 =
            MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I64 =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /** The record value as it arrived (null for a tombstone). */
    final byte[] raw;
    final boolean poison;

    int kind;
    long segment;
    long tMs;
    float iri = -1f; // Traversal
    float peak; // HazardEvent
    float[] loads; // AxleLoads, one per axle
    float celsius; // Temperature
    float vwc; // Moisture

    private Observation(byte[] raw, boolean poison) {
        this.raw = raw;
        this.poison = poison;
    }

    static Observation poison(byte[] raw) {
        return new Observation(raw, true);
    }

    /** Bounds-checked little-endian reader; a read past the end clears {@code ok}. */
    private static final class Reader {
        final byte[] b;
        int pos;
        boolean ok = true;
        boolean finite = true;

        Reader(byte[] b) {
            this.b = b;
        }

        boolean has(int n) {
            if (ok && b.length - pos >= n) {
                return true;
            }
            ok = false;
            return false;
        }

        int u8() {
            if (!has(1)) {
                return 0;
            }
            return b[pos++] & 0xFF;
        }

        int i32() {
            if (!has(4)) {
                return 0;
            }
            int v = (int) I32.get(b, pos);
            pos += 4;
            return v;
        }

        long i64() {
            if (!has(8)) {
                return 0;
            }
            long v = (long) I64.get(b, pos);
            pos += 8;
            return v;
        }

        float f32() {
            float f = Float.intBitsToFloat(i32());
            if (!Float.isFinite(f)) {
                finite = false;
            }
            return f;
        }

        double f64() {
            double d = Double.longBitsToDouble(i64());
            if (!Double.isFinite(d)) {
                finite = false;
            }
            return d;
        }

        void skip(int n) {
            if (has(n)) {
                pos += n;
            }
        }

        boolean whole() {
            return ok && finite && pos == b.length;
        }
    }

    /**
     * Decodes one observation. Poison (bad magic, other version, unknown kind, short, trailing
     * bytes, a non-finite float anywhere, more than 16 axles or passes, a hazard action other than
     * 1 or 2) gives {@code poison(raw)}.
     */
    static Observation decode(byte[] raw) {
        if (raw == null || raw.length < HEADER_BYTES) {
            return poison(raw);
        }
        Reader r = new Reader(raw);
        if (r.u8() != MAGIC) {
            return poison(raw);
        }
        int version = r.u8();
        Observation o = new Observation(raw, false);
        o.kind = r.u8();
        if (version != VERSION && !(version == HAZARD_EVENT_VERSION && o.kind == HAZARD_EVENT)) {
            return poison(raw);
        }
        o.segment = r.i64();
        o.tMs = r.i64();
        switch (o.kind) {
            case TRAVERSAL -> {
                r.i64(); // vehicle_key
                r.u8(); // vehicle_class
                r.f32(); // speed_mps
                r.f32(); // speed_spread_mps
                r.f32(); // from_m
                r.f32(); // to_m
                o.iri = r.f32();
                r.i32(); // samples
                r.f32(); // sample_rate_hz
                r.f32(); // confidence
            }
            case HAZARD_EVENT -> {
                r.i64(); // vehicle_key
                r.f32(); // offset_m
                r.f32(); // uncertainty_m
                o.peak = r.f32();
                r.f32(); // speed_mps
                r.f32(); // score
                r.f64(); // lat
                r.f64(); // lon
                if (version == HAZARD_EVENT_VERSION) {
                    r.f32(); // sample_rate_hz
                }
            }
            case AXLE_LOADS -> {
                int axles = r.u8();
                if (axles > MAX_AXLES) {
                    return poison(raw);
                }
                float[] loads = new float[axles];
                for (int i = 0; i < axles; i++) {
                    loads[i] = r.f32();
                    r.f32(); // spacing_m
                }
                r.f32(); // speed_mps
                o.loads = loads;
            }
            case STRAIN -> {
                int passes = r.u8();
                if (passes > MAX_AXLES) {
                    return poison(raw);
                }
                for (int i = 0; i < passes; i++) {
                    r.f32(); // microstrain
                }
                r.f32(); // depth_mm
            }
            case TEMPERATURE -> {
                o.celsius = r.f32();
                r.f32(); // depth_mm
            }
            case MOISTURE -> o.vwc = r.f32();
            case HAZARD_ACTION -> {
                r.i64(); // hazard_id
                int action = r.u8();
                if (r.ok && action != 1 && action != 2) {
                    return poison(raw);
                }
                r.skip(r.u8()); // actor
            }
            default -> {
                return poison(raw);
            }
        }
        return r.whole() ? o : poison(raw);
    }

    /** True if {@code key} is exactly the decimal (unsigned) form of {@code segment}. */
    static boolean keyMatches(byte[] key, long segment) {
        if (key == null || key.length == 0 || key.length > 20) {
            return false;
        }
        long v = segment;
        int i = key.length;
        // Digits from the right, unsigned.
        do {
            if (i == 0) {
                return false;
            }
            int digit = (int) Long.remainderUnsigned(v, 10);
            if (key[--i] != (byte) ('0' + digit)) {
                return false;
            }
            v = Long.divideUnsigned(v, 10);
        } while (v != 0);
        return i == 0;
    }

    /**
     * Serde for the stream between the decoder and the aggregation. The topology has no
     * repartition, so Kafka Streams never calls it; it exists so that a changed topology stays
     * correct (the raw bytes go over the wire and are decoded again).
     */
    static Serde<Observation> serde() {
        Serializer<Observation> ser = (topic, o) -> o == null ? null : o.raw;
        Deserializer<Observation> de = (topic, bytes) -> bytes == null ? null : decode(bytes);
        return Serdes.serdeFrom(ser, de);
    }
}
