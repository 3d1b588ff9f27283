package io.pavewatch.peer;

import java.io.BufferedWriter;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * pavewatch-peer: the Kafka Streams peer of `pavewatch wear`, plus the admin and load steps
 * a benchmark needs. See README.md.
 */
public final class Main {
    private static final String USAGE = """
            usage: java -jar target/pavewatch-peer.jar --brokers B [modes and options]

            modes (any combination; run as create-topics, produce, inspect, then expect):
              --create-topics            create --input, --output, --dlq if missing
                  [--partitions 6]       partitions of each (input and output; dlq too)
              --produce N                produce N deterministic observations to --input
                  [--segments 10000] [--seed 1] [--dump FILE: the fold of what was produced]
                  [--poison-dump FILE: the poison records, in --inspect's format]
              --expect N                 run the peer until N input records are folded and
                                         committed, print PEER_DONE, exit 0
                  --input T --output T --dlq T --application-id ID --state-dir DIR
                  [--commit-interval-ms 100] [--threads 1] [--cache-mb 64 (0: emit every update)]
                  [--dump FILE: final state of every segment this instance owns]
                  [--timeout-s 3600]
              --inspect T --inspect-out FILE [--text]
                                         read topic T (read_committed) into FILE, one line per
                                         record: key reason value (text, or hex)
            """;

    private Main() {}

    public static void main(String[] argv) {
        try {
            System.exit(run(argv));
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
        } catch (Throwable t) {
            System.err.println("error: " + t);
            t.printStackTrace();
            System.exit(1);
        }
    }

    private static final class Args {
        final Map<String, String> values = new HashMap<>();

        Args(String[] argv) {
            for (int i = 0; i < argv.length; i++) {
                String a = argv[i];
                if (!a.startsWith("--")) {
                    throw new IllegalArgumentException("unexpected argument " + a);
                }
                String name = a.substring(2);
                if (name.equals("create-topics") || name.equals("help") || name.equals("text")) {
                    values.put(name, "true");
                } else if (i + 1 < argv.length) {
                    values.put(name, argv[++i]);
                } else {
                    throw new IllegalArgumentException(a + " needs a value");
                }
            }
        }

        boolean has(String name) {
            return values.containsKey(name);
        }

        String get(String name) {
            String v = values.get(name);
            if (v == null) {
                throw new IllegalArgumentException("--" + name + " is required");
            }
            return v;
        }

        String get(String name, String fallback) {
            return values.getOrDefault(name, fallback);
        }

        long num(String name, long fallback) {
            String v = values.get(name);
            try {
                return v == null ? fallback : Long.parseLong(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--" + name + " wants a number, not " + v);
            }
        }
    }

    static int run(String[] argv) throws Exception {
        Args args = new Args(argv);
        if (args.has("help") || argv.length == 0) {
            System.out.print(USAGE);
            return 0;
        }
        String brokers = args.get("brokers");
        boolean any = false;
        if (args.has("create-topics")) {
            createTopics(brokers, args);
            any = true;
        }
        if (args.has("produce")) {
            Path dump = args.has("expect") ? null : pathOrNull(args.get("dump", null));
            LoadGen.produce(brokers, args.get("input"), args.num("produce", 0),
                    (int) args.num("segments", 10_000), args.num("seed", 1), dump,
                    pathOrNull(args.get("poison-dump", null)));
            any = true;
        }
        if (args.has("inspect")) {
            Inspect.run(brokers, args.get("inspect"), Path.of(args.get("inspect-out")), args.has("text"));
            any = true;
        }
        if (args.has("expect")) {
            return runPeer(brokers, args);
        }
        if (!any) {
            throw new IllegalArgumentException("nothing to do: give --create-topics, --produce, --inspect or --expect");
        }
        return 0;
    }

    private static Path pathOrNull(String s) {
        return s == null ? null : Path.of(s);
    }

    private static Admin admin(String brokers) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        return Admin.create(p);
    }

    private static void createTopics(String brokers, Args args) throws Exception {
        int partitions = (int) args.num("partitions", 6);
        List<String> names = new ArrayList<>();
        for (String t : new String[] {"input", "output", "dlq"}) {
            if (args.has(t)) {
                names.add(args.get(t));
            }
        }
        try (Admin admin = admin(brokers)) {
            for (String name : names) {
                try {
                    admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
                    System.err.printf("created topic %s (%d partitions)%n", name, partitions);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                    System.err.printf("topic %s exists%n", name);
                }
            }
        }
    }

    static long processCpuNanos() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getProcessCpuTime();
        }
        return ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
    }

    /** True when the group's committed offsets have reached the input's (committed) end. */
    private static boolean inputCommitted(Admin admin, String group, String input) throws Exception {
        TopicDescription d = admin.describeTopics(List.of(input)).allTopicNames().get().get(input);
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        d.partitions().forEach(p -> latest.put(new TopicPartition(input, p.partition()), OffsetSpec.latest()));
        var ends = admin.listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().get();
        Map<TopicPartition, OffsetAndMetadata> committed =
                admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        for (var e : ends.entrySet()) {
            long end = e.getValue().offset();
            OffsetAndMetadata c = committed.get(e.getKey());
            long at = c == null ? 0 : c.offset();
            if (at < end) {
                return false;
            }
        }
        return true;
    }

    private static int runPeer(String brokers, Args args) throws Exception {
        long expect = args.num("expect", -1);
        String input = args.get("input");
        String output = args.get("output");
        String dlq = args.get("dlq");
        String appId = args.get("application-id");
        String stateDir = args.get("state-dir");
        long commitMs = args.num("commit-interval-ms", 100);
        int threads = (int) args.num("threads", 1);
        long cacheBytes = args.num("cache-mb", 64) * 1024 * 1024;
        long timeoutMs = args.num("timeout-s", 3600) * 1000;
        Path dump = pathOrNull(args.get("dump", null));
        if (expect < 0) {
            throw new IllegalArgumentException("--expect wants a count");
        }
        Files.createDirectories(Path.of(stateDir));

        AtomicReference<Throwable> streamFailure = new AtomicReference<>();
        try (Admin admin = admin(brokers)) {
            KafkaStreams streams = new KafkaStreams(Peer.topology(input, output, dlq),
                    Peer.config(brokers, appId, stateDir, commitMs, threads, cacheBytes));
            streams.setUncaughtExceptionHandler(e -> {
                streamFailure.compareAndSet(null, e);
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
            });
            long started = System.nanoTime();
            streams.start();
            try {
                // 1. Folded: the decoder has seen N records. Progress to stderr every 5 s.
                long lastReport = 0;
                long lastSeen = 0;
                while (Peer.SEEN.sum() < expect) {
                    long first = Peer.FIRST_RECORD_NANOS.get();
                    long now = System.nanoTime();
                    if (first != 0 && now - first - lastReport >= 5_000_000_000L) {
                        long seen = Peer.SEEN.sum();
                        lastReport += 5_000_000_000L;
                        System.err.printf("peer: t=%.0fs folded=%d (%.0f/s over the last 5 s)%n",
                                lastReport / 1e9, seen, (seen - lastSeen) / 5.0);
                        lastSeen = seen;
                    }
                    failIfDead(streams, streamFailure);
                    if (System.nanoTime() - started > TimeUnit.MILLISECONDS.toNanos(timeoutMs)) {
                        throw new IllegalStateException("timed out with " + Peer.SEEN.sum()
                                + " of " + expect + " records folded");
                    }
                    Thread.sleep(5);
                }
                // 2. Committed: at least one more commit, then the group's offsets at the end.
                Thread.sleep(2 * commitMs);
                while (!inputCommitted(admin, appId, input)) {
                    failIfDead(streams, streamFailure);
                    if (System.nanoTime() - started > TimeUnit.MILLISECONDS.toNanos(timeoutMs)) {
                        throw new IllegalStateException("timed out waiting for the commit");
                    }
                    Thread.sleep(20);
                }
                long done = System.nanoTime();
                long cpu = processCpuNanos();
                long first = Peer.FIRST_RECORD_NANOS.get();
                double seconds = first == 0 ? 0 : (done - first) / 1e9;
                long records = Peer.SEEN.sum();
                if (dump != null) {
                    dumpStore(streams, dump);
                }
                System.err.printf("peer: %d records in %.3f s (%.0f/s); CPU %.3f s in all, %.3f s"
                        + " from the first record; startup to first record %.3f s%n",
                        records, seconds, seconds > 0 ? records / seconds : 0, cpu / 1e9,
                        (cpu - Peer.FIRST_RECORD_CPU.get()) / 1e9,
                        first == 0 ? 0 : (first - started) / 1e9);
                System.err.println("peer: " + metricSummary(streams));
                System.out.printf("PEER_DONE records=%d seconds=%.3f cpu_seconds=%.3f%n",
                        records, seconds, cpu / 1e9);
                System.out.flush();
            } finally {
                streams.close(Duration.ofSeconds(60));
            }
        }
        return 0;
    }

    /** Commits, records sent (output + changelog + dead letters) and transactions, for the log. */
    private static String metricSummary(KafkaStreams streams) {
        double commits = 0;
        double sent = 0;
        double consumed = 0;
        for (var e : streams.metrics().entrySet()) {
            var n = e.getKey();
            Object v = e.getValue().metricValue();
            if (!(v instanceof Number num)) {
                continue;
            }
            if (n.name().equals("commit-total") && n.group().equals("stream-thread-metrics")) {
                commits += num.doubleValue();
            } else if (n.name().equals("record-send-total") && n.group().equals("producer-metrics")) {
                sent += num.doubleValue();
            } else if (n.name().equals("records-consumed-total")
                    && n.group().equals("consumer-fetch-manager-metrics") && !n.tags().containsKey("topic")
                    && n.tags().getOrDefault("client-id", "").endsWith("-consumer")
                    && !n.tags().getOrDefault("client-id", "").contains("restore")) {
                consumed += num.doubleValue();
            }
        }
        return String.format("commits=%.0f records_consumed=%.0f records_sent=%.0f", commits, consumed, sent);
    }

    private static void failIfDead(KafkaStreams streams, AtomicReference<Throwable> failure) {
        KafkaStreams.State s = streams.state();
        if (failure.get() != null || s == KafkaStreams.State.ERROR
                || s == KafkaStreams.State.PENDING_ERROR || s == KafkaStreams.State.NOT_RUNNING) {
            throw new IllegalStateException("Kafka Streams stopped (" + s + ")", failure.get());
        }
    }

    private static void dumpStore(KafkaStreams streams, Path dump) throws Exception {
        List<SegmentState> states = new ArrayList<>();
        ReadOnlyKeyValueStore<Bytes, SegmentState> store = null;
        for (int attempt = 0; store == null; attempt++) {
            try {
                store = streams.store(StoreQueryParameters.fromNameAndType(
                        Peer.STORE, QueryableStoreTypes.<Bytes, SegmentState>keyValueStore()));
            } catch (org.apache.kafka.streams.errors.InvalidStateStoreException e) {
                if (attempt > 100) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
        try (KeyValueIterator<Bytes, SegmentState> it = store.all()) {
            while (it.hasNext()) {
                KeyValue<Bytes, SegmentState> kv = it.next();
                states.add(kv.value);
            }
        }
        writeDump(dump, states);
    }

    /** One line per segment, sorted by segment id: see SegmentState.dumpLine. */
    static void writeDump(Path dump, Collection<SegmentState> states) throws IOException {
        List<SegmentState> sorted = new ArrayList<>(states);
        sorted.sort((a, b) -> Long.compareUnsigned(a.segment, b.segment));
        if (dump.getParent() != null) {
            Files.createDirectories(dump.getParent());
        }
        try (BufferedWriter w = Files.newBufferedWriter(dump, StandardCharsets.UTF_8)) {
            for (SegmentState s : sorted) {
                w.write(s.dumpLine());
                w.newLine();
            }
        }
    }
}
