package io.pavewatch.peer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * The fold of one segment's observations, the Java twin of pavewatch's SegmentState
 * (pipeline/include/pavewatch/pipeline/segment_state.hpp): same fields, same order of
 * floating-point operations, same 154-byte binary form in the store and its changelog.
 */
final class SegmentState {
    static final int STATE_MAGIC = 0x5E; // as kStateMagic in segment_state.cpp
    static final int STATE_VERSION = 1;
    static final int ENCODED_BYTES = 2 + 8 * 4 + 8 * 7 + 8 * 3 + 8 * 2 + 8 * 2 + 4 * 2;

    private static final VarHandle I32 =
            MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I64 =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    long segment;
    long version;
    long firstEventMs;
    long lastEventMs;
    final long[] countByKind = new long[7];
    long iriEstimates;
    double iriSum;
    double iriSumSquares;
    long hazardEvents;
    double hazardPeakSum;
    double esal;
    double fatigueDamage; // not fed by this fold (the science core's Miner sum); kept for parity
    float temperatureC;
    float moistureVwc;

    /** Folds one valid observation in (pipeline::Apply). */
    void apply(Observation o) {
        if (version == 0) {
            segment = o.segment;
            firstEventMs = o.tMs;
        }
        version++;
        firstEventMs = Math.min(firstEventMs, o.tMs);
        lastEventMs = Math.max(lastEventMs, o.tMs);
        countByKind[o.kind - 1]++;
        switch (o.kind) {
            case Observation.TRAVERSAL -> {
                if (o.iri >= 0f) {
                    iriEstimates++;
                    iriSum += o.iri;
                    iriSumSquares += (double) o.iri * o.iri;
                }
            }
            case Observation.HAZARD_EVENT -> {
                hazardEvents++;
                hazardPeakSum += o.peak;
            }
            case Observation.AXLE_LOADS -> {
                for (float load : o.loads) {
                    esal += Math.pow(load / 80.0, 4.0);
                }
            }
            case Observation.TEMPERATURE -> temperatureC = o.celsius;
            case Observation.MOISTURE -> moistureVwc = o.vwc;
            default -> {
            }
        }
    }

    double meanIri() {
        return iriEstimates > 0 ? iriSum / iriEstimates : -1.0;
    }

    byte[] encode() {
        byte[] b = new byte[ENCODED_BYTES];
        b[0] = (byte) STATE_MAGIC;
        b[1] = (byte) STATE_VERSION;
        int p = 2;
        p = put(b, p, segment);
        p = put(b, p, version);
        p = put(b, p, firstEventMs);
        p = put(b, p, lastEventMs);
        for (long c : countByKind) {
            p = put(b, p, c);
        }
        p = put(b, p, iriEstimates);
        p = put(b, p, Double.doubleToRawLongBits(iriSum));
        p = put(b, p, Double.doubleToRawLongBits(iriSumSquares));
        p = put(b, p, hazardEvents);
        p = put(b, p, Double.doubleToRawLongBits(hazardPeakSum));
        p = put(b, p, Double.doubleToRawLongBits(esal));
        p = put(b, p, Double.doubleToRawLongBits(fatigueDamage));
        I32.set(b, p, Float.floatToRawIntBits(temperatureC));
        I32.set(b, p + 4, Float.floatToRawIntBits(moistureVwc));
        return b;
    }

    static SegmentState decode(byte[] b) {
        if (b.length != ENCODED_BYTES || (b[0] & 0xFF) != STATE_MAGIC || b[1] != STATE_VERSION) {
            throw new SerializationException("not a segment state (" + b.length + " bytes)");
        }
        SegmentState s = new SegmentState();
        int p = 2;
        s.segment = get(b, p);
        s.version = get(b, p += 8);
        s.firstEventMs = get(b, p += 8);
        s.lastEventMs = get(b, p += 8);
        for (int i = 0; i < 7; i++) {
            s.countByKind[i] = get(b, p += 8);
        }
        s.iriEstimates = get(b, p += 8);
        s.iriSum = Double.longBitsToDouble(get(b, p += 8));
        s.iriSumSquares = Double.longBitsToDouble(get(b, p += 8));
        s.hazardEvents = get(b, p += 8);
        s.hazardPeakSum = Double.longBitsToDouble(get(b, p += 8));
        s.esal = Double.longBitsToDouble(get(b, p += 8));
        s.fatigueDamage = Double.longBitsToDouble(get(b, p += 8));
        p += 8;
        s.temperatureC = Float.intBitsToFloat((int) I32.get(b, p));
        s.moistureVwc = Float.intBitsToFloat((int) I32.get(b, p + 4));
        return s;
    }

    private static int put(byte[] b, int p, long v) {
        I64.set(b, p, v);
        return p + 8;
    }

    private static long get(byte[] b, int p) {
        return (long) I64.get(b, p);
    }

    static Serde<SegmentState> serde() {
        Serializer<SegmentState> ser = (topic, s) -> s == null ? null : s.encode();
        Deserializer<SegmentState> de = (topic, b) -> b == null ? null : decode(b);
        return Serdes.serdeFrom(ser, de);
    }

    /** The dump line: segment_id version count_kind1..7 iri_estimates iri_sum esal. */
    String dumpLine() {
        StringBuilder sb = new StringBuilder(128);
        sb.append(Long.toUnsignedString(segment)).append(' ').append(version);
        for (long c : countByKind) {
            sb.append(' ').append(c);
        }
        sb.append(' ').append(iriEstimates);
        sb.append(' ').append(iriSum);
        sb.append(' ').append(esal);
        return sb.toString();
    }

    // ---- The condition record (pipeline::ConditionToJson) ------------------------------------

    private static double indexFromIri(double iri) {
        return Math.min(100.0, Math.max(0.0, 100.0 - (iri - 1.0) * 10.0));
    }

    private static String classOfIndex(double index) {
        double r = Math.round(index); // index >= 0: same as std::round
        if (r >= 86) {
            return "good";
        }
        if (r >= 71) {
            return "satisfactory";
        }
        if (r >= 56) {
            return "fair";
        }
        if (r >= 41) {
            return "poor";
        }
        if (r >= 26) {
            return "very_poor";
        }
        if (r >= 11) {
            return "serious";
        }
        return "failed";
    }

    private static void number(StringBuilder sb, double d) {
        if (Double.isFinite(d)) {
            sb.append(d);
        } else {
            sb.append("null");
        }
    }

    String toJson() {
        StringBuilder sb = new StringBuilder(384);
        sb.append("{\"segment_id\":\"").append(Long.toUnsignedString(segment));
        sb.append("\",\"version\":").append(version);
        sb.append(",\"updated_ms\":").append(lastEventMs);
        double iri = meanIri();
        if (iri >= 0) {
            double index = indexFromIri(iri);
            sb.append(",\"condition_index\":");
            number(sb, Math.round(index * 10) / 10.0);
            sb.append(",\"condition_class\":\"").append(classOfIndex(index)).append('"');
            sb.append(",\"iri_m_per_km\":");
            number(sb, Math.round(iri * 1000) / 1000.0);
        } else {
            sb.append(",\"condition_index\":null,\"condition_class\":null,\"iri_m_per_km\":null");
        }
        sb.append(",\"hazards_open\":0");
        sb.append(",\"roughness\":{\"traversals\":").append(countByKind[0]);
        sb.append(",\"estimates\":").append(iriEstimates).append('}');
        sb.append(",\"hazard_events\":").append(hazardEvents);
        sb.append(",\"structural\":{\"esal\":");
        number(sb, esal);
        sb.append(",\"fatigue_damage\":");
        number(sb, fatigueDamage);
        sb.append(",\"temperature_c\":");
        number(sb, temperatureC);
        sb.append(",\"moisture_vwc_percent\":");
        number(sb, moistureVwc);
        sb.append("},\"observations\":").append(version).append('}');
        return sb.toString();
    }
}
