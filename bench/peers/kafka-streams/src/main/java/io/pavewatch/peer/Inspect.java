package io.pavewatch.peer;

import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads a whole topic (read_committed, from the start to the end offsets seen when it starts)
 * and writes one line per record: {@code key reason value}, where reason is the
 * pavewatch.reason header or "-", and value is the text for --text, else hex ("-" for null).
 * Used by the checks to look at the dead-letter and condition topics.
 */
final class Inspect {
    private Inspect() {}

    static void run(String brokers, String topic, Path out, boolean text) throws Exception {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        HexFormat hex = HexFormat.of();
        long records = 0;
        long withReason = 0;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p);
                BufferedWriter w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
            List<TopicPartition> parts = new ArrayList<>();
            for (PartitionInfo info : consumer.partitionsFor(topic)) {
                parts.add(new TopicPartition(topic, info.partition()));
            }
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> ends = new HashMap<>(consumer.endOffsets(parts));
            ends.values().removeIf(v -> v == 0);
            ends.keySet().removeIf(tp -> consumer.position(tp) >= ends.get(tp));
            while (!ends.isEmpty()) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    records++;
                    Header h = r.headers().lastHeader(Peer.REASON_HEADER);
                    if (h != null) {
                        withReason++;
                    }
                    w.write(r.key() == null ? "-" : new String(r.key(), StandardCharsets.UTF_8));
                    w.write(' ');
                    w.write(h == null ? "-" : new String(h.value(), StandardCharsets.UTF_8));
                    w.write(' ');
                    byte[] v = r.value();
                    w.write(v == null ? "-" : v.length == 0 ? "" : text
                            ? new String(v, StandardCharsets.UTF_8) : hex.formatHex(v));
                    w.newLine();
                }
                ends.keySet().removeIf(tp -> consumer.position(tp) >= ends.get(tp));
            }
        }
        System.out.printf("INSPECT topic=%s records=%d with_reason=%d%n", topic, records, withReason);
    }
}
